// Small HTTP helpers shared by the gateway and the API: JSON replies, body reading with a limit, a tiny router.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LlmscopeError, renderError } from '../errors.js';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (ctx: HttpContext) => void | Promise<void>;

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/** Renders any error as an OpenAI-shaped JSON error (unless headers were already sent). */
export function sendError(res: ServerResponse, err: unknown, headers: Record<string, string> = {}): void {
  const r = renderError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, r.status, r.body, { ...headers, ...r.headers });
}

/** Reads the whole body as a Buffer, refusing (413) past `limit` bytes without buffering the rest. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

function tooLarge(limit: number): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_BODY_TOO_LARGE',
    `request body is larger than the limit of ${limit} bytes; send a smaller body or raise server.bodyLimit in the config`,
  );
}

/** Parses a JSON request body, requiring a JSON content type; errors say what to fix. */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const ct = String(req.headers['content-type'] ?? '');
  if (!/^application\/(.+\+)?json\b/i.test(ct)) {
    req.resume();
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
      `expected a JSON body with content-type application/json, got ${ct ? `"${ct}"` : 'no content-type'}`,
    );
  }
  const buf = await readBody(req, limit);
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new LlmscopeError(
      'LLMSCOPE_ERR_INVALID_JSON',
      `request body is not valid JSON (${(err as Error).message}); send a JSON object`,
    );
  }
}

interface RouteEntry {
  method: string;
  parts: string[];
  handler: Handler;
}

/** Method + path router with `:param` segments. */
export class Router {
  private readonly routes: RouteEntry[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method: method.toUpperCase(), parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }

  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** The matching handler, `'method'` when the path exists under another method, or null. */
  match(method: string, pathname: string): { handler: Handler; params: Record<string, string> } | 'method' | null {
    const segs = pathname.split('/').filter(Boolean);
    let pathMatched = false;
    for (const r of this.routes) {
      if (r.parts.length !== segs.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segs.length; i++) {
        const p = r.parts[i] as string;
        const s = segs[i] as string;
        if (p.startsWith(':')) params[p.slice(1)] = decodeURIComponent(s);
        else if (p !== s) {
          ok = false;
          break;
        }
      }
      if (!ok) continue;
      pathMatched = true;
      if (r.method === method || (method === 'HEAD' && r.method === 'GET')) return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : null;
  }
}
