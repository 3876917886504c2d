// The /api router: find-my-way's radix tree under the small registration API modules use (get/post/delete with
// `:param` segments), with prefix scoping, 405 with `Allow`, and 400 (not 500) for a path that is not valid
// percent-encoding. The gateway's /v1 hot path does not go through it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { LlmscopeError } from '../errors.js';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
}

export type Handler = (ctx: HttpContext) => void | Promise<void>;

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
}

interface Table {
  fmw: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  methods: Set<Method>;
  routes: { method: Method; path: string }[];
}

const noop = () => undefined;

/** Method + path router with `:param` segments; `scope(prefix)` gives a view that registers under a prefix. */
export class Router {
  private readonly table: Table;
  readonly prefix: string;

  constructor(prefix = '', table?: Table) {
    if (prefix && (!prefix.startsWith('/') || prefix.endsWith('/')))
      throw new Error(`a router prefix starts with "/" and does not end with one, got "${prefix}"`);
    this.prefix = prefix;
    this.table = table ?? {
      fmw: FindMyWay({ ignoreDuplicateSlashes: true, maxParamLength: 1000 }),
      methods: new Set(),
      routes: [],
    };
  }

  /** A view of this router whose patterns are relative to `prefix` (e.g. `api.scope('/cost').get('/summary')`). */
  scope(prefix: string): Router {
    return new Router(this.prefix + prefix, this.table);
  }

  add(method: string, pattern: string, handler: Handler): this {
    const m = method.toUpperCase() as Method;
    const path = trimSlash(this.prefix + (pattern === '/' ? '' : pattern)) || '/';
    this.table.fmw.on(m, path, noop, handler);
    this.table.methods.add(m);
    this.table.routes.push({ method: m, path });
    return this;
  }

  get(pattern: string, handler: Handler): this {
    return this.add('GET', pattern, handler);
  }

  post(pattern: string, handler: Handler): this {
    return this.add('POST', pattern, handler);
  }

  put(pattern: string, handler: Handler): this {
    return this.add('PUT', pattern, handler);
  }

  patch(pattern: string, handler: Handler): this {
    return this.add('PATCH', pattern, handler);
  }

  delete(pattern: string, handler: Handler): this {
    return this.add('DELETE', pattern, handler);
  }

  /** Every registered route (method and full pattern), in registration order. */
  routes(): readonly { method: string; path: string }[] {
    return this.table.routes;
  }

  /**
   * The matching handler, `'method'` when the path exists under other methods only, or null. HEAD falls back
   * to GET. Throws LLMSCOPE_ERR_INVALID_QUERY (400) for a path that is not valid percent-encoding.
   */
  match(method: string, pathname: string): RouteMatch | 'method' | null {
    const path = trimSlash(pathname) || '/';
    const m = method.toUpperCase() as Method;
    const hit = this.find(m, path) ?? (m === 'HEAD' ? this.find('GET', path) : null);
    if (hit) return hit;
    return this.allowed(path).length > 0 ? 'method' : null;
  }

  /** The methods `pathname` answers to (with HEAD wherever GET is), for a 405's `Allow` header. */
  allowed(pathname: string): Method[] {
    const path = trimSlash(pathname) || '/';
    const out: Method[] = [];
    for (const m of this.table.methods) if (this.find(m, path)) out.push(m);
    if (out.includes('GET') && !out.includes('HEAD')) out.push('HEAD');
    return out;
  }

  /** Runs the route for this request, or throws the coded 404 / 405 (with `Allow`) / 400. */
  async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const m = this.match(method, url.pathname);
    if (m === null) throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `unknown route ${method} ${url.pathname}`);
    if (m === 'method') {
      const allow = this.allowed(url.pathname);
      throw new LlmscopeError(
        'LLMSCOPE_ERR_METHOD_NOT_ALLOWED',
        `${url.pathname} does not take ${method}; it takes ${allow.join(', ')}`,
        { headers: { allow: allow.join(', ') } },
      );
    }
    await m.handler({ req, res, url, params: m.params });
  }

  private find(method: Method, path: string): RouteMatch | null {
    const r = this.table.fmw.find(method, path);
    if (r) return { handler: r.store as Handler, params: r.params as Record<string, string> };
    // find-my-way answers "no route" for a parameter it cannot decode; say what is wrong instead.
    if (path.includes('%')) {
      try {
        decodeURIComponent(path);
      } catch {
        throw new LlmscopeError(
          'LLMSCOPE_ERR_INVALID_QUERY',
          `the path ${path.slice(0, 200)} is not valid percent-encoding; escape "%" as %25`,
        );
      }
    }
    return null;
  }
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
