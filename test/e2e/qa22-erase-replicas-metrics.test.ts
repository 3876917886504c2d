// Erasing a user on one of several replicas on one PostgreSQL also takes their id off every other replica's /metrics.
// llm_user_cost_usd_total{user} is counted per replica, from the calls that replica recorded (a heavy-hitters sketch in
// memory); the erase forgot the user only in the replica that answered DELETE /api/users/{id}/data, so a replica that
// had recorded some of their calls went on exposing `user="<their id>"` and their spend until it restarted, although
// docs/privacy.md says the series goes. Now the erase is announced through the store (a hash of the id, never the id)
// and every replica forgets the user within its refresh interval (2 s), as a sign-out is shared.
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';
import { PostgresStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf, metricValue, parseMetrics, until } from './helpers.js';

const silent: DestinationStream = { write() {} };
const ERASED = 'qa22-erased-user';
const KEPT = 'qa22-kept-user';

async function startReplica(url: string): Promise<{ app: App; base: string }> {
  const app = await createApp(
    configOf({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9' }],
      storage: { url },
      gpu: { collector: 'none' },
      telemetry: { logLevel: 'warn' },
    }),
    { store: new PostgresStore(url), logDestination: silent, modules: builtinModules() },
  );
  return { app, base: await app.listen() };
}

const metrics = async (base: string): Promise<string> => {
  const r = await request(`${base}/metrics`);
  return r.body.text();
};
const names = (text: string, user: string) => text.includes(`llm_user_cost_usd_total{user="${user}"}`);

describe('an erase on one replica, /metrics on another (PostgreSQL)', () => {
  let pg: TestPostgres;
  let a: { app: App; base: string };
  let b: { app: App; base: string };
  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.freshSchemaUrl();
    a = await startReplica(url);
    b = await startReplica(url);
  }, 60_000);
  afterAll(async () => {
    await a?.app.close();
    await b?.app.close();
    await pg?.stop();
  });

  it('takes the user off every replica’s llm_user_cost_usd_total within its refresh interval', async () => {
    // Both users' calls reach replica b (a balancer's choice), which counts them on its /metrics.
    const now = Date.now();
    const calls = [ERASED, KEPT].map((user, i) => ({
      request_id: `qa22-erase-${i}`,
      started_at: new Date(now - 1000).toISOString(),
      ended_at: new Date(now).toISOString(),
      provider: 'openai',
      model: 'gpt-4o-mini',
      user,
      input_tokens: 100_000,
      output_tokens: 10_000,
    }));
    const ingest = await request(`${b.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(ingest.statusCode).toBe(202);
    await ingest.body.dump();
    await until(async () => (names(await metrics(b.base), ERASED) ? true : null), 20_000);
    // and the store holds them (what replica a reads)
    await until(async () => {
      const r = await request(`${a.base}/api/requests?user=${ERASED}`);
      return ((await r.body.json()) as { data: unknown[] }).data.length === 1 ? true : null;
    }, 20_000);

    // The erase is answered by replica a.
    const r = await request(`${a.base}/api/users/${ERASED}/data`, { method: 'DELETE' });
    expect(r.statusCode).toBe(200);
    expect(((await r.body.json()) as { erased: { calls: number } }).erased.calls).toBe(1);
    // within its refresh interval (2 s; 10 s allowed for a loaded machine)
    await until(async () => (names(await metrics(b.base), ERASED) ? null : true), 10_000);
    // The other user is still counted, and the erased user's spend moved into __other__ (counters only grow).
    const text = await metrics(b.base);
    expect(names(text, KEPT)).toBe(true);
    expect(metricValue(parseMetrics(text), 'llm_user_cost_usd_total', { user: '__other__' })).toBeGreaterThan(0);
    expect(names(await metrics(a.base), ERASED)).toBe(false);
  }, 60_000);
});
