// `llmscope serve --workers 4` as a real process tree: a recorder process (the primary) and four gateway workers
// sharing one port. Many OpenAI clients at once get exact totals in the store, /metrics and /api/cost; a budget with
// room for 10 calls admits 10 of 50 sent at once across the workers (one ledger); the alert engine notifies once (one
// evaluator); a worker SIGKILLed mid-load is replaced while the others keep serving, and what it had finished is
// stored; SIGTERM drains every worker and then the recorder, with every completed call stored.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { Agent, Pool, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type HttpSink, httpSink } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  childrenOf,
  killServe,
  metricValue,
  parseMetrics,
  until as pollUntil,
  type ServeRun,
  startServeWithConfig,
} from './helpers.js';

/** Polls every 100 ms. */
const until = <T>(f: () => Promise<T | null | undefined | false>, timeoutMs = 15_000) => pollUntil(f, timeoutMs, 100);

const WORKERS = 4;

describe('serve --workers 4', () => {
  let sim: Simulator;
  let slow: Simulator;
  let hook: HttpSink;
  let serve: ServeRun;
  let db: string;
  let sql: Database.Database;
  let exited: Promise<number | null>;

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 16 });
    slow = await startSimulator({ port: 0, ttftMs: 150, tpotMs: 10, outputTokens: 20 });
    hook = await httpSink();
    serve = await startServeWithConfig({
      prefix: 'llmscope-workers-',
      config: (dir) => ({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '10s', workers: WORKERS },
        providers: [
          { name: 'sim', baseUrl: sim.url },
          { name: 'slow', baseUrl: slow.url, models: ['slow-*'] },
        ],
        routes: [{ model: 'slow-*', provider: 'slow' }],
        storage: { url: `sqlite:${join(dir, 'calls.db')}` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
        // $1 per 1M output tokens, input free: a call with max_tokens 16 reserves exactly what it then costs
        // (16 output tokens), so the budget below holds exactly 10 calls whatever the timing.
        pricing: { models: [{ model: 'capped-model', input: 0, output: 1 }] },
        budgets: [
          { name: 'capped', scope: 'feature', match: 'capped', period: 'day', limit: 0.00016, action: 'block' },
        ],
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
              // One series for the whole deployment (not one per model), so one alert.
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
      }),
    });
    db = join(serve.dir, 'calls.db');
    exited = new Promise((resolve) => serve.proc.once('exit', (code) => resolve(code)));
    sql = new Database(db, { readonly: true, fileMustExist: true });
  }, 90_000);

  afterAll(async () => {
    sql?.close();
    killServe(serve?.proc);
    await Promise.all([sim?.close(), slow?.close(), hook?.close()]);
  });

  const metrics = async () => parseMetrics(await (await fetch(`${serve.base}/metrics`)).text());
  const stored = (where = '1=1', ...args: unknown[]) =>
    sql.prepare(`SELECT count(*) AS n FROM calls WHERE ${where}`).get(...args) as { n: number };

  it('runs one recorder process and four gateway workers on one port', async () => {
    expect(serve.stderr()).toContain(`with ${WORKERS} gateway workers`);
    await until(async () => childrenOf(serve.proc.pid as number).length === WORKERS);
    expect(metricValue(await metrics(), 'llmscope_workers')).toBe(WORKERS);
  });

  it('2,000 calls from 20 OpenAI clients: exact totals in the store, /metrics and /api/cost', async () => {
    const CLIENTS = 20;
    const PER = 100;
    let input = 0;
    let output = 0;
    const ids = new Set<string>();
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, c) => {
        const client = new OpenAI({
          baseURL: `${serve.base}/v1`,
          apiKey: 'sk-test',
          maxRetries: 0,
          defaultHeaders: { 'x-llmscope-user': `client-${c}`, 'x-llmscope-feature': 'load' },
        });
        for (let i = 0; i < PER; i++) {
          const messages = [{ role: 'user' as const, content: `client ${c} call ${i}: say something` }];
          if (i % 2 === 0) {
            const { data, response } = await client.chat.completions
              .create({ model: 'gpt-4o-mini', messages })
              .withResponse();
            input += data.usage?.prompt_tokens ?? Number.NaN;
            output += data.usage?.completion_tokens ?? Number.NaN;
            ids.add(response.headers.get('x-request-id') as string);
          } else {
            const { data: stream, response } = await client.chat.completions
              .create({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } })
              .withResponse();
            for await (const chunk of stream)
              if (chunk.usage) {
                input += chunk.usage.prompt_tokens;
                output += chunk.usage.completion_tokens;
              }
            ids.add(response.headers.get('x-request-id') as string);
          }
        }
      }),
    );
    const N = CLIENTS * PER;
    expect(ids.size).toBe(N);
    expect(output).toBe(N * 16);

    // The store: every call once, with the tokens the clients were told.
    await until(async () => stored("feature = 'load'").n === N);
    const row = sql
      .prepare(
        "SELECT count(*) AS n, count(DISTINCT request_id) AS ids, sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_usd) AS cost FROM calls WHERE feature = 'load'",
      )
      .get() as { n: number; ids: number; input: number; output: number; cost: number };
    expect(row).toMatchObject({ n: N, ids: N, input, output });
    const storedIds = new Set(
      (sql.prepare("SELECT request_id FROM calls WHERE feature = 'load'").all() as { request_id: string }[]).map(
        (r) => r.request_id,
      ),
    );
    expect([...ids].filter((id) => !storedIds.has(id))).toEqual([]);
    expect(row.cost).toBeGreaterThan(0);

    // /metrics: one answer for the whole fleet (the recorder's call metrics plus every worker's own).
    const m = await metrics();
    expect(metricValue(m, 'llm_requests_total', { model: 'gpt-4o-mini', status: 'ok' })).toBe(N);
    expect(metricValue(m, 'llm_tokens_total', { model: 'gpt-4o-mini', type: 'input' })).toBe(input);
    expect(metricValue(m, 'llm_tokens_total', { model: 'gpt-4o-mini', type: 'output' })).toBe(output);
    expect(metricValue(m, 'llm_cost_usd_total', { model: 'gpt-4o-mini' })).toBeCloseTo(row.cost, 9);
    expect(metricValue(m, 'llmscope_recorder_dropped_total')).toBe(0);
    // Histograms summed across the workers too: one observation per call, in +Inf and in _count.
    const hist = { model: 'gpt-4o-mini' };
    expect(metricValue(m, 'llm_request_duration_seconds_count', hist)).toBe(N);
    expect(metricValue(m, 'llm_request_duration_seconds_bucket', { ...hist, le: '+Inf' })).toBe(N);
    expect(metricValue(m, 'llm_request_duration_seconds_count', { ...hist, stream: 'true' })).toBe(N / 2);
    expect(metricValue(m, 'llm_time_to_first_token_seconds_count', hist)).toBe(N / 2);
    expect(metricValue(m, 'llmscope_gateway_overhead_seconds_count')).toBe(N);

    // /api/cost (spend aggregates, written by the recorder process's cost sink).
    const summary = await until(async () => {
      const r = (await (await fetch(`${serve.base}/api/cost/summary?group_by=feature`)).json()) as {
        groups: { key: string; requests: number; cost_usd: number; input_tokens: number; output_tokens: number }[];
      };
      const g = r.groups.find((x) => x.key === 'load');
      return g && g.requests === N ? g : null;
    });
    expect(summary).toMatchObject({ requests: N, input_tokens: input, output_tokens: output });
    expect(summary.cost_usd).toBeCloseTo(row.cost, 9);
  }, 120_000);

  it('a worker that cannot answer a scrape (SIGSTOP) counts in /metrics as it last reported, not as zero', async () => {
    // Every worker served some of the 2,000 calls above (node:cluster hands connections out in turn).
    const before = await metrics();
    const counted = metricValue(before, 'llm_requests_total');
    expect(counted).toBeGreaterThanOrEqual(2_000);
    const victim = childrenOf(serve.proc.pid as number)[2] as number;
    process.kill(victim, 'SIGSTOP');
    let during: Map<string, number> | null = null;
    try {
      // Each try on a new connection: the stopped worker may be the one node:cluster hands it to (it then hangs, and
      // the next connection goes to a worker that is not stopped).
      for (let i = 0; i < 4 && !during; i++) {
        const agent = new Agent({ connections: 1 });
        try {
          const r = await request(`${serve.base}/metrics`, { dispatcher: agent, signal: AbortSignal.timeout(8_000) });
          during = parseMetrics(await r.body.text());
        } catch {
          // this connection went to the stopped worker
        } finally {
          void agent.destroy().catch(() => {});
        }
      }
    } finally {
      process.kill(victim, 'SIGCONT');
    }
    if (!during) throw new Error('no answer from /metrics on four connections');
    // A counter that dips for one scrape reads to Prometheus as a reset, and rate() jumps by the whole count.
    for (const name of ['llm_requests_total', 'llm_tokens_total', 'llm_request_duration_seconds_count'])
      expect([name, metricValue(during, name)]).toEqual([name, metricValue(before, name)]);
    expect(metricValue(during, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(
      metricValue(before, 'process_cpu_seconds_total'),
    );
    expect(metricValue(await metrics(), 'llm_requests_total')).toBe(counted);
  }, 60_000);

  it('a budget with room for 10 calls admits 10 of 50 sent at once across the workers', async () => {
    const client = new OpenAI({
      baseURL: `${serve.base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-feature': 'capped' },
    });
    const results = await Promise.all(
      Array.from({ length: 50 }, () =>
        client.chat.completions
          .create({ model: 'capped-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => 200,
            (err: { status?: number }) => err.status ?? 0,
          ),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(10);
    expect(results.filter((s) => s === 429)).toHaveLength(40);
    await until(async () => stored("feature = 'capped'").n === 50);
    expect(stored("feature = 'capped' AND status = 'ok'").n).toBe(10);
    const m = await metrics();
    expect(metricValue(m, 'llmscope_budget_blocked_total', { budget: 'capped' })).toBe(40);
  }, 60_000);

  it('the alert engine runs once for the fleet: one notification', async () => {
    await hook.waitFor(1, 20_000);
    // Several more evaluation intervals: a second evaluator (one per worker) would have notified again by now.
    await new Promise((r) => setTimeout(r, 3_500));
    expect(hook.received.filter((x) => JSON.stringify(x.body).includes('AnyTraffic'))).toHaveLength(1);
  }, 40_000);

  it('a worker SIGKILLed mid-load is replaced; the others keep serving; what it had finished is stored', async () => {
    const primary = serve.proc.pid as number;
    const before = childrenOf(primary);
    expect(before).toHaveLength(WORKERS);
    // With a timeout: a connection that the primary was handing to the victim as it died (Node's cluster hands a new
    // connection to one worker at a time, and closes its own copy only once that worker says it took it) is neither
    // answered nor closed, so without one its call waited for ever and the test timed out (once in 3 runs at load 6).
    // That call is one on the killed worker's connections (failed, at most one per connection): any sent 500 ms after
    // the kill is still in failedAfter.
    const pool = new Pool(serve.base, { connections: 16, headersTimeout: 10_000, bodyTimeout: 10_000 });
    // When each call was sent and when its client had read the whole answer (Date.now(), this process).
    const done: { id: string; sentAt: number; at: number }[] = [];
    let failed = 0;
    let killedAt = 0;
    const failedAfter: number[] = [];
    const deadline = Date.now() + 4_000;
    const victim = before[0] as number;
    // The fleet's call count just before the kill: each worker counts its own calls, and a worker that dies must not
    // take its counts out of /metrics (a counter going down reads as a reset to Prometheus).
    let countedBeforeKill = 0;
    setTimeout(async () => {
      countedBeforeKill = metricValue(await metrics(), 'llm_requests_total');
      killedAt = Date.now();
      process.kill(victim, 'SIGKILL');
    }, 1_200);
    await Promise.all(
      Array.from({ length: 16 }, async (_, c) => {
        let i = 0;
        while (Date.now() < deadline) {
          const id = `kill-${c}-${i++}`;
          const startedAt = Date.now();
          try {
            const r = await pool.request({
              path: '/v1/chat/completions',
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-llmscope-feature': 'kill' },
              body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `kill ${c} ${i}` }] }),
            });
            await r.body.text();
            if (r.statusCode === 200) done.push({ id, sentAt: startedAt, at: Date.now() });
            else failed++;
          } catch {
            failed++;
            if (killedAt && startedAt > killedAt + 500) failedAfter.push(startedAt);
          }
        }
      }),
    );
    await pool.close();
    expect(killedAt).toBeGreaterThan(0);
    // Replaced: four workers again, one of them new.
    const after = await until(async () => {
      const now = childrenOf(primary);
      return now.length === WORKERS && !now.includes(victim) ? now : null;
    });
    expect(after.filter((p) => !before.includes(p))).toHaveLength(1);
    const m = await metrics();
    expect(metricValue(m, 'llmscope_worker_restarts_total')).toBe(1);
    // The fleet kept serving: only calls on the killed worker's connections failed, none started well after the kill.
    expect(failedAfter).toEqual([]);
    expect(failed).toBeLessThanOrEqual(16);
    expect(done.filter((d) => d.at > killedAt + 500).length).toBeGreaterThan(50);
    // What the killed worker had finished is lost only for its last few milliseconds (docs/deploy.md: 5 ms, more
    // while it waits for a CPU; 100 ms allowed here for a loaded host). So every call whose client had read the answer
    // more than 100 ms before the kill is in the store, and so is every call sent after the kill (a live worker
    // answered it). Not "every call read after the kill": the killed worker may have answered a call just before it
    // died, within its hand-off window, and the client (this process, its event loop busy with 16 clients) read that
    // answer only after the kill; such a call may be lost as documented.
    const sentAfter = done.filter((d) => d.sentAt > killedAt);
    expect(sentAfter.length).toBeGreaterThan(50);
    // /metrics kept what the killed worker had counted by the last scrape, and the live workers counted the rest.
    expect(countedBeforeKill).toBeGreaterThan(50);
    expect(metricValue(m, 'llm_requests_total')).toBeGreaterThanOrEqual(countedBeforeKill + sentAfter.length);
    // ...and counted nothing twice: every call counted since that scrape is one this test sent in this phase (a worker
    // counted twice, the killed one's retired counts and its last report, would add hundreds).
    expect(metricValue(m, 'llm_requests_total') - countedBeforeKill).toBeLessThanOrEqual(done.length + failed);
    const mustHave = done.filter((d) => d.at < killedAt - 100 || d.sentAt > killedAt);
    // Each call not (yet) stored, as id@sent..read in ms from the kill, so a failure says how far from the kill it was.
    const missing = (): string[] => {
      const have = new Set(
        (sql.prepare("SELECT request_id FROM calls WHERE feature = 'kill'").all() as { request_id: string }[]).map(
          (r) => r.request_id,
        ),
      );
      return mustHave.filter((d) => !have.has(d.id)).map((d) => `${d.id}@${d.sentAt - killedAt}..${d.at - killedAt}`);
    };
    await until(async () => missing().length === 0).catch(() => undefined);
    expect(missing()).toEqual([]);
    // Time for any late batch to land before checking nothing was stored twice.
    await new Promise((r) => setTimeout(r, 300));
    expect(stored("feature = 'kill'").n).toBeLessThanOrEqual(done.length + failed);
  }, 60_000);

  it('a worker drained with SIGTERM is replaced, and /metrics keeps every call it counted', async () => {
    const primary = serve.proc.pid as number;
    const before = await until(async () => {
      const now = childrenOf(primary);
      return now.length === WORKERS ? now : null;
    });
    const counted = metricValue(await metrics(), 'llm_requests_total');
    const pool = new Pool(serve.base, { connections: 8 });
    const N = 200;
    await Promise.all(
      Array.from({ length: N }, async (_, i) => {
        const r = await pool.request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-llmscope-feature': 'drain-one' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `one ${i}` }] }),
        });
        await r.body.text();
        expect(r.statusCode).toBe(200);
      }),
    );
    await pool.close();
    // Each worker counts the calls it served; the one stopped sends its last metrics as it drains.
    const victim = before[1] as number;
    process.kill(victim, 'SIGTERM');
    await until(async () => {
      const now = childrenOf(primary);
      return now.length === WORKERS && !now.includes(victim);
    });
    expect(metricValue(await metrics(), 'llm_requests_total')).toBe(counted + N);
    await until(async () => stored("feature = 'drain-one'").n === N);
  }, 60_000);

  it('SIGTERM drains every worker, then the recorder: streams in flight complete and every one is stored', async () => {
    const primary = serve.proc.pid as number;
    const workers = childrenOf(primary);
    const N = 24;
    const sentBefore = slow.stats.requests;
    const streams = Array.from({ length: N }, async (_, i) => {
      const r = await fetch(`${serve.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': `term-${i}`, 'x-llmscope-feature': 'term' },
        body: JSON.stringify({
          model: 'slow-model',
          messages: [{ role: 'user', content: `story ${i}` }],
          stream: true,
        }),
      });
      const text = await r.text();
      return { status: r.status, done: text.trimEnd().endsWith('data: [DONE]') };
    });
    // Every stream reached the upstream (so a worker has it in flight) before the signal: a fixed 200 ms is no proof
    // of that on a busy machine, and a stream not yet with a worker when the drain begins is refused.
    await until(async () => slow.stats.requests - sentBefore === N);
    serve.proc.kill('SIGTERM');
    const results = await Promise.all(streams);
    expect(await exited).toBe(0);
    for (const r of results) expect(r).toEqual({ status: 200, done: true });
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
    expect(stored("feature = 'term' AND status = 'ok'").n).toBe(N);
  }, 60_000);
});
