// Two llmscope replicas on one PostgreSQL, each `serve --workers 2` (four gateway processes, two recorders), as an
// operator scales out: a block budget with room for 10 admits 10 of 60 sent at once across all four workers; the
// built-in alert engine notifies once for the deployment; a key made through one replica works through the other's
// workers and its revocation there stops it on this one's; a silence made on one is listed by the other; a user
// erased through one is gone from the other's /api/requests; every call is stored once.
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSink, httpSink } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { killServe, type ServeRun, startServeWithConfig, until } from './helpers.js';

let pg: TestPostgres;
let url: string;
let sim: Simulator;
let hook: HttpSink;
const replicas: ServeRun[] = [];

const config = () => ({
  server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 2 },
  providers: [{ name: 'sim', baseUrl: sim.url }],
  storage: { url },
  telemetry: { logLevel: 'warn' },
  gpu: { collector: 'none' },
  pricing: { models: [{ model: 'capped-model', input: 0, output: 1 }] },
  budgets: [{ name: 'capped', scope: 'feature', match: 'capped', period: 'day', limit: 0.00016, action: 'block' }],
  alerts: {
    evaluationInterval: '1s',
    defaultRules: false,
    slos: [],
    rules: [
      {
        name: 'AnyTraffic',
        kind: 'error_rate',
        window: '5m',
        op: '>=',
        threshold: 0,
        minSamples: 5,
        for: '1s',
        severity: 'info',
        groupBy: [],
      },
    ],
    route: {
      receiver: 'hook',
      groupBy: ['alertname'],
      groupWait: '0s',
      groupInterval: '1s',
      repeatInterval: '1h',
      routes: [],
    },
    receivers: [{ name: 'hook', webhook: { url: `${hook.url}/hook` } }],
    inhibitRules: [],
  },
});

beforeAll(async () => {
  pg = await startPostgres();
  url = await pg.freshDatabaseUrl();
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 16 });
  hook = await httpSink();
  replicas.push(await startServeWithConfig({ prefix: 'llmscope-qa25-a-', config: config() }));
  replicas.push(await startServeWithConfig({ prefix: 'llmscope-qa25-b-', config: config() }));
}, 180_000);

afterAll(async () => {
  for (const r of replicas) killServe(r.proc);
  await Promise.all([sim?.close(), hook?.close()]);
  await pg?.stop();
});

const json = async (base: string, path: string, init: { method?: string; body?: unknown } = {}) => {
  const r = await request(`${base}${path}`, {
    method: (init.method ?? 'GET') as 'GET',
    headers: { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, body: text ? JSON.parse(text) : null };
};

async function statusOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof OpenAI.APIError) return err.status ?? 0;
    throw err;
  }
}

describe('two replicas × serve --workers 2 on one PostgreSQL', () => {
  it('a budget with room for 10 admits 10 of 60 sent at once across the four workers', async () => {
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => {
        const c = new OpenAI({
          baseURL: `${replicas[i % 2]?.base}/v1`,
          apiKey: 'sk-test',
          maxRetries: 0,
          defaultHeaders: { 'x-llmscope-feature': 'capped' },
        });
        return statusOf(
          c.chat.completions.create({
            model: 'capped-model',
            max_tokens: 16,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        );
      }),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(10);
    expect(results.filter((s) => s === 429)).toHaveLength(50);
    const a = replicas[0]?.base as string;
    const listed = await until(async () => {
      const r = await json(a, '/api/requests?feature=capped&limit=100');
      return r.body.data?.length === 60 ? r.body : null;
    }, 15_000);
    expect(listed.data.filter((c: { status: string }) => c.status === 'ok')).toHaveLength(10);
  }, 60_000);

  it('one alert notification for the deployment', async () => {
    await hook.waitFor(1, 20_000);
    await new Promise((r) => setTimeout(r, 4_000));
    expect(hook.received.filter((x) => JSON.stringify(x.body).includes('AnyTraffic'))).toHaveLength(1);
  }, 40_000);

  it('a silence made on A is listed by B; a user erased on A is gone from B', async () => {
    const [a, b] = replicas.map((r) => r.base) as [string, string];
    const s = await json(a, '/api/alerts/silences', {
      method: 'POST',
      body: { matchers: ['alertname="Nothing"'], duration: '1h', comment: 'qa25', created_by: 'qa25' },
    });
    expect(s.status).toBe(201);
    // Listed by B at once (before, B listed only the silences it had made or loaded when it last led: none).
    const onB = await json(b, '/api/alerts/silences');
    expect(onB.body.silences.map((x: { id: string }) => x.id)).toEqual([s.body.id]);
    // and expired through B (before: 404 no silence with that id)
    const expired = await json(b, `/api/alerts/silences/${s.body.id}`, { method: 'DELETE' });
    expect(expired.status).toBe(200);
    expect((await json(a, '/api/alerts/silences')).body.silences[0]).toMatchObject({
      id: s.body.id,
      status: 'expired',
    });
    const c = new OpenAI({ baseURL: `${b}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    for (let i = 0; i < 4; i++)
      await c.chat.completions.create({
        model: 'gpt-4o-mini',
        user: 'qa25-erase-me',
        messages: [{ role: 'user', content: 'x' }],
      });
    await until(async () => (await json(b, '/api/requests?user=qa25-erase-me')).body.data?.length === 4, 10_000);
    const e = await json(a, '/api/users/qa25-erase-me/data', { method: 'DELETE' });
    expect(e.status).toBe(200);
    expect(e.body.erased.calls).toBe(4);
    expect((await json(b, '/api/requests?user=qa25-erase-me')).body.data).toHaveLength(0);
    // and B's recorder forgets the user's series within its refresh (docs/privacy.md)
    await until(
      async () => !(await (await request(`${b}/metrics`)).body.text()).includes('user="qa25-erase-me"'),
      5_000,
      200,
    );
  }, 30_000);
  it('a key made on A works through B; revoked on B, A refuses it within a second', async () => {
    const [a, b] = replicas.map((r) => r.base) as [string, string];
    const made = await json(a, '/api/keys', { method: 'POST', body: { name: 'qa25' } });
    expect(made.status).toBe(201);
    const ask = (base: string) =>
      statusOf(
        new OpenAI({ baseURL: `${base}/v1`, apiKey: made.body.key, maxRetries: 0 }).chat.completions.create({
          model: 'gpt-4o-mini',
          messages: [{ role: 'user', content: 'hi' }],
        }),
      );
    const firstOnB = await until(async () => ((await ask(b)) === 200 ? Date.now() : null), 5_000, 50);
    expect(firstOnB).toBeGreaterThan(0);
    const r = await json(b, `/api/keys/${made.body.id}/revoke`, { method: 'POST' });
    expect(r.status).toBe(200);
    const t0 = Date.now();
    const refused = await Promise.all(
      Array.from({ length: 8 }, async () => {
        for (;;) {
          if ((await ask(a)) === 401) return Date.now() - t0;
          if (Date.now() - t0 > 5_000) return Number.POSITIVE_INFINITY;
          await new Promise((res) => setTimeout(res, 20));
        }
      }),
    );
    console.log(`revoked on B, refused on A's workers within ${Math.max(...refused)} ms`);
    expect(Math.max(...refused)).toBeLessThan(3_000);
  }, 30_000);
});
