import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { LlmscopeError } from '../errors.js';
import { hashToken, TokenTable } from './access.js';
import { AdminAuth, isLoopbackHost, safeEqual } from './auth.js';

const TOKEN = 'unit-admin-token-123';

function req(method: string, headers: Record<string, string> = {}, body = '', peer = '10.1.2.3'): IncomingMessage {
  const r = Readable.from(body ? [Buffer.from(body)] : []) as unknown as IncomingMessage;
  Object.assign(r, {
    method,
    url: '/',
    headers: { host: 'llmscope.test:8080', ...headers },
    socket: { remoteAddress: peer },
  });
  return r;
}

function res() {
  const out = { status: 0, headers: {} as Record<string, string | string[]>, set: {} as Record<string, string> };
  const r = {
    setHeader(k: string, v: string) {
      out.set[k] = v;
    },
    writeHead(status: number, h: Record<string, string | string[]>) {
      out.status = status;
      out.headers = h;
    },
    end() {},
  } as unknown as ServerResponse;
  return { r, out };
}

async function signIn(auth: AdminAuth, headers: Record<string, string> = {}, peer?: string, token = TOKEN) {
  const { r, out } = res();
  await auth.login(
    req('POST', { 'content-type': 'application/x-www-form-urlencoded', ...headers }, `token=${token}`, peer),
    r,
  );
  const cookies = (out.headers['set-cookie'] ?? []) as string[];
  return {
    status: out.status,
    retryAfter: out.headers['retry-after'],
    cookies,
    cookie: cookies.map((c) => c.split(';')[0]).join('; '),
    csrf: /llmscope_csrf=([^;]+)/.exec(cookies.join('\n'))?.[1] ?? '',
  };
}

const make = (over: Partial<ConstructorParameters<typeof AdminAuth>[0]> = {}) => {
  let t = 1_000_000;
  const auth = new AdminAuth({
    adminToken: TOKEN,
    open: false,
    sessionTtlMs: 60_000,
    trustProxy: false,
    corsOrigins: [],
    now: () => t,
    failedLoginDelayMs: 0,
    ...over,
  });
  return { auth, advance: (ms: number) => (t += ms) };
};

const status = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (err) {
    return (err as LlmscopeError).status;
  }
};

describe('AdminAuth', () => {
  it('compares in constant time whatever the lengths', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('', '')).toBe(true);
  });

  it('a sign-in body over its fixed limit is refused without advice to raise server.bodyLimit (which is not its limit)', async () => {
    const { auth } = make();
    const { r } = res();
    const big = req('POST', { 'content-type': 'application/x-www-form-urlencoded' }, `token=${'a'.repeat(20_000)}`);
    const err = await auth.login(big, r).then(
      () => null,
      (e: unknown) => e as { status: number; message: string },
    );
    expect(err?.status).toBe(413);
    expect(err?.message).not.toMatch(/server\.bodyLimit/);
    expect(err?.message).toMatch(/sign-in form holds only the token/);
  });

  it('sessions expire, and a logout revokes them', async () => {
    const { auth, advance } = make();
    const s = await signIn(auth);
    expect(s.status).toBe(303);
    expect(auth.principal(req('GET', { cookie: s.cookie }))).toMatchObject({ kind: 'session' });
    advance(59_000);
    expect(auth.principal(req('GET', { cookie: s.cookie }))).not.toBeNull();
    advance(2_000);
    expect(auth.principal(req('GET', { cookie: s.cookie }))).toBeNull();
    const s2 = await signIn(auth);
    auth.logout(req('POST', { cookie: s2.cookie }), res().r);
    expect(auth.principal(req('GET', { cookie: s2.cookie }))).toBeNull();
  });

  it('a session from another admin token, or a tampered one, is nobody', async () => {
    const s = await signIn(make().auth);
    const other = make({ adminToken: 'another-admin-token' }).auth;
    expect(other.principal(req('GET', { cookie: s.cookie }))).toBeNull();
    const { auth } = make();
    const tampered = s.cookie.replace(/v1\.([0-9a-z]+)\./, (_m, exp: string) => `v1.${exp}0.`);
    expect(auth.principal(req('GET', { cookie: tampered }))).toBeNull();
    expect(auth.principal(req('GET', { cookie: s.cookie }))).toMatchObject({ kind: 'session' });
  });

  it('the CSRF token is bound to its session', async () => {
    const { auth } = make();
    const a = await signIn(auth);
    const b = await signIn(auth);
    const write = (cookie: string, csrf: string) =>
      status(() => auth.guardApi(req('DELETE', { cookie, 'x-llmscope-csrf': csrf }), res().r));
    expect(write(a.cookie, a.csrf)).toBe(0);
    expect(write(a.cookie, b.csrf)).toBe(403);
    expect(write(a.cookie, '')).toBe(403);
    expect(status(() => auth.guardApi(req('GET', { cookie: a.cookie }), res().r))).toBe(0);
    expect(status(() => auth.guardApi(req('GET'), res().r))).toBe(401);
  });

  it('Secure only over TLS or from a trusted proxy that says https', async () => {
    const xfp = { 'x-forwarded-proto': 'https' };
    const secure = (cookies: string[]) => cookies.every((c) => c.includes('; Secure'));
    expect(secure((await signIn(make().auth, xfp)).cookies)).toBe(false);
    expect(secure((await signIn(make({ trustProxy: true }).auth, xfp)).cookies)).toBe(true);
    expect(secure((await signIn(make({ trustProxy: ['10.9.9.9'] }).auth, xfp)).cookies)).toBe(false);
    expect(secure((await signIn(make({ trustProxy: ['10.9.9.9'] }).auth, xfp, '::ffff:10.9.9.9')).cookies)).toBe(true);
    expect(secure((await signIn(make({ trustProxy: true }).auth)).cookies)).toBe(false);
  });

  it('/metrics takes its own token or the admin token when metricsToken is set, and anyone otherwise', () => {
    const open = make().auth;
    expect(status(() => open.guardMetrics(req('GET')))).toBe(0);
    const { auth } = make({ metricsToken: 'scrape-token-1' });
    expect(status(() => auth.guardMetrics(req('GET')))).toBe(401);
    expect(status(() => auth.guardMetrics(req('GET', { authorization: 'Bearer scrape-token-2' })))).toBe(401);
    expect(status(() => auth.guardMetrics(req('GET', { authorization: 'Bearer scrape-token-1' })))).toBe(0);
    expect(status(() => auth.guardMetrics(req('GET', { authorization: `Bearer ${TOKEN}` })))).toBe(0);
  });

  it('after 10 failed sign-ins a client waits out the window, even with the right token; others are not held up', async () => {
    const { auth, advance } = make();
    for (let i = 0; i < 10; i++) expect((await signIn(auth, {}, '10.0.0.1', 'wrong-token-x')).status).toBe(401);
    const blocked = await signIn(auth, {}, '10.0.0.1');
    expect(blocked.status).toBe(429);
    expect(Number(blocked.retryAfter)).toBeGreaterThan(500);
    expect(blocked.cookies).toEqual([]);
    expect((await signIn(auth, {}, '10.0.0.2')).status).toBe(303);
    advance(10 * 60_000);
    expect((await signIn(auth, {}, '10.0.0.1')).status).toBe(303);
    // Behind a trusted proxy the client is the address the proxy saw (the last X-Forwarded-For entry); what the
    // client put before it changes nothing.
    const proxied = make({ trustProxy: ['10.9.9.9'] }).auth;
    for (let i = 0; i < 10; i++)
      await signIn(proxied, { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` }, '10.9.9.9', 'wrong-token-x');
    expect((await signIn(proxied, { 'x-forwarded-for': '203.0.113.7' }, '10.9.9.9')).status).toBe(429);
    expect((await signIn(proxied, { 'x-forwarded-for': '203.0.113.8' }, '10.9.9.9')).status).toBe(303);
  });

  it('configured tokens are principals with their role and scope, by bearer and by session', async () => {
    const viewer = 'viewer-token-of-team-a-0001';
    const tokens = new TokenTable([
      { name: 'team-a', role: 'viewer', teams: ['a'], tokenHash: hashToken(viewer) },
      { name: 'ops', role: 'operator', tokenHash: hashToken('operator-token-0000001') },
    ]);
    const { auth } = make({ tokens });
    const bearer = (t: string) => auth.principal(req('GET', { authorization: `Bearer ${t}` }));
    expect(bearer(viewer)).toEqual({ kind: 'bearer', name: 'team-a', role: 'viewer', scope: { teams: ['a'] } });
    expect(bearer('operator-token-0000001')).toMatchObject({ name: 'ops', role: 'operator', scope: null });
    expect(bearer(TOKEN)).toMatchObject({ name: 'admin', role: 'admin', scope: null });
    expect(bearer(`${viewer}x`)).toBeNull();
    const s = await signIn(auth, {}, undefined, viewer);
    expect(s.status).toBe(303);
    expect(auth.principal(req('GET', { cookie: s.cookie }))).toMatchObject({
      kind: 'session',
      name: 'team-a',
      role: 'viewer',
      scope: { teams: ['a'] },
    });
    // The name in the cookie is signed: changing it to another principal's makes it nobody.
    const forged = s.cookie.replace('.team-a.', '.ops.');
    expect(forged).not.toBe(s.cookie);
    expect(auth.principal(req('GET', { cookie: forged }))).toBeNull();
    // A token dropped from the config ends its sessions (the key changes with the table, too).
    const without = make({ tokens: new TokenTable([]) }).auth;
    expect(without.principal(req('GET', { cookie: s.cookie }))).toBeNull();
    // The admin token's sessions stay admin.
    const a = await signIn(auth);
    expect(auth.principal(req('GET', { cookie: a.cookie }))).toMatchObject({ name: 'admin', role: 'admin' });
  });

  it('with only configured tokens (no admin token) sign-in and bearer still work; the admin token is nobody', async () => {
    const tokens = new TokenTable([{ name: 'v', role: 'viewer', tokenHash: hashToken('only-viewer-token-01') }]);
    const { auth } = make({ adminToken: undefined, tokens });
    expect(auth.principal(req('GET', { authorization: `Bearer ${TOKEN}` }))).toBeNull();
    const s = await signIn(auth, {}, undefined, 'only-viewer-token-01');
    expect(auth.principal(req('GET', { cookie: s.cookie }))).toMatchObject({ name: 'v', role: 'viewer' });
    expect((await signIn(auth, {}, undefined, TOKEN)).status).toBe(401);
  });

  it('the open bind trusts only requests addressed to a loopback name (no DNS rebinding)', () => {
    for (const h of [
      'localhost',
      'localhost:8080',
      'app.localhost:3000',
      '127.0.0.1:8080',
      '127.3.2.1',
      '[::1]:8080',
      'LOCALHOST.',
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of [
      'evil.example',
      'evil.example:8080',
      '127.0.0.1.evil.example',
      'localhost.evil.example',
      '10.0.0.1:8080',
      '[::2]',
      'a b',
    ])
      expect(isLoopbackHost(h), h).toBe(false);
    // asked again, alternating and repeated (the last answer is kept for the same Host): the same answers
    for (const [h, loopback] of [
      ['localhost:8080', true],
      ['localhost:8080', true],
      ['evil.example', false],
      ['evil.example', false],
      ['127.0.0.1:8080', true],
      ['a b', false],
      ['a b', false],
      ['[::1]:8080', true],
    ] as const)
      expect(isLoopbackHost(h), h).toBe(loopback);
    const { auth } = make({ open: true });
    const { r } = res();
    expect(auth.guardApi(req('GET', { host: 'localhost:8080' }), r)).toMatchObject({ kind: 'open', role: 'admin' });
    expect(auth.guardApi(req('GET', { host: '127.0.0.1:8080' }), r)).toMatchObject({ kind: 'open' });
    let err: LlmscopeError | undefined;
    try {
      auth.guardApi(req('GET', { host: 'rebind.evil.example:8080' }), r);
    } catch (e) {
      err = e as LlmscopeError;
    }
    expect(err).toMatchObject({ status: 403, code: 'LLMSCOPE_ERR_HOST_REJECTED' });
    expect(err?.message).toContain('rebind.evil.example:8080');
    // A same-origin write from the rebound page is refused too, and so is the dashboard page.
    expect(status(() => auth.guardApi(req('DELETE', { host: 'evil.example', origin: 'http://evil.example' }), r))).toBe(
      403,
    );
    expect(status(() => auth.guardPage(req('GET', { host: 'evil.example' }), r))).toBe(403);
    // A valid token is not about loopback trust: it works whatever the Host.
    expect(auth.guardApi(req('GET', { host: 'evil.example', authorization: `Bearer ${TOKEN}` }), r)).toMatchObject({
      kind: 'bearer',
      role: 'admin',
    });
  });

  it('a wrong token or session cookie on the open bind gets 401, never the open admin', async () => {
    const tokens = new TokenTable([{ name: 'grafana', role: 'viewer', tokenHash: hashToken('grafana-token-12345') }]);
    const { auth, advance } = make({ open: true, tokens });
    const local = { host: 'localhost:8080' };
    const { r } = res();
    const refused = (headers: Record<string, string>) => {
      try {
        auth.guardApi(req('GET', { ...local, ...headers }), r);
      } catch (e) {
        return e as LlmscopeError;
      }
      return undefined;
    };
    const e = refused({ authorization: `Bearer ${TOKEN}x` });
    expect(e).toMatchObject({ status: 401, code: 'LLMSCOPE_ERR_UNAUTHORIZED' });
    expect(e?.headers['www-authenticate']).toContain('invalid_token');
    expect(auth.principal(req('GET', { ...local, authorization: 'Bearer nope' }))).toBeNull();
    // Even with a good session cookie beside it: the wrong bearer decides.
    const s = await signIn(auth, local);
    expect(auth.guardApi(req('GET', { ...local, cookie: s.cookie }), r)).toMatchObject({ kind: 'session' });
    expect(refused({ cookie: s.cookie, authorization: 'Bearer nope' })?.status).toBe(401);
    // A tampered, expired or signed-out session cookie is refused rather than ignored.
    expect(
      refused({ cookie: `${s.cookie.replace(/llmscope_session=[^;]+/, (m) => `${m.slice(0, -2)}xx`)}` })?.status,
    ).toBe(401);
    const viewer = await signIn(auth, local, undefined, 'grafana-token-12345');
    auth.logout(req('POST', { ...local, cookie: viewer.cookie }), res().r);
    expect(refused({ cookie: viewer.cookie })?.message).toMatch(/signed out/);
    advance(61_000);
    expect(refused({ cookie: s.cookie })?.status).toBe(401);
    // The dashboard page answers the login page and clears the stale cookies; without them the visitor is in.
    const page = res();
    expect(auth.guardPage(req('GET', { ...local, cookie: s.cookie }), page.r)).toBe(false);
    expect(page.out.status).toBe(401);
    expect(String(page.out.headers['set-cookie'])).toMatch(/llmscope_session=; Path=\/; Max-Age=0/);
    expect(auth.guardPage(req('GET', local), res().r)).toBe(true);
    // A right bearer is its own principal there, a viewer stays a viewer.
    expect(auth.guardApi(req('GET', { ...local, authorization: 'Bearer grafana-token-12345' }), r)).toMatchObject({
      kind: 'bearer',
      role: 'viewer',
    });
  });
});
