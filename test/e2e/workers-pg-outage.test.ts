// `llmscope serve --workers 2` on PostgreSQL with a budget, as an operator runs it, while the database is restarted
// under load (stopped for 8 s, then started again): the workers keep serving every call (the recorder, the one
// PostgreSQL client, holds the calls it cannot write and writes them once the database is back), no worker is
// restarted, /healthz stays 200 while /readyz says the store is unreachable, and every call a client saw answered is
// stored exactly once.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { killServe, metricValue, parseMetrics, type ServeProcess, startServeProcess, until } from './helpers.js';

let pg: TestPostgres;
let sim: Simulator;
let serve: ServeProcess;
let url: string;
let dir: string;

beforeAll(async () => {
  pg = await startPostgres();
  url = await pg.freshDatabaseUrl();
  sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: 8 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-pg-outage-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
      // A budget far from its limit: every call is admitted and settled on the recorder's ledger.
      budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 100, action: 'block' }],
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 120_000);

afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function get(path: string): Promise<{ status: number; body: string }> {
  const agent = new Agent({ connections: 1 });
  try {
    const r = await request(`${serve.base}${path}`, { dispatcher: agent, signal: AbortSignal.timeout(10_000) });
    return { status: r.statusCode, body: await r.body.text() };
  } finally {
    void agent.destroy().catch(() => {});
  }
}

describe('serve --workers 2 on PostgreSQL restarted under load', () => {
  it('serves every call through the outage and stores each one once when the database is back', async () => {
    const ok = new Set<string>();
    const failed: string[] = [];
    let stop = false;
    let n = 0;
    const client = async (): Promise<void> => {
      // a connection per client, so node:cluster spreads them over both workers
      const agent = new Agent({ connections: 1 });
      while (!stop) {
        const id = `pg-outage-${n++}`;
        try {
          const r = await request(`${serve.base}/v1/chat/completions`, {
            dispatcher: agent,
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-llmscope-user': `u${n % 20}` },
            body: JSON.stringify({
              model: 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'hi' }],
              stream: n % 2 === 0,
            }),
            signal: AbortSignal.timeout(20_000),
          });
          const text = await r.body.text();
          if (r.statusCode === 200) ok.add(id);
          else failed.push(`${id}: ${r.statusCode} ${text.slice(0, 200)}`);
        } catch (err) {
          failed.push(`${id}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      await agent.close();
    };
    const clients = Array.from({ length: 6 }, client);
    await new Promise((r) => setTimeout(r, 1_500));
    await pg.pause();
    const before = ok.size;
    await new Promise((r) => setTimeout(r, 3_000));
    // The store is down: not ready (a balancer with another replica sends calls there), but alive.
    const ready = await get('/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.parse(ready.body)).toMatchObject({ store: 'unreachable', workers: { configured: 2, serving: 2 } });
    expect((await get('/healthz')).status).toBe(200);
    // What the dashboard reads meanwhile: 503 store_unavailable, to try again (before: 500 internal_error, and an
    // error line with a stack per request)
    for (const path of ['/api/requests?limit=1', '/api/cost/summary']) {
      const r = await get(path);
      expect(r.status).toBe(503);
      expect(JSON.parse(r.body).error.code).toBe('store_unavailable');
    }
    await new Promise((r) => setTimeout(r, 5_000));
    const servedWhileDown = ok.size - before;
    await pg.resume();
    await new Promise((r) => setTimeout(r, 1_500));
    stop = true;
    await Promise.all(clients);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(servedWhileDown).toBeGreaterThan(50);

    const { default: pgLib } = await import('pg');
    const query = async <R extends Record<string, unknown>>(sql: string): Promise<R[]> => {
      const c = new pgLib.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql)).rows as R[];
      } finally {
        await c.end();
      }
    };
    const count = async () =>
      new Map(
        (
          await query<{ request_id: string; n: string }>(
            "SELECT request_id, count(*) AS n FROM calls WHERE request_id LIKE 'pg-outage-%' GROUP BY request_id",
          )
        ).map((x) => [x.request_id, Number(x.n)]),
      );
    const stored = await until(
      async () => {
        const s = await count();
        return s.size >= ok.size ? s : null;
      },
      30_000,
      250,
    );
    expect([...stored.values()].every((c) => c === 1)).toBe(true);
    expect([...ok].filter((id) => !stored.has(id))).toEqual([]);
    const m = parseMetrics((await get('/metrics')).body);
    expect(metricValue(m, 'llmscope_recorder_dropped_total', { sink: 'store' })).toBe(0);
    expect(metricValue(m, 'llmscope_worker_restarts_total')).toBe(0);
    expect((await get('/readyz')).status).toBe(200);
    // The budget's spend is every stored call's cost (the calls admitted while the ledger was down included, added
    // once it was back), and no reservation is left held.
    const spend = await until(
      async () => {
        const [calls] = await query<{ usd: number }>('SELECT sum(cost_usd)::float8 AS usd FROM calls');
        const [ledger] = await query<{ usd: number; reserved: number; in_flight: number }>(
          "SELECT sum(spent)::float8 AS usd, sum(reserved)::float8 AS reserved, sum(in_flight)::int AS in_flight FROM budget_buckets WHERE budget = 'per-user'",
        );
        return calls && ledger && Math.abs(calls.usd - ledger.usd) < 1e-9 * calls.usd ? { calls, ledger } : null;
      },
      30_000,
      500,
    );
    expect(spend.calls.usd).toBeGreaterThan(0);
    expect(spend.ledger).toMatchObject({ reserved: 0, in_flight: 0 });
    expect(metricValue(m, 'llmscope_budget_ledger_failures_total', { op: 'reserve' })).toBeGreaterThan(0);
    expect(metricValue(m, 'llmscope_budget_ledger_failures_total', { op: 'settle' })).toBe(0);
    expect(serve.stdout.join('')).toContain('"event":"store_unavailable"');
    expect(serve.stdout.join('')).not.toContain('"event":"http_error"');
    // What a user reads at /api/cost: the spend of every stored call, those served while the database was down
    // included. Before, the cost lane dropped each batch it could not write (llmscope_recorder_dropped_total{sink=
    // "cost"} about 900 of 1,300 calls: /api/cost/summary said a third of what the calls cost). Now a batch is
    // written again once the database is back; only one whose COMMIT the connection was lost in (it may have been
    // applied) is given up, and counted, rather than risk adding it twice.
    const costed = await until(
      async () => {
        const s = JSON.parse((await get('/api/cost/summary')).body) as { total: { requests: number } };
        const dropped = metricValue(parseMetrics((await get('/metrics')).body), 'llmscope_recorder_dropped_total', {
          sink: 'cost',
        });
        return s.total.requests + dropped >= stored.size ? { requests: s.total.requests, dropped } : null;
      },
      30_000,
      500,
    );
    expect(costed.requests + costed.dropped).toBe(stored.size);
    expect(costed.dropped).toBeLessThanOrEqual(64);
    if (costed.dropped === 0) {
      const s = JSON.parse((await get('/api/cost/summary')).body) as { total: { cost_usd: number } };
      expect(s.total.cost_usd).toBeCloseTo(spend.calls.usd, 9);
    }
    // And at /api/quality: every stored call's answer counted once (before, the quality lane dropped what it could not
    // write as the cost lane did).
    const rated = await until(
      async () => {
        const q = JSON.parse((await get('/api/quality/summary')).body) as { total: { responses: number } };
        const dropped = metricValue(parseMetrics((await get('/metrics')).body), 'llmscope_recorder_dropped_total', {
          sink: 'quality',
        });
        return q.total.responses + dropped >= stored.size ? { responses: q.total.responses, dropped } : null;
      },
      30_000,
      500,
    );
    expect(rated.responses + rated.dropped).toBe(stored.size);
    expect(rated.dropped).toBeLessThanOrEqual(64);
    console.log(
      `workers on PostgreSQL outage: ${ok.size} calls served (${servedWhileDown} while it was down), ${stored.size} stored, ${costed.requests} in /api/cost (${costed.dropped} given up), ${rated.responses} in /api/quality (${rated.dropped} given up)`,
    );
  }, 120_000);
});
