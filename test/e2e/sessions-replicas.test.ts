// Signing out across replicas: two llmscope replicas on one PostgreSQL accept the same dashboard session (sessions
// are signed, not stored); a sign-out on one is refused by the other within its refresh interval (2 s), because the
// revoked session id is kept in the store (auth_revoked_sessions), not only in the replica that signed it out.
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, createApp } from '../../src/server.js';
import { PostgresStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf } from './helpers.js';

const silent: DestinationStream = { write() {} };
const TOKEN = 'replica-admin-token-0123';

async function startReplica(url: string): Promise<{ app: App; base: string }> {
  const app = await createApp(
    configOf({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s', adminToken: TOKEN },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9' }],
      storage: { url },
      telemetry: { logLevel: 'warn' },
    }),
    { store: new PostgresStore(url), logDestination: silent },
  );
  return { app, base: await app.listen() };
}

describe('sign-out across replicas on one PostgreSQL', () => {
  let pg: TestPostgres;
  let a: { app: App; base: string };
  let b: { app: App; base: string };
  let url: string;
  beforeAll(async () => {
    pg = await startPostgres();
    url = await pg.freshSchemaUrl();
    a = await startReplica(url);
    b = await startReplica(url);
  }, 60_000);
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await pg?.stop();
  });

  const signIn = async (base: string): Promise<string> => {
    const r = await request(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base },
      body: `token=${TOKEN}`,
    });
    expect(r.statusCode).toBe(303);
    await r.body.dump();
    const set = r.headers['set-cookie'] as string[];
    return set.map((c) => c.split(';')[0]).join('; ');
  };
  const me = async (base: string, cookie: string) => {
    const r = await request(`${base}/api/me`, { headers: { cookie } });
    await r.body.dump();
    return r.statusCode;
  };

  it('a session signed out on one replica is refused by the other within its refresh interval', async () => {
    const cookie = await signIn(a.base);
    const other = await signIn(b.base);
    expect(await me(a.base, cookie)).toBe(200);
    expect(await me(b.base, cookie)).toBe(200);

    const out = await request(`${a.base}/logout`, { method: 'POST', headers: { cookie, origin: a.base } });
    expect(out.statusCode).toBe(303);
    await out.body.dump();
    expect(await me(a.base, cookie)).toBe(401);
    const t0 = Date.now();
    while ((await me(b.base, cookie)) !== 401) {
      expect(Date.now() - t0).toBeLessThan(3000);
      await new Promise((r) => setTimeout(r, 50));
    }
    // Another session is not affected.
    expect(await me(a.base, other)).toBe(200);
    expect(await me(b.base, other)).toBe(200);
  }, 30_000);

  it('a replica started after the sign-out refuses the session from the start', async () => {
    const cookie = await signIn(a.base);
    const out = await request(`${a.base}/logout`, { method: 'POST', headers: { cookie, origin: a.base } });
    await out.body.dump();
    const c = await startReplica(url);
    try {
      expect(await me(c.base, cookie)).toBe(401);
    } finally {
      await c.app.close();
    }
  }, 30_000);
});
