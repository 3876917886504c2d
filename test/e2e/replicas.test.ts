// Two llmscope replicas on one PostgreSQL, behind a round-robin balancer in the test, the simulator upstream: calls
// spread over both; each replica's /api/stats/summary, /api/cost/summary and /api/requests, and the rollups, count
// every call sent exactly once; feedback given through one replica on a call the other served shows on both (the
// quality store is shared); and a block budget shared through the database holds against 2 × 25 concurrent calls.
// Each replica is assembled as `llmscope serve` assembles it (the built-in modules and hooks): the cost module and
// the budget hooks pick the PostgreSQL ledger and spend store themselves.
import OpenAI from 'openai';
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { builtinModules } from '../../src/cli/modules.js';
import type { ConfigInput } from '../../src/config/index.js';
import { estimateInputTokens } from '../../src/cost/budgets.js';
import { type CostModule, costOf, PostgresBudgetLedger } from '../../src/cost/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { PostgresStore } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { configOf } from './helpers.js';

const silent: DestinationStream = { write() {} };

interface Replica {
  app: App;
  base: string;
  store: PostgresStore;
  ledger: PostgresBudgetLedger;
  calls: LlmCall[];
}

/** One llmscope replica on the shared database, with the built-in modules and hooks, as `serve` runs them. */
async function startReplica(url: string, sim: Simulator, extra: Partial<ConfigInput> = {}): Promise<Replica> {
  const cfg = configOf({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'openai', baseUrl: sim.url }],
    storage: { url },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
    ...extra,
  } as ConfigInput);
  const store = new PostgresStore(url);
  const calls: LlmCall[] = [];
  const capture: Sink = { name: 'test-capture', write: (b) => void calls.push(...b) };
  const app = await createApp(cfg, {
    store,
    modules: builtinModules(),
    logDestination: silent,
    sinks: [capture],
  });
  const base = await app.listen();
  // the cost module chose the shared ledger itself
  const ledger = (app.modules.find((m) => m.name === 'cost') as CostModule).runtime.ledger;
  expect(ledger).toBeInstanceOf(PostgresBudgetLedger);
  return { app, base, store, ledger: ledger as PostgresBudgetLedger, calls };
}

async function getJson(url: string): Promise<Record<string, unknown>> {
  const r = await request(url);
  expect(r.statusCode).toBe(200);
  return (await r.body.json()) as Record<string, unknown>;
}

/** Waits until the replicas recorded `n` calls between them and every sink (store, cost) has written them. */
async function settle(replicas: Replica[], n: number): Promise<LlmCall[]> {
  const deadline = Date.now() + 15_000;
  const total = () => replicas.reduce((a, r) => a + r.calls.length, 0);
  while (total() < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  for (const r of replicas) await r.app.ctx.recorder.flush();
  if (total() < n) throw new Error(`only ${total()} of ${n} calls recorded`);
  return replicas.flatMap((r) => r.calls);
}

let pg: TestPostgres;
let sim: Simulator;
beforeAll(async () => {
  pg = await startPostgres();
  sim = await startSimulator({ port: 0, seed: 8, ttftMs: 5, tpotMs: 1, outputTokens: 12 });
});
afterAll(async () => {
  await sim?.close();
  await pg?.stop();
});

describe('two replicas on one PostgreSQL', () => {
  const replicas: Replica[] = [];
  beforeAll(async () => {
    const url = await pg.freshDatabaseUrl();
    // started together, as an orchestrator would: both migrate the same empty database at once
    replicas.push(...(await Promise.all([startReplica(url, sim), startReplica(url, sim)])));
  });
  afterAll(async () => {
    for (const r of replicas) await r.app.close();
  });

  it('count every call once, whichever replica served it: stats, rollups, cost and the request list agree', async () => {
    const t0 = Date.now();
    const clients = replicas.map(
      (r) => new OpenAI({ baseURL: `${r.base}/v1`, apiKey: 'sk-test-not-a-real-key', maxRetries: 0 }),
    );
    let next = 0;
    const roundRobin = () => clients[next++ % clients.length] as OpenAI;
    const N = 60;
    const models = ['gpt-4o-mini', 'gpt-4o', 'claude-sonnet-4'];
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const c = roundRobin();
        const body = {
          model: models[i % 3] as string,
          messages: [{ role: 'user' as const, content: `question ${i}: ${'word '.repeat(i % 17)}` }],
        };
        const headers = { 'x-llmscope-user': `user-${i % 5}`, 'x-llmscope-team': i % 2 ? 'search' : 'ads' };
        if (i % 2 === 0) {
          const stream = await c.chat.completions.create({ ...body, stream: true }, { headers });
          for await (const _ of stream);
        } else await c.chat.completions.create(body, { headers });
      }),
    );
    const calls = await settle(replicas, N);
    expect(calls).toHaveLength(N);
    // the balancer spread them
    expect(replicas.map((r) => r.calls.length)).toEqual([N / 2, N / 2]);
    expect(calls.every((c) => c.status === 'ok')).toBe(true);
    const input = calls.reduce((a, c) => a + (c.inputTokens ?? 0), 0);
    const output = calls.reduce((a, c) => a + (c.outputTokens ?? 0), 0);
    const cost = calls.reduce((a, c) => a + (c.costUsd ?? 0), 0);
    expect(cost).toBeGreaterThan(0);
    const range = `from=${t0 - 120_000}&to=${Date.now() + 120_000}`;

    for (const r of replicas) {
      // each replica answers for both: the figures live in the shared database
      const stats = await getJson(`${r.base}/api/stats/summary?${range}`);
      expect(stats).toMatchObject({ requests: N, errors: 0, input_tokens: input, output_tokens: output });
      expect(stats.cost_usd).toBeCloseTo(cost, 6);
      const costSummary = (await getJson(`${r.base}/api/cost/summary?${range}`)) as {
        total: { requests: number; cost_usd: number; input_tokens: number; output_tokens: number };
      };
      expect(costSummary.total).toMatchObject({ requests: N, input_tokens: input, output_tokens: output });
      expect(costSummary.total.cost_usd).toBeCloseTo(cost, 6);
      const ids = new Set<string>();
      let cursor = '';
      for (;;) {
        const page = (await getJson(`${r.base}/api/requests?limit=25${cursor ? `&cursor=${cursor}` : ''}`)) as {
          data: { request_id: string }[];
          next_cursor: string | null;
        };
        for (const it of page.data) ids.add(it.request_id);
        if (!page.next_cursor) break;
        cursor = encodeURIComponent(page.next_cursor);
      }
      expect(ids).toEqual(new Set(calls.map((c) => c.requestId)));
    }
    for (const step of ['minute', 'hour'] as const) {
      const points = await (replicas[0] as Replica).store.queryRollups({
        from: t0 - 3_600_000,
        to: Date.now() + 3_600_000,
        step,
        groupBy: ['model'],
      });
      expect(points.reduce((a, p) => a + p.requests, 0)).toBe(N);
      for (const m of models)
        expect(points.filter((p) => p.group.model === m).reduce((a, p) => a + p.requests, 0)).toBe(N / 3);
    }
  });

  it('share quality: a thumbs-down given through A on a call B served shows in both summaries and call details', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const t0 = Date.now();
    const before = b.calls.length;
    const total = replicas.reduce((n, r) => n + r.calls.length, 0);
    const client = new OpenAI({ baseURL: `${b.base}/v1`, apiKey: 'sk-test-not-a-real-key', maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'rate me' }] });
    const all = await settle(replicas, total + 1);
    const call = b.calls[before] as LlmCall;
    expect(call.status).toBe('ok');
    expect(a.calls.some((c) => c.requestId === call.requestId)).toBe(false);

    const post = async (r: Replica) => {
      const res = await request(`${r.base}/api/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: call.requestId, rating: 'down', comment: 'wrong', source: 'app' }),
      });
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> };
    };
    const first = await post(a);
    expect(first).toMatchObject({ status: 201, body: { created: true, rating: 'down' } });
    // the same feedback again, through the other replica: the one row already there is updated, not added
    expect(await post(b)).toMatchObject({ status: 200, body: { created: false } });

    const range = `from=${t0 - 3_600_000}&to=${Date.now() + 120_000}`;
    for (const r of replicas) {
      const summary = (await getJson(`${r.base}/api/quality/summary?${range}`)) as {
        total: { responses: number; feedback: { up: number; down: number } };
      };
      expect(summary.total.feedback).toMatchObject({ up: 0, down: 1 });
      // every call either replica served is counted once, wherever the summary is asked
      expect(summary.total.responses).toBe(all.filter((c) => c.status === 'ok').length);
      const detail = (await getJson(`${r.base}/api/requests/${call.requestId}`)) as {
        feedback: { rating: string; comment: string; source: string }[];
      };
      expect(detail.feedback).toEqual([expect.objectContaining({ rating: 'down', comment: 'wrong', source: 'app' })]);
      const review = (await getJson(`${r.base}/api/quality/review?reason=thumbs_down`)) as {
        data: { request_id: string; rating: string }[];
      };
      expect(review.data).toEqual([expect.objectContaining({ request_id: call.requestId, rating: 'down' })]);
    }
  });
});

describe('a block budget shared by two replicas', () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 20 };
  const estimate = costOf(
    { input: estimateInputTokens(body, 'chat.completions'), cachedInput: 0, output: 20 },
    { input: 0.15, cachedInput: 0.075, output: 0.6, cacheWrite: null },
  );
  const replicas: Replica[] = [];
  let slow: Simulator;
  beforeAll(async () => {
    // calls last 150 ms, so all 50 are admitted while the first ones are still in flight
    slow = await startSimulator({ port: 0, seed: 9, ttftMs: 150, tpotMs: 1, outputTokens: 20 });
    const url = await pg.freshDatabaseUrl();
    const budgets = [
      { name: 'team-search-daily', scope: 'team', match: 'search', period: 'day', limit: estimate * 10 },
    ] as ConfigInput['budgets'];
    for (let i = 0; i < 2; i++) replicas.push(await startReplica(url, slow, { budgets }));
  });
  afterAll(async () => {
    for (const r of replicas) await r.app.close();
    await slow?.close();
  });

  it('holds against 2 replicas × 25 concurrent calls with room for 10', async () => {
    const results = await Promise.allSettled(
      replicas.flatMap((r) => {
        const c = new OpenAI({
          baseURL: `${r.base}/v1`,
          apiKey: 'sk-test-not-a-real-key',
          maxRetries: 0,
          defaultHeaders: { 'x-llmscope-team': 'search' },
        });
        return Array.from({ length: 25 }, () => c.chat.completions.create(body));
      }),
    );
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const e of refused) {
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect(e.status).toBe(429);
      expect(e.code).toBe('budget_exceeded');
    }
    const calls = await settle(replicas, 50);
    const spent = calls.reduce((a, x) => a + (x.costUsd ?? 0), 0);
    expect(spent).toBeLessThanOrEqual(estimate * 10 + 1e-15);
    // settling is asynchronous to the response: wait until every reservation is released
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const st = (await (replicas[0] as Replica).ledger.buckets())[0];
      if (st && st.inFlight === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const r of replicas) {
      const b = (await getJson(`${r.base}/api/cost/budgets`)) as {
        budgets: { buckets: { spent_usd: number; reserved_usd: number; in_flight: number }[] }[];
      };
      const bucket = b.budgets[0]?.buckets[0];
      expect(bucket).toMatchObject({ reserved_usd: 0, in_flight: 0 });
      expect(bucket?.spent_usd).toBeCloseTo(spent, 12);
    }
    // and both report the same spend: the aggregates are the database's, not each replica's
    const range = `from=${Date.now() - 600_000}&to=${Date.now() + 600_000}`;
    const summaries = await Promise.all(
      replicas.map(
        async (r) =>
          (await getJson(`${r.base}/api/cost/summary?${range}`)) as { total: { requests: number; cost_usd: number } },
      ),
    );
    for (const sum of summaries) {
      expect(sum.total.requests).toBe(calls.length);
      expect(sum.total.cost_usd).toBeCloseTo(spent, 12);
    }
  });
});
