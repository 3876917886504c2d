// The /api router: find-my-way's radix tree under the small registration API modules use (get/post/delete with
// `:param` segments), with prefix scoping, one sub-app per module (`module(name)`: its routes carry their owner),
// 405 with `Allow`, 400 (not 500) for a path that is not valid percent-encoding, and the route → role table
// (src/http/access.ts) enforced before any handler runs. The gateway's /v1 hot path does not go through it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import FindMyWay from 'find-my-way';
import { LlmscopeError } from '../errors.js';
import { ADMIN_NAME, type Principal, type RouteAccess, roleAllows, routeAccess, UNLISTED } from './access.js';

export interface HttpContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  /**
   * Who is asking (already checked against the route's role); `principal.scope` narrows what a `filter` route
   * answers. Always set by `dispatch`; absent only where a test calls a handler directly (then: unscoped).
   */
  principal?: Principal;
}

/** The principal of a dispatch made without one (in-process callers and unit tests: the guard is webHandler's). */
const IN_PROCESS: Principal = { kind: 'open', name: ADMIN_NAME, role: 'admin', scope: null };

export type Handler = (ctx: HttpContext) => void | Promise<void>;

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RouteMatch {
  handler: Handler;
  params: Record<string, string>;
  /** The route's method and pattern, as registered (HEAD matched to GET says GET). */
  route: { method: string; path: string };
}

interface Entry {
  method: Method;
  path: string;
  handler: Handler;
  /** The module whose sub-app registered it (`core` for the app's own routes). */
  module: string;
}

interface Table {
  fmw: FindMyWay.Instance<FindMyWay.HTTPVersion.V1>;
  methods: Set<Method>;
  routes: Entry[];
}

const noop = () => undefined;

/** Method + path router with `:param` segments; `scope(prefix)` gives a view that registers under a prefix. */
export class Router {
  private readonly table: Table;
  readonly prefix: string;
  private readonly owner: { name: string };

  constructor(prefix = '', table?: Table, owner: { name: string } = { name: 'core' }) {
    if (prefix && (!prefix.startsWith('/') || prefix.endsWith('/')))
      throw new Error(`a router prefix starts with "/" and does not end with one, got "${prefix}"`);
    this.prefix = prefix;
    this.owner = owner;
    this.table = table ?? {
      fmw: FindMyWay({ ignoreDuplicateSlashes: true, maxParamLength: 1000 }),
      methods: new Set(),
      routes: [],
    };
  }

  /** A view of this router whose patterns are relative to `prefix` (e.g. `api.scope('/cost').get('/summary')`). */
  scope(prefix: string): Router {
    return new Router(this.prefix + prefix, this.table, this.owner);
  }

  /**
   * A module's sub-app: a view of this router whose routes are recorded as the module's (`routes()` says whose each
   * is). The name may be given later with `named()`, once the module says what it is called.
   */
  module(name: string): Router {
    return new Router(this.prefix, this.table, { name });
  }

  /** Renames this sub-app's owner (routes it registered included). */
  named(name: string): this {
    this.owner.name = name;
    return this;
  }

  add(method: string, pattern: string, handler: Handler): this {
    const m = method.toUpperCase() as Method;
    const path = trimSlash(this.prefix + (pattern === '/' ? '' : pattern)) || '/';
    const owner = this.owner;
    const entry: Entry = {
      method: m,
      path,
      handler,
      get module() {
        return owner.name;
      },
    };
    this.table.fmw.on(m, path, noop, entry);
    this.table.methods.add(m);
    this.table.routes.push(entry);
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

  /** Every registered route (method, full pattern, owning module), in registration order. */
  routes(): readonly { method: string; path: string; module: string }[] {
    return this.table.routes.map((e) => ({ method: e.method, path: e.path, module: e.module }));
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

  /**
   * Runs the route for this request, or throws the coded 404 / 405 (with `Allow`) / 400, or 403 `forbidden` when
   * the principal's role is below the route's (src/http/access.ts) or its scope cannot be applied to the route.
   */
  async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    principal: Principal = IN_PROCESS,
  ): Promise<void> {
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
    checkAccess(principal, m.route, routeAccess(m.route.method, m.route.path) ?? UNLISTED);
    await m.handler({ req, res, url, params: m.params, principal });
  }

  private find(method: Method, path: string): RouteMatch | null {
    const r = this.table.fmw.find(method, path);
    if (r) {
      const e = r.store as Entry;
      return { handler: e.handler, params: r.params as Record<string, string>, route: { method, path: e.path } };
    }
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

function checkAccess(p: Principal, route: { method: string; path: string }, need: RouteAccess): void {
  if (!roleAllows(p.role, need.role))
    throw new LlmscopeError(
      'LLMSCOPE_ERR_FORBIDDEN',
      `${route.method} ${route.path} needs the ${need.role} role; "${p.name}" is ${p.role === 'admin' ? 'an' : 'a'} ${p.role}`,
    );
  if (p.scope && need.scoped === 'refuse')
    throw new LlmscopeError(
      'LLMSCOPE_ERR_FORBIDDEN',
      `${route.method} ${route.path} answers for every team (its figures are not kept per team), so "${p.name}", scoped to ${scopeText(p)}, may not read it`,
    );
}

function scopeText(p: Principal): string {
  const parts: string[] = [];
  if (p.scope?.teams) parts.push(`teams ${p.scope.teams.join(', ') || '(none)'}`);
  if (p.scope?.features) parts.push(`features ${p.scope.features.join(', ') || '(none)'}`);
  return parts.join(' and ');
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}
