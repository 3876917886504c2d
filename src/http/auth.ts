// Who may use the dashboard and /api, and how a browser signs in. On a loopback bind everyone may (when they address
// it by a loopback name: DNS rebinding; and a wrong token sent there is refused, not ignored); otherwise the
// admin token, sent as a bearer header by API clients, or exchanged once by the login form (POST /login) for a
// signed session cookie (HttpOnly, SameSite=Strict, Secure over TLS or behind a trusted https proxy, expiring).
// State-changing requests must come from this host (Origin/Referer/Sec-Fetch-Site) or a configured CORS origin,
// and a cookie session must also send its CSRF token; bearer clients are exempt (no ambient credential).
// Sessions are stateless HMACs keyed on the admin token (and the configured tokens' hashes), so every worker and
// replica accepts them; a session carries its principal's name, whose role and scope are looked up on each request.
// A logout revokes the session in this process and clears the browser's cookies. Besides the admin token, the
// tokens of `auth.tokens` (src/http/access.ts) sign in and call /api with their own role and scope.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { LlmscopeError } from '../errors.js';
import { ADMIN_NAME, type Principal, principalOf, ROLES, type Role, type TokenTable } from './access.js';
import { readBody } from './body.js';
import type { OidcClient, OidcPending } from './oidc.js';
import { LocalSessionRevocations, type SessionRevocations } from './sessions.js';

export const SESSION_COOKIE = 'llmscope_session';
export const CSRF_COOKIE = 'llmscope_csrf';
export const CSRF_HEADER = 'x-llmscope-csrf';
/** Holds the OIDC state, nonce and PKCE verifier between the redirect to the issuer and the callback. */
export const OIDC_COOKIE = 'llmscope_oidc';
const OIDC_PENDING_MS = 10 * 60_000;
const BACK = /^#\/[\w\-./?=&%:]*$/;
const LOGIN_BODY_LIMIT = 16 * 1024;
const FAILED_LOGIN_DELAY_MS = 300;
/** Failed sign-ins one client may make per window before it must wait for the window to end. */
const LOGIN_FAILURES_ALLOWED = 10;
const LOGIN_WINDOW_MS = 10 * 60_000;
/** Clients tracked at most (a flood of addresses evicts the oldest, never grows memory). */
const LOGIN_CLIENTS_TRACKED = 10_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Constant-time string equality (over SHA-256 digests, so unequal lengths take the same time too). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

export function cookieValue(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(/;\s*/)) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq) === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}

export interface AuthOptions {
  adminToken?: string;
  /** Loopback bind: no credentials needed (cross-origin writes are still refused). */
  open: boolean;
  sessionTtlMs: number;
  trustProxy: boolean | string[];
  corsOrigins: string[];
  metricsToken?: string;
  now?: () => number;
  /** How long a failed sign-in waits before its answer (default 300 ms; tests use 0). */
  failedLoginDelayMs?: number;
  /** Tokens with their own role and scope (`auth.tokens`), besides the admin token. */
  tokens?: TokenTable;
  /** Told of each sign-in, refused sign-in and sign-out (the audit log records them). */
  onAuthEvent?: (req: IncomingMessage, e: AuthEvent) => void;
  /** OIDC sign-in (`auth.oidc`); its sessions carry the role and scope its groups mapped to. */
  oidc?: OidcClient;
  /**
   * The Host the client sent, when this listener is not the client's first hop (the primary of `serve --workers`,
   * whose workers relay it as X-Forwarded-Host); default: the Host header.
   */
  clientHost?: (req: IncomingMessage) => string | undefined;
  /** Where signed-out sessions are kept (default: this process; on PostgreSQL the store's, shared by replicas). */
  revocations?: SessionRevocations;
}

/** A sign-in or sign-out: who (null when the token was not known), and whether it was let in. */
export interface AuthEvent {
  action: 'login' | 'logout';
  principal: { name: string; role: string } | null;
  result: 'ok' | 'denied';
  /** Why a sign-in was refused. */
  reason?: 'unknown_token' | 'too_many_failures' | 'oidc_refused' | 'oidc_invalid' | 'oidc_no_group';
}

const ADMIN: Omit<Principal, 'kind'> = { name: ADMIN_NAME, role: 'admin', scope: null };

export class AdminAuth {
  private readonly key: Buffer | null;
  private readonly cors: Set<string>;
  private readonly revocations: SessionRevocations;
  private readonly failures = new Map<string, { count: number; until: number }>();
  private readonly now: () => number;

  constructor(private readonly opts: AuthOptions) {
    const tokens = opts.tokens && opts.tokens.size > 0 ? opts.tokens : null;
    this.key =
      opts.adminToken || tokens
        ? createHmac('sha256', 'llmscope-session-v1')
            .update(opts.adminToken ?? '')
            .update(tokens ? `\n${tokens.fingerprint()}` : '')
            // OIDC sessions carry the role and scope mapped at sign-in: a changed mapping (or issuer) ends them
            .update(opts.oidc ? `\noidc:${oidcFingerprint(opts.oidc.settings)}` : '')
            .digest()
        : null;
    this.cors = new Set(opts.corsOrigins.map((o) => new URL(o).origin));
    this.now = opts.now ?? Date.now;
    this.revocations = opts.revocations ?? new LocalSessionRevocations(this.now);
  }

  /**
   * Who is asking: a bearer holding the admin token or a configured token, a signed-in browser, the open bind
   * (admin), or nobody (null). A token that is sent and wrong (an unknown bearer; a session cookie that is forged,
   * expired, revoked or from another server) makes the caller nobody, on the open bind too: it never falls back to
   * loopback trust. The open bind's trust needs a loopback Host (throws 403 otherwise: DNS rebinding).
   */
  principal(req: IncomingMessage): Principal | null {
    const who = this.identify(req);
    return 'refused' in who ? null : who.p;
  }

  /** The principal, or why the credentials sent were refused (null: none were sent and the bind is not open). */
  private identify(req: IncomingMessage): { p: Principal | null } | { refused: string } {
    const bearer = bearerOf(req);
    if (bearer !== null) {
      const p = this.byToken(bearer);
      if (p) return { p: { kind: 'bearer', ...p } };
      return { refused: 'the bearer token sent is neither server.adminToken nor one of auth.tokens' };
    }
    // A session cookie counts only where sessions can exist (a token is configured).
    if (this.key && cookieValue(req, SESSION_COOKIE) !== null) {
      const s = this.session(req);
      if (s) return { p: s };
      return { refused: 'the session cookie sent is expired, signed out or not from this server; sign in again' };
    }
    if (this.opts.open) {
      checkNotForwarded(req);
      checkLoopbackHost(req, this.clientHostOf(req));
      return { p: { kind: 'open', ...ADMIN } };
    }
    return { p: null };
  }

  /** The admin token's principal, or a configured token's (checked in constant time), or null. */
  private byToken(token: string): Omit<Principal, 'kind'> | null {
    const admin = this.opts.adminToken !== undefined && safeEqual(token, this.opts.adminToken);
    const t = this.opts.tokens?.find(token) ?? null;
    if (admin) return ADMIN;
    return t ? principalOf(t, 'bearer') : null;
  }

  /**
   * Guards /api: answers a CORS preflight from a configured origin (returns null: handled), sets CORS headers
   * for such origins, and throws 401 without credentials or 403 for a cross-site or token-less write. Returns the
   * principal, whose role and scope the router checks against the route.
   */
  guardApi(req: IncomingMessage, res: ServerResponse): Principal | null {
    const origin = req.headers.origin;
    const corsOk = origin !== undefined && this.cors.has(origin);
    if (corsOk) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('vary', 'origin');
      res.setHeader('access-control-expose-headers', 'x-request-id');
      if (req.method === 'OPTIONS' && req.headers['access-control-request-method']) {
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, HEAD, POST, PUT, PATCH, DELETE',
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-max-age': '600',
        });
        res.end();
        return null;
      }
    }
    const write = !SAFE_METHODS.has(req.method ?? 'GET');
    // A write from another site is refused before anything else, whatever credentials it carries.
    if (write && !corsOk && !this.sameOrigin(req))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CSRF_REJECTED',
        `${req.method} ${req.url?.split('?')[0]} came from another site (${req.headers.origin ?? req.headers.referer ?? req.headers['sec-fetch-site']}, this host is ${req.headers.host}); add its origin to server.corsOrigins if it is yours, or behind a proxy that rewrites Host, forward it (X-Forwarded-Host) and set server.trustProxy`,
      );
    const who = this.identify(req);
    const p = 'refused' in who ? null : who.p;
    if (!p)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_UNAUTHORIZED',
        'refused' in who
          ? `${who.refused}: send "Authorization: Bearer <token>" with server.adminToken or one of auth.tokens, or sign in at /`
          : 'this llmscope needs a token: send "Authorization: Bearer <token>" (server.adminToken or one of auth.tokens), or sign in at /',
        {
          headers: {
            'www-authenticate': `Bearer realm="llmscope"${'refused' in who && bearerOf(req) !== null ? ', error="invalid_token"' : ''}`,
          },
        },
      );
    if (write && p.kind === 'session') this.checkCsrfToken(req, p.id as string);
    return p;
  }

  /** For a page request: true when the visitor may see the dashboard; otherwise answers with the login page. */
  guardPage(req: IncomingMessage, res: ServerResponse): boolean {
    const who = this.identify(req);
    if (!('refused' in who)) {
      if (who.p) return true;
      this.loginPage(res, 401);
      return false;
    }
    // A stale session cookie is cleared with the answer, so the next visit starts afresh (on the open bind: in).
    const flags = `Path=/; Max-Age=0; SameSite=Strict${this.secure(req) ? '; Secure' : ''}`;
    this.loginPage(res, 401, who.refused.replace(/^the /, 'The ').concat('.'), {
      'set-cookie': [`${SESSION_COOKIE}=; ${flags}; HttpOnly`, `${CSRF_COOKIE}=; ${flags}`],
    });
    return false;
  }

  /** POST /login: a form (or JSON) with `token`; on success a session cookie and a 303 back to the dashboard. */
  async login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.sameOrigin(req))
      throw new LlmscopeError('LLMSCOPE_ERR_CSRF_REJECTED', 'sign in from this llmscope’s own login page');
    const fields = await loginFields(req);
    const back = `/${BACK.test(fields.hash ?? '') ? fields.hash : ''}`;
    // On the loopback bind everyone is admin already; a token, when one is sent, still signs in as its principal.
    if (!this.key || (this.opts.open && !fields.token)) {
      res.writeHead(303, { location: back, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    const client = this.clientOf(req);
    const t = this.now();
    const seen = this.failures.get(client);
    if (seen && seen.until <= t) this.failures.delete(client);
    else if (seen && seen.count >= LOGIN_FAILURES_ALLOWED) {
      const wait = Math.ceil((seen.until - t) / 1000);
      this.opts.onAuthEvent?.(req, { action: 'login', principal: null, result: 'denied', reason: 'too_many_failures' });
      this.loginPage(res, 429, `Too many failed sign-ins from your address; try again in ${wait} s.`, {
        'retry-after': String(wait),
      });
      return;
    }
    const token = fields.token ?? '';
    const who = this.byToken(token);
    if (!who) {
      const f = this.failures.get(client) ?? { count: 0, until: t + LOGIN_WINDOW_MS };
      f.count++;
      this.failures.delete(client);
      this.failures.set(client, f);
      if (this.failures.size > LOGIN_CLIENTS_TRACKED) this.failures.delete(this.failures.keys().next().value as string);
      this.opts.onAuthEvent?.(req, { action: 'login', principal: null, result: 'denied', reason: 'unknown_token' });
      await new Promise((r) => setTimeout(r, this.opts.failedLoginDelayMs ?? FAILED_LOGIN_DELAY_MS));
      this.loginPage(res, 401, 'That is not the admin token nor one of auth.tokens.');
      return;
    }
    this.failures.delete(client);
    this.opts.onAuthEvent?.(req, { action: 'login', principal: { name: who.name, role: who.role }, result: 'ok' });
    // The principal's name rides in the signed payload; its role and scope are read from the config on each request.
    const cookies = this.sessionCookies(req, who.name === ADMIN_NAME ? '' : who.name);
    res.writeHead(303, { location: back, 'cache-control': 'no-store', 'set-cookie': cookies });
    res.end();
  }

  /** The session and CSRF cookies of a new session whose payload ends with `part` (a principal's name, or none). */
  private sessionCookies(req: IncomingMessage, part: string): string[] {
    const expires = this.now() + this.opts.sessionTtlMs;
    const id = randomBytes(18).toString('base64url');
    const payload = `v1.${expires.toString(36)}.${id}${part ? `.${part}` : ''}`;
    const maxAge = Math.floor(this.opts.sessionTtlMs / 1000);
    const flags = `Path=/; Max-Age=${maxAge}; SameSite=Strict${this.secure(req) ? '; Secure' : ''}`;
    return [
      `${SESSION_COOKIE}=${payload}.${this.mac(payload)}; ${flags}; HttpOnly`,
      // Readable by the dashboard's script, which echoes it in x-llmscope-csrf; another site can neither read
      // it nor make the browser send it.
      `${CSRF_COOKIE}=${this.csrfOf(id)}; ${flags}`,
    ];
  }

  /** GET /auth/oidc/login: to the issuer (code flow, PKCE S256, state, nonce); `?hash=#/page` returns to that page. */
  async oidcStart(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const oidc = this.requireOidc();
    const hash = url.searchParams.get('hash') ?? '';
    const { url: to, pending } = await oidc.start(`/${BACK.test(hash) ? hash : ''}`);
    const payload = Buffer.from(JSON.stringify({ ...pending, e: this.now() + OIDC_PENDING_MS })).toString('base64url');
    // Lax, not Strict: the issuer's redirect back is a cross-site navigation, which must bring this cookie along.
    const flags = `Path=/auth/oidc; Max-Age=${OIDC_PENDING_MS / 1000}; HttpOnly; SameSite=Lax${this.secure(req) ? '; Secure' : ''}`;
    res.writeHead(302, {
      location: to.href,
      'cache-control': 'no-store',
      'set-cookie': `${OIDC_COOKIE}=${payload}.${this.mac(`oidc.${payload}`)}; ${flags}`,
    });
    res.end();
  }

  /**
   * GET /auth/oidc/callback: checks the issuer's answer against the pending sign-in, maps the ID token's groups to a
   * principal and starts a session. Answers a page that moves on to the dashboard by itself (a same-site navigation,
   * so the SameSite=Strict session cookie goes with it; a redirect would still count as the issuer's cross-site one).
   */
  async oidcCallback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const oidc = this.requireOidc();
    const gone = `${OIDC_COOKIE}=; Path=/auth/oidc; Max-Age=0; HttpOnly; SameSite=Lax${this.secure(req) ? '; Secure' : ''}`;
    const fail = (status: number, problem: string, reason?: AuthEvent['reason']) => {
      if (reason) this.opts.onAuthEvent?.(req, { action: 'login', principal: null, result: 'denied', reason });
      return this.loginPage(res, status, problem, { 'set-cookie': gone });
    };
    const pending = this.pendingOidc(req);
    if (!pending) return fail(400, 'This sign-in expired or did not start here; sign in again.');
    const error = url.searchParams.get('error');
    if (error)
      return fail(
        401,
        `The identity provider refused: ${url.searchParams.get('error_description') ?? error}`,
        'oidc_refused',
      );
    let claims: Record<string, unknown>;
    try {
      claims = await oidc.finish(url, pending);
    } catch (err) {
      if (err instanceof LlmscopeError) throw err;
      return fail(401, `The identity provider's answer did not check out: ${(err as Error).message}`, 'oidc_invalid');
    }
    const who = oidc.principalOf(claims);
    if (!who)
      return fail(
        403,
        `Your account is in none of the groups auth.oidc.groups names (claim "${oidc.settings.groupsClaim}").`,
        'oidc_no_group',
      );
    this.opts.onAuthEvent?.(req, { action: 'login', principal: { name: who.name, role: who.role }, result: 'ok' });
    const part = `O${Buffer.from(
      JSON.stringify({ n: who.name, r: who.role, t: who.scope?.teams, f: who.scope?.features }),
    ).toString('base64url')}`;
    const body = `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=${pending.back}"><title>llmscope</title></head><body><a href="${pending.back}">Continue to llmscope</a></body></html>`;
    res.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'content-security-policy': "default-src 'none'",
      'referrer-policy': 'no-referrer',
      'set-cookie': [...this.sessionCookies(req, part), gone],
    });
    res.end(body);
  }

  private requireOidc(): OidcClient {
    if (!this.opts.oidc || !this.key)
      throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', 'OIDC sign-in is not configured here (auth.oidc)');
    return this.opts.oidc;
  }

  private pendingOidc(req: IncomingMessage): OidcPending | null {
    const raw = cookieValue(req, OIDC_COOKIE);
    const m = raw ? /^([\w-]+)\.([\w-]+)$/.exec(raw) : null;
    if (!m || !safeEqual(m[2] as string, this.mac(`oidc.${m[1]}`))) return null;
    try {
      const p = JSON.parse(Buffer.from(m[1] as string, 'base64url').toString('utf8')) as OidcPending & { e: number };
      return p.e > this.now() ? p : null;
    } catch {
      return null;
    }
  }

  private loginPage(
    res: ServerResponse,
    status: number,
    problem?: string,
    headers: Record<string, string | string[]> = {},
  ): void {
    const oidc = this.opts.oidc && this.key !== null ? this.opts.oidc : null;
    sendLoginPage(res, status, problem, headers, oidc ? new URL(oidc.settings.issuer).host : null);
  }

  /** POST /logout: revokes the session (on every replica sharing the store), clears both cookies, back to login. */
  async logout(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.sameOrigin(req))
      throw new LlmscopeError('LLMSCOPE_ERR_CSRF_REJECTED', 'sign out from this llmscope’s own pages');
    // The form's body is not needed: dropped after the answer, bounded (createListener; req.resume() read it without
    // end from a client that never stopped sending).
    const s = this.session(req);
    const who = this.principal(req);
    if (who)
      this.opts.onAuthEvent?.(req, { action: 'logout', principal: { name: who.name, role: who.role }, result: 'ok' });
    // Refused here at once; if the shared list cannot be written, the answer is an error (the browser keeps its
    // cookie and can sign out again) rather than a sign-out other replicas would not know of.
    if (s?.id !== undefined) await this.revocations.revoke(s.id, s.expires ?? 0);
    const flags = `Path=/; Max-Age=0; SameSite=Strict${this.secure(req) ? '; Secure' : ''}`;
    res.writeHead(303, {
      location: '/',
      'cache-control': 'no-store',
      'set-cookie': [`${SESSION_COOKIE}=; ${flags}; HttpOnly`, `${CSRF_COOKIE}=; ${flags}`],
    });
    res.end();
  }

  /** The Host the client addressed: the one a worker relays for it (clientHost), else the request's own. */
  private clientHostOf(req: IncomingMessage): string | undefined {
    return this.opts.clientHost?.(req) ?? req.headers.host;
  }

  /**
   * With `server.metricsToken` set, /metrics needs it (or the admin token) as a bearer; throws 401 otherwise. Without
   * it, on the loopback bind, a loopback Host (it names end users and their spend: not for a rebinding page) and no
   * proxy naming a remote client (a reverse proxy on this host would publish it).
   */
  guardMetrics(req: IncomingMessage): void {
    const need = this.opts.metricsToken;
    if (!need) {
      if (this.opts.open) {
        checkNotForwarded(req, 'Set server.metricsToken and give it to Prometheus as its bearer_token');
        checkLoopbackHost(req, this.clientHostOf(req));
      }
      return;
    }
    const bearer = bearerOf(req);
    if (
      bearer !== null &&
      (safeEqual(bearer, need) || (this.opts.adminToken && safeEqual(bearer, this.opts.adminToken)))
    )
      return;
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UNAUTHORIZED',
      '/metrics needs "Authorization: Bearer <server.metricsToken>" (set bearer_token in the Prometheus scrape config)',
      { headers: { 'www-authenticate': 'Bearer realm="llmscope-metrics"' } },
    );
  }

  private checkCsrfToken(req: IncomingMessage, id: string): void {
    const sent = req.headers[CSRF_HEADER];
    if (typeof sent !== 'string' || !safeEqual(sent, this.csrfOf(id)))
      throw new LlmscopeError(
        'LLMSCOPE_ERR_CSRF_REJECTED',
        `a signed-in dashboard's ${req.method} needs the ${CSRF_HEADER} header (the ${CSRF_COOKIE} cookie's value); API clients send "Authorization: Bearer <token>" instead`,
      );
  }

  private session(req: IncomingMessage): Principal | null {
    if (!this.key) return null;
    const raw = cookieValue(req, SESSION_COOKIE);
    if (!raw) return null;
    const m = /^(v1\.([0-9a-z]+)\.([\w-]+)(?:\.([a-z0-9][a-z0-9._@-]*|O[\w-]+))?)\.([\w-]+)$/.exec(raw);
    if (!m) return null;
    const [, payload, exp, id, name, mac] = m as unknown as [
      string,
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    if (!safeEqual(mac, this.mac(payload))) return null;
    const expires = Number.parseInt(exp, 36);
    if (!(expires > this.now()) || this.revocations.has(id)) return null;
    if (name === undefined) return this.opts.adminToken ? { kind: 'session', ...ADMIN, id, expires } : null;
    if (name.startsWith('O')) return this.opts.oidc ? oidcPrincipal(name.slice(1), id, expires) : null;
    // A token removed from the config since sign-in ends its sessions.
    const t = this.opts.tokens?.byName(name);
    return t ? { ...principalOf(t, 'session'), id, expires } : null;
  }

  private mac(s: string): string {
    return createHmac('sha256', this.key as Buffer)
      .update(s)
      .digest('base64url');
  }

  private csrfOf(id: string): string {
    return this.mac(`csrf.${id}`);
  }

  /**
   * The client's address: the peer, or, when the peer is a trusted proxy, the address that proxy saw (the last
   * X-Forwarded-For entry: the ones before it are whatever the client claimed, so they cannot key a limit).
   */
  private clientOf(req: IncomingMessage): string {
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    if (!this.trusted(req)) return peer;
    const xff = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(xff) ? xff.join(',') : (xff ?? '')).split(',');
    return hops[hops.length - 1]?.trim() || peer;
  }

  private trusted(req: IncomingMessage): boolean {
    const t = this.opts.trustProxy;
    if (t === true) return true;
    if (t === false) return false;
    const peer = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    return t.includes(peer);
  }

  /** Whether the browser reached us over https: TLS here, or an https hop before a trusted proxy. */
  secure(req: IncomingMessage): boolean {
    if ((req.socket as TLSSocket).encrypted) return true;
    if (!this.trusted(req)) return false;
    return firstValue(req.headers['x-forwarded-proto'])?.toLowerCase() === 'https';
  }

  /** The host the browser addressed; a proxy that sends `Host: $host` drops the port, so then only the name counts. */
  private hostOf(req: IncomingMessage): { host: string; name: string; port: boolean } | null {
    const h = (this.trusted(req) && firstValue(req.headers['x-forwarded-host'])) || req.headers.host;
    if (!h) return null;
    try {
      const u = new URL(`http://${h}`);
      return { host: u.host, name: u.hostname, port: /:\d+$/.test(h) };
    } catch {
      return null;
    }
  }

  /** Same-origin by Sec-Fetch-Site, Origin, then Referer; a request with none of them is not from a browser. */
  sameOrigin(req: IncomingMessage): boolean {
    const site = req.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') return false;
    const host = this.hostOf(req);
    const origin = req.headers.origin;
    const from = origin ?? req.headers.referer;
    if (from === undefined) return true;
    if (from === 'null' || !host) return false;
    try {
      const o = new URL(from);
      return host.port ? o.host === host.host : o.hostname === host.name;
    } catch {
      return false;
    }
  }
}

/** What an OIDC session's principal was mapped by: the issuer, the client, the claims read and the group mapping. */
function oidcFingerprint(o: OidcClient['settings']): string {
  return JSON.stringify([o.issuer, o.clientId, o.groupsClaim, o.nameClaim, o.groups]);
}

/** An OIDC session's principal, as mapped at sign-in (signed with the session; group changes apply at the next). */
function oidcPrincipal(part: string, id: string, expires: number): Principal | null {
  try {
    const j = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as {
      n: string;
      r: Role;
      t?: string[];
      f?: string[];
    };
    if (typeof j.n !== 'string' || !ROLES.includes(j.r)) return null;
    const scope = j.t || j.f ? { ...(j.t ? { teams: j.t } : {}), ...(j.f ? { features: j.f } : {}) } : null;
    return { kind: 'session', name: j.n, role: j.r, scope, id, expires };
  } catch {
    return null;
  }
}

/**
 * Whether a Host header names this machine's loopback: `localhost`, a `*.localhost` name, 127.0.0.0/8 or `[::1]`,
 * with any port (a request without Host is no browser's, and passes).
 */
export function isLoopbackHost(host: string | undefined): boolean {
  if (host === undefined) return true;
  // Every gateway call on the loopback bind asks, nearly always with the Host of the call before: that one's answer is
  // kept (a URL parse per call otherwise).
  if (host === lastHost) return lastHostLoopback;
  let name: string;
  try {
    name = new URL(`http://${host}`).hostname;
  } catch {
    name = '';
  }
  if (name.endsWith('.')) name = name.slice(0, -1);
  const loopback =
    name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
  lastHost = host;
  lastHostLoopback = loopback;
  return loopback;
}
let lastHost: string | undefined;
let lastHostLoopback = false;

/**
 * Trust given for being on loopback needs a loopback Host: a page on another site whose name resolves to 127.0.0.1
 * (DNS rebinding) reaches the port as a "same-origin" browser request, but with its own name in Host.
 */
export function checkLoopbackHost(req: IncomingMessage, host: string | undefined = req.headers.host): void {
  if (isLoopbackHost(host)) return;
  throw new LlmscopeError(
    'LLMSCOPE_ERR_HOST_REJECTED',
    `this llmscope listens on loopback and lets callers in without a token only when they address it by a loopback name (localhost, *.localhost, 127.0.0.1, [::1]); this request's Host is ${JSON.stringify(host)}. Use http://localhost:<port>, or set server.adminToken and send it`,
  );
}

/** Whether an address a proxy names (X-Forwarded-For, X-Real-IP, Forwarded's for=) is this machine's loopback. */
function loopbackAddress(a: string): boolean {
  let v = a.trim().replace(/^"|"$/g, '');
  if (v.startsWith('[')) v = v.slice(1, v.indexOf(']') === -1 ? undefined : v.indexOf(']'));
  else if (/^[\d.]+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
  v = v.toLowerCase().replace(/^::ffff:/, '');
  return v === '::1' || /^127\.\d+\.\d+\.\d+$/.test(v);
}

/**
 * Trust given for being on loopback is for callers on this machine. A reverse proxy on the same host connects from
 * 127.0.0.1 (and, unless told to keep the client's Host, addresses llmscope by a loopback name): the request it
 * forwards for a client elsewhere, which it names in X-Forwarded-For, X-Real-IP or Forwarded, is not let in.
 */
export function checkNotForwarded(
  req: IncomingMessage,
  fix = 'Set server.adminToken and send it (and server.trustProxy for the proxy)',
): void {
  const h = req.headers;
  const xff = h['x-forwarded-for'];
  const real = h['x-real-ip'];
  const fwd = h.forwarded;
  if (xff === undefined && real === undefined && fwd === undefined) return;
  const named: string[] = [];
  for (const v of [xff, real].flat()) if (typeof v === 'string') named.push(...v.split(','));
  if (typeof fwd === 'string') for (const m of fwd.matchAll(/for=("[^"]*"|[^;,\s]*)/gi)) named.push(m[1] as string);
  const remote = named.find((a) => !loopbackAddress(a));
  if (remote === undefined && named.length > 0) return;
  throw new LlmscopeError(
    'LLMSCOPE_ERR_HOST_REJECTED',
    `this llmscope listens on loopback and lets callers in without a token only from this machine; this request came through a proxy for ${JSON.stringify((remote ?? '').trim() || 'another address')}. ${fix}`,
  );
}

/**
 * For a gateway call (`/v1/...`, `/v1beta/...`, Vertex's `/v1beta1/...`; not `/v1/traces`, which the dashboard's
 * guard judges) on the loopback bind: one that presents an llmscope virtual key (`lsk_`, as the key hook reads
 * it: Authorization, x-api-key or x-goog-api-key) is judged by that key, whatever its Host; one without relies on
 * loopback trust (the gateway relays on llmscope's provider keys where no virtual keys are required), so needs a
 * loopback Host, and, when `relaysOwnKey()` says it would go upstream on llmscope's own provider key, must not come
 * through a proxy for a remote client (asked only when a forwarding header is present).
 */
export function checkGatewayLoopbackHost(req: IncomingMessage, path: string, relaysOwnKey?: () => boolean): void {
  if (
    path === '/v1/traces' ||
    !(path.startsWith('/v1/') || path.startsWith('/v1beta/') || path.startsWith('/v1beta1/'))
  )
    return;
  const h = req.headers;
  const forwarded =
    (h['x-forwarded-for'] !== undefined || h['x-real-ip'] !== undefined || h.forwarded !== undefined) &&
    relaysOwnKey?.() === true;
  if (!forwarded && isLoopbackHost(h.host)) return;
  const sent = [bearerOf(req), h['x-api-key'], h['x-goog-api-key']].flat();
  if (sent.some((v) => typeof v === 'string' && v.trim().startsWith('lsk_'))) return;
  checkLoopbackHost(req);
  if (forwarded)
    checkNotForwarded(
      req,
      "A gateway call without an llmscope virtual key would be sent upstream with llmscope's own provider key: require virtual keys (`llmscope keys create NAME`, docs/keys.md) and send one (Authorization: Bearer lsk_...), or, if the proxy already decides who may call, set server.allowUnauthenticatedGateway: true",
    );
}

/** Request headers that carry a client's own credential to the gateway (a virtual key or a provider key). */
const GATEWAY_CREDENTIAL_HEADERS = ['authorization', 'x-api-key', 'x-goog-api-key', 'api-key'] as const;

/**
 * For a gateway call (`/v1/...`, `/v1beta/...`, Vertex's `/v1beta1/...`; not `/v1/traces` nor `/v1/logs`, which the
 * dashboard's guard judges), on any bind: a request a browser sent from a page of another site (`Sec-Fetch-Site`
 * cross-site or same-site, or an `Origin` that is not this host's and not in `server.corsOrigins`) that carries no
 * credential of its own (no Authorization, x-api-key, x-goog-api-key or api-key header) is refused. Such a page cannot
 * set those headers without a CORS preflight, which the gateway does not answer, so what it can send is a "simple"
 * request — a multipart upload to /v1/audio/transcriptions or /v1/files, a body-less POST to a batch's /cancel —
 * that would go upstream on llmscope's own provider key (the cross-site request forgery the Realtime upgrade refuses
 * by its Origin, and /api by its CSRF check). A client with a key, and any client that is not a browser, is not affected.
 */
export function checkGatewayCrossSite(req: IncomingMessage, path: string, corsOrigins: readonly string[]): void {
  if (
    path === '/v1/traces' ||
    path === '/v1/logs' ||
    !(path.startsWith('/v1/') || path.startsWith('/v1beta/') || path.startsWith('/v1beta1/'))
  )
    return;
  const h = req.headers;
  if (GATEWAY_CREDENTIAL_HEADERS.some((k) => h[k] !== undefined)) return;
  const site = firstValue(h['sec-fetch-site']);
  const origin = firstValue(h.origin);
  let from: string | null = null;
  if (origin !== undefined) {
    let url: URL | null = null;
    try {
      url = new URL(origin);
    } catch {
      // "null" (a sandboxed frame, a file: page) or garbage: not this host
    }
    // as the /api guard compares them: by their normalized origin (scheme and host lowercased, default port dropped)
    if (url && corsOrigins.some((o) => new URL(o).origin === url.origin)) return;
    if (url === null || url.host !== String(h.host ?? '').toLowerCase()) from = origin;
  }
  if (from === null && (site === 'cross-site' || site === 'same-site')) from = origin ?? `a ${site} page`;
  if (from === null) return;
  throw new LlmscopeError(
    'LLMSCOPE_ERR_CSRF_REJECTED',
    `${req.method} ${path} came from a browser page of another site (${from}) without a key of its own, so it would go upstream on llmscope's provider key; call the gateway from a server or a client with a key (a virtual key, Authorization: Bearer lsk_..., or the provider's key), or add the page's origin to server.corsOrigins if it is yours`,
  );
}

function bearerOf(req: IncomingMessage): string | null {
  const a = req.headers.authorization;
  return a && /^Bearer /i.test(a) ? a.slice(7).trim() : null;
}

function firstValue(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v?.split(',')[0]?.trim() || undefined;
}

async function loginFields(req: IncomingMessage): Promise<{ token?: string; hash?: string }> {
  const ct = String(req.headers['content-type'] ?? '').toLowerCase();
  // A fixed limit, not server.bodyLimit: the form holds only a token (raising server.bodyLimit would not help).
  const body = (
    await readBody(req, LOGIN_BODY_LIMIT, 'a sign-in form holds only the token (send {"token": "..."} or token=...)')
  ).toString('utf8');
  if (ct.startsWith('application/x-www-form-urlencoded')) {
    const p = new URLSearchParams(body);
    return { token: p.get('token') ?? undefined, hash: p.get('hash') ?? undefined };
  }
  if (/^application\/(.+\+)?json/.test(ct)) {
    try {
      const j = JSON.parse(body) as { token?: unknown };
      return { token: typeof j.token === 'string' ? j.token : undefined };
    } catch {
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_JSON', 'the login body is not valid JSON; send {"token": "..."}');
    }
  }
  throw new LlmscopeError(
    'LLMSCOPE_ERR_UNSUPPORTED_MEDIA_TYPE',
    'POST /login takes a form (application/x-www-form-urlencoded) or JSON with "token"',
  );
}

// The form posts the token in the body, never in a URL; the script only carries the dashboard page (#/...) over.
const LOGIN_SCRIPT =
  "document.getElementById('hash').value = location.hash; var sso = document.getElementById('sso'); if (sso && location.hash) sso.href += '?hash=' + encodeURIComponent(location.hash);";
const LOGIN_CSP = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  `script-src 'sha256-${createHash('sha256').update(LOGIN_SCRIPT).digest('base64')}'`,
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

const escapeHtml = (t: string): string =>
  t.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

function sendLoginPage(
  res: ServerResponse,
  status: number,
  problem?: string,
  headers: Record<string, string | string[]> = {},
  /** The OIDC issuer's host when auth.oidc is set: the page offers "Sign in with <host>" beside the token form. */
  sso: string | null = null,
): void {
  const body = `<!doctype html><html><head><meta charset="utf-8"><title>llmscope — sign in</title></head>
<body style="font-family:system-ui;max-width:28rem;margin:4rem auto">
<h1>llmscope</h1><p>This dashboard needs the admin token (server.adminToken) or a token from auth.tokens.</p>
${problem ? `<p role="alert" style="color:#b00">${escapeHtml(problem)}</p>` : ''}
${sso ? `<p><a id="sso" href="/auth/oidc/login">Sign in with ${escapeHtml(sso)}</a></p>` : ''}
<form method="post" action="/login"><input name="token" type="password" placeholder="admin token" autocomplete="current-password" autofocus required style="width:100%;padding:.5rem">
<input type="hidden" name="hash" id="hash">
<button style="margin-top:.5rem;padding:.5rem 1rem">Sign in</button></form>
<script>${LOGIN_SCRIPT}</script></body></html>`;
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
    'content-security-policy': LOGIN_CSP,
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    ...headers,
  });
  res.end(body);
}
