// Loopback trust: on a loopback bind without credentials, llmscope lets in only requests addressed to a loopback name
// (a page on another site that resolves to 127.0.0.1 — DNS rebinding — gets 403), and a token that is sent and wrong
// gets 401 there instead of the open admin (docs/security.md).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/server.js';
import { configOf, type Stack, startStack } from './helpers.js';

type Reply = Record<string, unknown> & { error: { type: string; code: string; message: string } };

const EVIL = 'rebind.attacker.example';
const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });

describe('loopback trust', () => {
  let s: Stack;
  let port: string;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', adminToken: 'loopback-admin-token-1' } },
    });
    port = new URL(s.base).port;
  });
  afterAll(() => s.close());

  const call = async (method: string, path: string, headers: Record<string, string>, body?: string) => {
    const r = await request(`${s.base}${path}`, {
      method: method as 'GET',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    const text = await r.body.text();
    return { status: r.statusCode, body: text ? (JSON.parse(text) as Reply) : null, headers: r.headers };
  };

  it('a request trusted for coming over loopback needs a loopback Host: /api, pages, /v1/traces and the gateway', async () => {
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`, `[::1]:${port}`]) {
      const me = await call('GET', '/api/me', { host });
      expect(me.status, host).toBe(200);
      expect(me.body).toMatchObject({ name: 'admin', via: 'open' });
    }
    const before = s.calls.length;
    for (const [method, path, body] of [
      ['GET', '/api/me'],
      ['GET', '/api/requests'],
      ['DELETE', '/api/users/alice/data'],
      ['GET', '/'],
      ['POST', '/v1/traces', '{}'],
      ['POST', '/v1/chat/completions', CHAT],
      ['GET', '/v1/models'],
    ] as const) {
      const r = await call(method, path, { host: `${EVIL}:${port}`, origin: `http://${EVIL}:${port}` }, body);
      expect(r.status, `${method} ${path}`).toBe(403);
      if (path === '/v1/traces') {
        // OTLP answers a google.rpc.Status (7: PERMISSION_DENIED), as its spec requires.
        expect(r.body).toMatchObject({ code: 7, message: expect.stringContaining(EVIL) });
        continue;
      }
      expect(r.body?.error).toMatchObject({ type: 'permission_error', code: 'host_not_allowed' });
      expect(r.body?.error.message).toContain(EVIL);
    }
    expect(s.calls.length).toBe(before);
    // The same gateway call addressed to loopback goes through.
    const ok = await call('POST', '/v1/chat/completions', { host: `localhost:${port}` }, CHAT);
    expect(ok.status).toBe(200);
  });

  it('a valid token works whatever the Host', async () => {
    const r = await call('GET', '/api/me', { host: `${EVIL}:${port}`, authorization: 'Bearer loopback-admin-token-1' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: 'admin', via: 'bearer' });
  });

  it('a wrong bearer or session cookie gets 401 on loopback, never the open admin', async () => {
    const local = { host: `127.0.0.1:${port}` };
    const wrong = await call('GET', '/api/me', { ...local, authorization: 'Bearer loopback-admin-token-2' });
    expect(wrong.status).toBe(401);
    expect(wrong.body?.error).toMatchObject({ type: 'authentication_error', code: 'unauthorized' });
    expect(wrong.headers['www-authenticate']).toMatch(/invalid_token/);
    const del = await call('DELETE', '/api/users/alice/data', { ...local, authorization: 'Bearer typo' });
    expect(del.status).toBe(401);
    const cookie = await call('GET', '/api/me', { ...local, cookie: 'llmscope_session=v1.zzzzzzzz.abc.forged' });
    expect(cookie.status).toBe(401);
    expect(cookie.body?.error.message).toMatch(/session cookie/);
  });

  it('the primary of serve --workers judges the Host its workers relay (X-Forwarded-Host), not its own', async () => {
    const primary: App = await createApp(
      configOf({ server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' }, storage: { url: 'sqlite::memory:' } }),
      {
        listenOn: { host: '127.0.0.1', port: 0, plain: true },
        internalToken: 'fleet-token',
        logDestination: { write() {} },
      },
    );
    try {
      const base = await primary.listen();
      const relayed = async (clientHost: string) => {
        const r = await request(`${base}/api/me`, {
          headers: { 'x-llmscope-internal': 'fleet-token', 'x-forwarded-host': clientHost },
        });
        await r.body.dump();
        return r.statusCode;
      };
      expect(await relayed('localhost:8080')).toBe(200);
      expect(await relayed(`${EVIL}:8080`)).toBe(403);
    } finally {
      await primary.close();
    }
  });
});
