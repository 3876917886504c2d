// The server's own HTTP surface besides the gateway: unknown paths are 404s in the error shape (never the
// dashboard), /api's router answers 405 with Allow and 400 for bad percent-encoding, the dashboard's files carry
// validators, and off loopback the admin signs in by POST for a session cookie that is HttpOnly, SameSite=Strict,
// Secure behind a trusted https proxy, expires, logs out, and needs its CSRF token for writes; cross-site writes
// are refused; /metrics may need its own token; CORS headers only for configured origins.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/server.js';
import { configOf, type Stack, selfSignedCert, startStack } from './helpers.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request with the path sent exactly as given (fetch and undici would normalise `..`). */
function raw(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Raw> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const ingestBody = (id: string) =>
  JSON.stringify({ calls: [{ request_id: id, started_at: Date.now() - 1000, provider: 'p', model: 'm' }] });

describe('paths, router and static files (loopback)', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
  });
  afterAll(() => s.close());

  it('answers 404 in the error shape for paths that are not the dashboard', async () => {
    for (const path of [
      '/../../etc/passwd',
      '/%2e%2e/x',
      '/nope',
      '/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/src/server.ts',
    ]) {
      const r = await raw(s.base, 'GET', path);
      expect(r.status, path).toBe(404);
      expect(r.headers['content-type'], path).toContain('application/json');
      const j = JSON.parse(r.body) as { error: Record<string, unknown> };
      expect(j.error, path).toMatchObject({ type: 'not_found_error', code: 'not_found' });
      expect(r.body).not.toContain('root:');
    }
  });

  it('serves / with a validator and answers 304 to a current copy (when the dashboard is built)', async () => {
    const first = await raw(s.base, 'GET', '/');
    if (first.status === 404) return; // not built: covered by src/http/static.test.ts
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toBe('text/html; charset=utf-8');
    const etag = first.headers.etag as string;
    expect(etag).toMatch(/^".+"$/);
    const again = await raw(s.base, 'GET', '/', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
  });

  it('/api: 405 with Allow, 400 for a malformed escape, 404 for an unknown route', async () => {
    const m = await raw(s.base, 'DELETE', '/api/requests');
    expect(m.status).toBe(405);
    expect(m.headers.allow).toBe('GET, HEAD');
    expect(JSON.parse(m.body).error.code).toBe('method_not_allowed');
    const bad = await raw(s.base, 'GET', '/api/requests/%E0%A4%A');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.code).toBe('invalid_query');
    expect((await raw(s.base, 'GET', '/api/nothing-here')).status).toBe(404);
  });

  it('refuses a cross-site write even on loopback, and sends no CORS headers unless configured', async () => {
    const evil = await raw(
      s.base,
      'POST',
      '/api/ingest',
      { 'content-type': 'application/json', origin: 'http://evil.example' },
      ingestBody('x-evil'),
    );
    expect(evil.status).toBe(403);
    expect(JSON.parse(evil.body).error.code).toBe('csrf_rejected');
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
    const viaFetchSite = await raw(
      s.base,
      'POST',
      '/api/ingest',
      { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site' },
      ingestBody('x-evil-2'),
    );
    expect(viaFetchSite.status).toBe(403);
    const host = new URL(s.base).host;
    const same = await raw(
      s.base,
      'POST',
      '/api/ingest',
      { 'content-type': 'application/json', origin: `http://${host}` },
      ingestBody('x-same'),
    );
    expect(same.status).toBe(202);
    // Without server.trustProxy, X-Forwarded-Host is not believed.
    const untrusted = await raw(
      s.base,
      'POST',
      '/api/ingest',
      { 'content-type': 'application/json', 'x-forwarded-host': 'evil.example', origin: 'http://evil.example' },
      ingestBody('x-evil-3'),
    );
    expect(untrusted.status).toBe(403);
    const pre = await raw(s.base, 'OPTIONS', '/api/requests', {
      origin: 'http://evil.example',
      'access-control-request-method': 'GET',
    });
    expect(pre.headers['access-control-allow-origin']).toBeUndefined();
    await s.app.ctx.recorder.flush();
    const none = await request(`${s.base}/api/requests/x-evil`);
    expect(none.statusCode).toBe(404);
    await none.body.dump();
  });
});

describe('sessions off loopback', () => {
  const TOKEN = 'session-test-token-7c1e';
  const METRICS = 'metrics-token-19af';
  let s: Stack;
  let base: string;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: {
        server: {
          host: '0.0.0.0',
          port: 0,
          adminToken: TOKEN,
          trustProxy: ['127.0.0.1'],
          corsOrigins: ['https://grafana.example.com'],
          metricsToken: METRICS,
          sessionTtl: '2s',
        },
      },
    });
    base = `http://127.0.0.1:${new URL(s.base).port}`;
  });
  afterAll(() => s.close());

  const login = (token: string, headers: Record<string, string> = {}) =>
    raw(
      base,
      'POST',
      '/login',
      { 'content-type': 'application/x-www-form-urlencoded', origin: base, ...headers },
      new URLSearchParams({ token, hash: '#/requests' }).toString(),
    );
  const cookiesOf = (r: Raw) => (r.headers['set-cookie'] ?? []) as string[];
  const jar = (r: Raw) =>
    cookiesOf(r)
      .map((c) => c.split(';')[0])
      .join('; ');
  const csrfOf = (r: Raw) => /llmscope_csrf=([^;]+)/.exec(cookiesOf(r).join('\n'))?.[1] as string;

  it('the login page posts the token in a body, and a token in the URL no longer signs in', async () => {
    const page = await raw(base, 'GET', '/');
    expect(page.status).toBe(401);
    expect(page.body).toContain('method="post" action="/login"');
    expect(page.body).not.toContain('method="get"');
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    const old = await raw(base, 'GET', `/?token=${TOKEN}`);
    expect(old.status).toBe(401);
    expect(old.headers['set-cookie']).toBeUndefined();
    const get = await raw(base, 'GET', '/login');
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('a wrong token gets the login page again; the right one a 303 with HttpOnly, SameSite=Strict cookies', async () => {
    const wrong = await login('not-the-token');
    expect(wrong.status).toBe(401);
    expect(wrong.body).toContain('not the admin token');
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const ok = await login(TOKEN);
    expect(ok.status).toBe(303);
    expect(ok.headers.location).toBe('/#/requests');
    const [session, csrf] = cookiesOf(ok);
    expect(session).toMatch(/^llmscope_session=v1\.[^;]+; Path=\/; Max-Age=2; SameSite=Strict; HttpOnly$/);
    expect(csrf).toMatch(/^llmscope_csrf=[\w-]+; Path=\/; Max-Age=2; SameSite=Strict$/);
    expect(cookiesOf(ok).join()).not.toContain(TOKEN);
    // Behind a trusted proxy that terminated TLS, the cookies are Secure.
    const tls = await login(TOKEN, { 'x-forwarded-proto': 'https' });
    for (const c of cookiesOf(tls)) expect(c).toMatch(/; Secure/);
  });

  it('a session reads /api, writes only with its CSRF token, and a cross-site login is refused', async () => {
    const ok = await login(TOKEN);
    const cookie = jar(ok);
    expect((await raw(base, 'GET', '/api/requests', { cookie })).status).toBe(200);
    const noToken = await raw(
      base,
      'POST',
      '/api/ingest',
      { cookie, 'content-type': 'application/json', origin: base },
      ingestBody('s-1'),
    );
    expect(noToken.status).toBe(403);
    expect(JSON.parse(noToken.body).error.message).toContain('x-llmscope-csrf');
    const wrongToken = await raw(
      base,
      'POST',
      '/api/ingest',
      { cookie, 'content-type': 'application/json', 'x-llmscope-csrf': 'forged' },
      ingestBody('s-2'),
    );
    expect(wrongToken.status).toBe(403);
    const withToken = await raw(
      base,
      'POST',
      '/api/ingest',
      { cookie, 'content-type': 'application/json', origin: base, 'x-llmscope-csrf': csrfOf(ok) },
      ingestBody('s-3'),
    );
    expect(withToken.status).toBe(202);
    // Bearer clients carry no ambient credential: no CSRF token needed.
    const bearer = await raw(
      base,
      'POST',
      '/api/ingest',
      { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ingestBody('s-4'),
    );
    expect(bearer.status).toBe(202);
    const evilLogin = await login(TOKEN, { origin: 'http://evil.example' });
    expect(evilLogin.status).toBe(403);
    expect(evilLogin.headers['set-cookie']).toBeUndefined();
    // A forged session (someone else's MAC) is nobody.
    const forged = cookie.replace(/llmscope_session=v1\.([0-9a-z]+)\./, 'llmscope_session=v1.zzzzzzzz.');
    expect((await raw(base, 'GET', '/api/requests', { cookie: forged })).status).toBe(401);
  });

  it('logout ends the session; sessions expire', async () => {
    const ok = await login(TOKEN);
    const cookie = jar(ok);
    const out = await raw(base, 'POST', '/logout', { cookie, origin: base });
    expect(out.status).toBe(303);
    for (const c of cookiesOf(out)) expect(c).toMatch(/=; Path=\/; Max-Age=0; SameSite=Strict/);
    expect((await raw(base, 'GET', '/api/requests', { cookie })).status).toBe(401);
    const later = jar(await login(TOKEN));
    expect((await raw(base, 'GET', '/api/requests', { cookie: later })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2100));
    expect((await raw(base, 'GET', '/api/requests', { cookie: later })).status).toBe(401);
  });

  it('checks Origin against the host the browser used: a proxy dropping the port, or X-Forwarded-Host from a trusted proxy', async () => {
    const post = (id: string, headers: Record<string, string>) =>
      raw(
        base,
        'POST',
        '/api/ingest',
        { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
        ingestBody(id),
      );
    expect((await post('h-1', { host: '127.0.0.1', origin: 'http://127.0.0.1:9999' })).status).toBe(202);
    expect((await post('h-2', { host: '127.0.0.1:1234', origin: 'http://127.0.0.1:9999' })).status).toBe(403);
    const fwd = {
      host: 'llmscope-internal:8080',
      'x-forwarded-host': 'llmscope.example.com',
      origin: 'https://llmscope.example.com',
    };
    expect((await post('h-3', fwd)).status).toBe(202);
    expect((await post('h-4', { ...fwd, origin: 'https://evil.example.com' })).status).toBe(403);
  });

  it('/metrics needs its token when one is configured', async () => {
    const no = await raw(base, 'GET', '/metrics');
    expect(no.status).toBe(401);
    expect(no.headers['www-authenticate']).toContain('Bearer');
    expect((await raw(base, 'GET', '/metrics', { authorization: 'Bearer wrong-token-x' })).status).toBe(401);
    const yes = await raw(base, 'GET', '/metrics', { authorization: `Bearer ${METRICS}` });
    expect(yes.status).toBe(200);
    expect(yes.body).toContain('llm_requests_total');
  });

  it('CORS headers only for configured origins, with bearer clients', async () => {
    const pre = await raw(base, 'OPTIONS', '/api/requests', {
      origin: 'https://grafana.example.com',
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'authorization',
    });
    expect(pre.status).toBe(204);
    expect(pre.headers['access-control-allow-origin']).toBe('https://grafana.example.com');
    expect(pre.headers['access-control-allow-headers']).toContain('authorization');
    expect(pre.headers['access-control-allow-credentials']).toBeUndefined();
    const got = await raw(base, 'GET', '/api/requests', {
      origin: 'https://grafana.example.com',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(got.status).toBe(200);
    expect(got.headers['access-control-allow-origin']).toBe('https://grafana.example.com');
    const other = await raw(base, 'GET', '/api/requests', {
      origin: 'https://other.example.com',
      authorization: `Bearer ${TOKEN}`,
    });
    expect(other.status).toBe(200);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });
});

describe('HTTPS with server.tls', () => {
  it('serves over TLS and marks the session cookie Secure without a proxy', async () => {
    const { cert, key } = selfSignedCert('llmscope-tls-');
    const TOKEN = 'tls-admin-token-55';
    const s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { server: { host: '0.0.0.0', port: 0, adminToken: TOKEN, tls: { cert, key } } },
    });
    try {
      expect(s.base).toMatch(/^https:\/\//);
      const port = Number(new URL(s.base).port);
      const r = await new Promise<{ status: number; cookies: string[] }>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: '127.0.0.1',
            port,
            method: 'POST',
            path: '/login',
            rejectUnauthorized: false,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          },
          (res) => {
            res.resume();
            resolve({ status: res.statusCode ?? 0, cookies: (res.headers['set-cookie'] ?? []) as string[] });
          },
        );
        req.on('error', reject);
        req.end(`token=${TOKEN}`);
      });
      expect(r.status).toBe(303);
      expect(r.cookies).toHaveLength(2);
      for (const c of r.cookies) expect(c).toMatch(/; Secure/);
    } finally {
      await s.close();
    }
  });

  it('an unreadable certificate is a config error naming the key', async () => {
    const config = configOf({
      server: { host: '127.0.0.1', port: 0, tls: { cert: '/nope/cert.pem', key: '/nope/key.pem' } },
      storage: { url: 'sqlite::memory:' },
      telemetry: { logLevel: 'silent' },
    });
    await expect(createApp(config)).rejects.toThrow(/server\.tls\.cert: cannot read \/nope\/cert\.pem/);
  });
});
