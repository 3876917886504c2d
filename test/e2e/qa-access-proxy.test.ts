// Loopback trust is for callers on this machine. A reverse proxy on the same host (nginx, Caddy, Traefik in front of
// a loopback-bound llmscope for TLS) connects from 127.0.0.1 and, unless told to keep the client's Host, addresses
// llmscope as 127.0.0.1:PORT: without this check every visitor of the public site was the open admin. Such a
// proxy says whom it forwards (X-Forwarded-For, X-Real-IP, Forwarded): a request forwarded for an address that is
// not loopback gets 403, in the dashboard and /api; one forwarded for a local client, or not forwarded, is let in.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killServe, type ServeProcess, type Stack, startServeProcess, startStack } from './helpers.js';

describe('loopback trust behind a proxy on the same host', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
  });
  afterAll(() => s.close());

  const get = async (path: string, headers: Record<string, string>) => {
    const r = await request(`${s.base}${path}`, { headers });
    const text = await r.body.text();
    return { status: r.statusCode, text };
  };

  it('refuses /api and the dashboard to a request forwarded for a remote client', async () => {
    const forwarded: Record<string, string>[] = [
      { 'x-forwarded-for': '203.0.113.9' },
      { 'x-forwarded-for': '127.0.0.1, 203.0.113.9' },
      { 'x-real-ip': '198.51.100.4' },
      { forwarded: 'for=203.0.113.9;proto=https' },
      { forwarded: 'for="[2001:db8::1]:4711"' },
    ];
    for (const h of forwarded) {
      const api = await get('/api/me', h);
      expect(api.status, JSON.stringify(h)).toBe(403);
      expect(JSON.parse(api.text).error.code).toBe('host_not_allowed');
      expect(api.text).toContain('server.adminToken');
      expect((await get('/', h)).status, JSON.stringify(h)).toBe(403);
    }
  });

  it('lets in a request forwarded for a local client, and one not forwarded', async () => {
    const local: Record<string, string>[] = [
      {},
      { 'x-forwarded-for': '127.0.0.1' },
      { 'x-real-ip': '::1' },
      { forwarded: 'for="[::1]:5000"' },
    ];
    for (const h of local) {
      const api = await get('/api/me', h);
      expect(api.status, JSON.stringify(h)).toBe(200);
      expect(JSON.parse(api.text)).toMatchObject({ name: 'admin', via: 'open' });
    }
  });
});

// Under `serve --workers`, a worker relays /api and the dashboard to the recorder process with its own
// X-Forwarded-For; the client's forwarding headers must still reach the recorder's check.
describe('loopback trust behind a proxy on the same host, serve --workers 2', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-access-proxy-'));
    const file = join(dir, 'llmscope.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 2 },
        storage: { url: `sqlite:${join(dir, 'calls.db')}` },
        telemetry: { logLevel: 'warn' },
      }),
    );
    serve = await startServeProcess({}, ['-c', file]);
  }, 90_000);
  afterAll(() => killServe(serve?.proc));

  it('refuses a request forwarded for a remote client and lets in one that is not forwarded', async () => {
    const get = async (headers: Record<string, string>) => {
      const r = await request(`${serve.base}/api/me`, { headers });
      await r.body.text();
      return r.statusCode;
    };
    expect(await get({ 'x-forwarded-for': '203.0.113.9' })).toBe(403);
    expect(await get({ 'x-real-ip': '203.0.113.9' })).toBe(403);
    expect(await get({})).toBe(200);
    expect(await get({ 'x-forwarded-for': '127.0.0.1' })).toBe(200);
  });
});
