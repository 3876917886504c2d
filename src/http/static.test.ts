import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import { loadStaticSite } from './static.js';

function site() {
  const root = mkdtempSync(join(tmpdir(), 'llmscope-static-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(root, 'assets', 'main-abc123.js'), `console.log(${JSON.stringify('x'.repeat(5000))});`);
  writeFileSync(join(root, 'robots.txt'), 'User-agent: *');
  return loadStaticSite(root);
}

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

function get(s: ReturnType<typeof site>, path: string, headers: Record<string, string> = {}, method = 'GET'): Reply {
  const out: Reply = { status: 0, headers: {}, body: Buffer.alloc(0) };
  const res = {
    writeHead(status: number, h: Record<string, string>) {
      out.status = status;
      out.headers = h;
    },
    end(b?: Buffer) {
      if (b) out.body = b;
    },
  } as unknown as ServerResponse;
  try {
    s.serve({ method, headers } as IncomingMessage, res, new URL(path, 'http://h'));
  } catch (err) {
    if (!(err instanceof LlmscopeError)) throw err;
    out.status = err.status;
  }
  return out;
}

describe('static site from memory', () => {
  it('serves / and built files with types, caching and a validator; 304 when the copy is current', () => {
    const s = site();
    expect(s.paths()).toEqual(['/', '/assets/main-abc123.js', '/index.html', '/robots.txt']);
    const root = get(s, '/');
    expect(root.status).toBe(200);
    expect(root.body.toString()).toContain('<title>x');
    expect(root.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(root.headers['cache-control']).toBe('no-cache');
    expect(root.headers['x-frame-options']).toBe('DENY');
    const etag = root.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect(get(s, '/index.html').headers.etag).toBe(etag);
    expect(get(s, '/', { 'if-none-match': etag }).status).toBe(304);
    expect(get(s, '/', { 'if-none-match': `"other", W/${etag}` }).status).toBe(304);
    expect(get(s, '/', { 'if-none-match': '"other"' }).status).toBe(200);
    const js = get(s, '/assets/main-abc123.js');
    expect(js.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(get(s, '/robots.txt').headers['cache-control']).toBe('public, max-age=3600');
    const head = get(s, '/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    expect(head.headers['content-length']).toBe(String(root.body.length));
  });

  it('gzips large text for clients that take it, with its own tag', () => {
    const s = site();
    const plain = get(s, '/assets/main-abc123.js');
    const gz = get(s, '/assets/main-abc123.js', { 'accept-encoding': 'gzip, deflate, br' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.body.length).toBeLessThan(plain.body.length / 10);
    expect(gunzipSync(gz.body).equals(plain.body)).toBe(true);
    expect(gz.headers.etag).not.toBe(plain.headers.etag);
    expect(
      get(s, '/assets/main-abc123.js', { 'accept-encoding': 'gzip', 'if-none-match': gz.headers.etag as string })
        .status,
    ).toBe(304);
    expect(get(s, '/assets/main-abc123.js', { 'if-none-match': gz.headers.etag as string }).status).toBe(200);
  });

  it('answers 404 for anything that is not a built file, whatever the path tricks', () => {
    const s = site();
    for (const p of ['/nope', '/%2e%2e/x', '/assets', '/assets/', '/%2e%2e%2findex.html', '/requests'])
      expect(get(s, p).status, p).toBe(404);
    expect(get(s, '/%E0%A4%A').status).toBe(400);
    expect(s.has('/')).toBe(true);
    expect(s.has('/nope')).toBe(false);
    expect(s.has('/%E0%A4%A')).toBe(false);
  });

  it('without a built dashboard every path is a 404 that says how to build it', () => {
    const s = loadStaticSite(null);
    expect(() =>
      s.serve({ method: 'GET', headers: {} } as IncomingMessage, {} as ServerResponse, new URL('http://h/')),
    ).toThrow(/npm run build/);
  });
});

describe("the dashboard page's Content-Security-Policy (QA36)", () => {
  it('allows its own scripts and each inline script by its hash, no inline script else, no framing', () => {
    const root = mkdtempSync(join(tmpdir(), 'llmscope-static-'));
    const inline = "\n  document.documentElement.dataset.theme = 'dark';\n";
    writeFileSync(
      join(root, 'index.html'),
      `<!doctype html><head><script>${inline}</script><script type="module" src="./assets/a.js"></script></head>`,
    );
    const csp = get(loadStaticSite(root), '/').headers['content-security-policy'] as string;
    // Before: no policy on the page (only the sign-in page had one).
    const hash = createHash('sha256').update(inline).digest('base64');
    expect(csp.split('; ')).toEqual([
      "default-src 'self'",
      `script-src 'self' 'sha256-${hash}'`,
      // styles only from its own files (decision 116: the bars are sized through the CSSOM)
      "style-src 'self'",
      "img-src 'self' data:",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'self'",
      "frame-ancestors 'none'",
    ]);
  });
});
