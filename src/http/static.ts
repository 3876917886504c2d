// The dashboard's files, read once at start and served from memory: ETag / If-None-Match → 304, long caching
// for Vite's content-hashed assets, revalidation for index.html, gzip when the client takes it. Only `/` (the
// dashboard routes in the URL's hash) and the built files answer; any other path is a 404 in the error shape.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { LlmscopeError } from '../errors.js';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.map', '.txt']);
/** A dashboard build is well under this; a stray huge file in the folder is skipped, not held in memory. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;

interface Asset {
  body: Buffer;
  gzip: Buffer | null;
  etag: string;
  headers: Record<string, string>;
}

export interface StaticSite {
  /** The folder the files came from, or null when the dashboard is not built. */
  readonly root: string | null;
  /** The URL paths served (for tests and the start-up log). */
  paths(): string[];
  /** Whether `pathname` is `/` or a built file (so a login page is worth showing for it). */
  has(pathname: string): boolean;
  /** Answers GET/HEAD for a file, 304 when the client's copy is current; throws 404/400 in the error shape. */
  serve(req: IncomingMessage, res: ServerResponse, url: URL): void;
}

/** Where the built dashboard is: next to the compiled server (dist/ui) or, from sources, ../dist/ui. */
export function findUiRoot(): string | null {
  const here = fileURLToPath(new URL('..', import.meta.url));
  // dist/ui first: from sources, src/ui holds the dashboard's unbuilt index.html.
  for (const p of [join(here, '..', 'dist', 'ui'), join(here, 'ui')]) if (existsSync(join(p, 'index.html'))) return p;
  return null;
}

/** Reads every file under `root` into memory once. */
export function loadStaticSite(root: string | null): StaticSite {
  const assets = new Map<string, Asset>();
  if (root) for (const file of walk(root)) addFile(assets, root, file);
  const index = assets.get('/index.html');
  if (index) assets.set('/', index);

  const lookup = (pathname: string): Asset | undefined => {
    let path: string;
    try {
      path = decodeURIComponent(pathname);
    } catch {
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        `the path ${pathname.slice(0, 200)} is not valid percent-encoding`,
      );
    }
    return assets.get(path);
  };

  return {
    root,
    paths: () => [...assets.keys()].sort(),
    has: (pathname) => {
      try {
        return lookup(pathname) !== undefined;
      } catch {
        return false;
      }
    },
    serve(req, res, url) {
      if (!root) throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', 'the dashboard is not built; run `npm run build`');
      const a = lookup(url.pathname);
      if (!a)
        throw new LlmscopeError(
          'LLMSCOPE_ERR_NOT_FOUND',
          `no page or file at ${url.pathname.slice(0, 200)}; the dashboard is at / (its pages are under /#/)`,
        );
      const gz = a.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) ? a.gzip : null;
      // Each encoding is its own representation, so it has its own tag.
      const etag = gz ? `${a.etag.slice(0, -1)}-gz"` : a.etag;
      if (fresh(req.headers['if-none-match'], etag)) {
        res.writeHead(304, { etag, 'cache-control': a.headers['cache-control'] as string, vary: 'accept-encoding' });
        res.end();
        return;
      }
      const body = gz ?? a.body;
      res.writeHead(200, {
        ...a.headers,
        etag,
        'content-length': String(body.length),
        ...(gz ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(req.method === 'HEAD' ? undefined : body);
    },
  };
}

function* walk(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile()) yield p;
  }
}

function addFile(assets: Map<string, Asset>, root: string, file: string): void {
  if (statSync(file).size > MAX_FILE_BYTES) return;
  const body = readFileSync(file);
  const ext = extname(file);
  const urlPath = `/${relative(root, file).split(sep).join('/')}`;
  const html = ext === '.html';
  // Vite names what it emits under assets/ by content hash, so those never change under the same name.
  const cache = html
    ? 'no-cache'
    : urlPath.startsWith('/assets/')
      ? 'public, max-age=31536000, immutable'
      : 'public, max-age=3600';
  const headers: Record<string, string> = {
    'content-type': MIME[ext] ?? 'application/octet-stream',
    'cache-control': cache,
    etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    'x-content-type-options': 'nosniff',
    vary: 'accept-encoding',
  };
  if (html) {
    headers['x-frame-options'] = 'DENY';
    headers['referrer-policy'] = 'same-origin';
    headers['content-security-policy'] = pageCsp(body.toString('utf8'));
  }
  const gzip = COMPRESSIBLE.has(ext) && body.length > 1024 ? gzipSync(body, { level: 9 }) : null;
  assets.set(urlPath, {
    body,
    gzip: gzip && gzip.length < body.length ? gzip : null,
    etag: headers.etag as string,
    headers,
  });
}

/**
 * The dashboard page's Content-Security-Policy: scripts only from its own files and the inline ones it ships (by
 * hash), so a prompt or answer that ever reached the page as markup could run nothing; fetches to its own origin only
 * (no page data sent elsewhere); no framing (as X-Frame-Options), no <base>, forms to itself. Styles only from its
 * own files: the charts and bars size elements through the CSSOM (element.style), which CSP does not restrict, so
 * markup injected with a style attribute or a <style> element (overlays, CSS data exfiltration) is refused too.
 */
export function pageCsp(html: string): string {
  const hash = (text: string) => createHash('sha256').update(text).digest('base64');
  const inline = [...html.matchAll(/<script\b(?![^>]*\bsrc\s*=)[^>]*>([\s\S]*?)<\/script>/gi)].map(
    (m) => `'sha256-${hash(m[1] ?? '')}'`,
  );
  return [
    "default-src 'self'",
    ["script-src 'self'", ...inline].join(' '),
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** RFC 9110 If-None-Match: `*` or any listed tag equal to ours under weak comparison. */
function fresh(header: string | string[] | undefined, etag: string): boolean {
  if (!header) return false;
  const list = Array.isArray(header) ? header.join(',') : header;
  if (list.trim() === '*') return true;
  return list.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
