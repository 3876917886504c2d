// `llmscope serve --workers 3` on PostgreSQL (the built CLI as a real process tree): the recorder process is the one
// PostgreSQL client that writes calls, spend and rollups; many clients across the workers give exact totals in the
// table, /metrics and /api/cost; a budget with room for 10 calls admits 10 of 40 sent at once; SIGTERM drains every
// worker and every completed call is in PostgreSQL.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { metricValue, parseMetrics, until as pollUntil, type ServeProcess, startServeProcess } from './helpers.js';

let pg: TestPostgres;
let sim: Simulator;
let slow: Simulator;
let serve: ServeProcess;
let url: string;

beforeAll(async () => {
  pg = await startPostgres();
  url = await pg.freshDatabaseUrl();
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 16 });
  slow = await startSimulator({ port: 0, ttftMs: 100, tpotMs: 10, outputTokens: 20 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-pg-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '10s', workers: 3 },
      providers: [
        { name: 'sim', baseUrl: sim.url },
        { name: 'slow', baseUrl: slow.url, models: ['slow-*'] },
      ],
      routes: [{ model: 'slow-*', provider: 'slow' }],
      storage: { url },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
      pricing: { models: [{ model: 'capped-model', input: 0, output: 1 }] },
      budgets: [{ name: 'capped', scope: 'feature', match: 'capped', period: 'day', limit: 0.00016, action: 'block' }],
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 120_000);

afterAll(async () => {
  if (serve && serve.proc.exitCode === null && serve.proc.signalCode === null) {
    serve.proc.kill('SIGTERM');
    await new Promise((r) => serve.proc.once('exit', r));
  }
  await Promise.all([sim?.close(), slow?.close()]);
  await pg?.stop();
});

async function rows<T>(sql: string): Promise<T[]> {
  const { default: pgLib } = await import('pg');
  const c = new pgLib.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** Polls every 100 ms. */
const until = <T>(f: () => Promise<T | null | undefined | false>, timeoutMs = 20_000) => pollUntil(f, timeoutMs, 100);

describe('serve --workers 3 on PostgreSQL', () => {
  it('600 calls from 12 clients: exact totals in PostgreSQL, /metrics and /api/cost', async () => {
    let output = 0;
    await Promise.all(
      Array.from({ length: 12 }, async (_, c) => {
        const client = new OpenAI({
          baseURL: `${serve.base}/v1`,
          apiKey: 'sk-test',
          maxRetries: 0,
          defaultHeaders: { 'x-llmscope-feature': 'pg-load' },
        });
        for (let i = 0; i < 50; i++) {
          const messages = [{ role: 'user' as const, content: `client ${c} call ${i}` }];
          if (i % 2 === 0) {
            const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages });
            output += r.usage?.completion_tokens ?? Number.NaN;
          } else {
            const stream = await client.chat.completions.create({
              model: 'gpt-4o-mini',
              messages,
              stream: true,
              stream_options: { include_usage: true },
            });
            for await (const chunk of stream) if (chunk.usage) output += chunk.usage.completion_tokens;
          }
        }
      }),
    );
    expect(output).toBe(600 * 16);
    const row = await until(async () => {
      const [r] = await rows<{ n: string; ids: string; output: string }>(
        "SELECT count(*) AS n, count(DISTINCT request_id) AS ids, sum(output_tokens) AS output FROM calls WHERE feature = 'pg-load'",
      );
      return r && Number(r.n) === 600 ? r : null;
    });
    expect({ ids: Number(row.ids), output: Number(row.output) }).toEqual({ ids: 600, output });
    const m = parseMetrics(await (await fetch(`${serve.base}/metrics`)).text());
    expect(metricValue(m, 'llm_requests_total', { model: 'gpt-4o-mini' })).toBe(600);
    expect(metricValue(m, 'llm_tokens_total', { model: 'gpt-4o-mini', type: 'output' })).toBe(output);
    const group = await until(async () => {
      const r = (await (await fetch(`${serve.base}/api/cost/summary?group_by=feature`)).json()) as {
        groups: { key: string; requests: number; output_tokens: number }[];
      };
      const g = r.groups.find((x) => x.key === 'pg-load');
      return g && g.requests === 600 ? g : null;
    });
    expect(group.output_tokens).toBe(output);
  }, 120_000);

  it('a budget with room for 10 calls admits 10 of 40 sent at once across the workers', async () => {
    const client = new OpenAI({
      baseURL: `${serve.base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-feature': 'capped' },
    });
    const results = await Promise.all(
      Array.from({ length: 40 }, () =>
        client.chat.completions
          .create({ model: 'capped-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => 200,
            (err: { status?: number }) => err.status ?? 0,
          ),
      ),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(10);
    expect(results.filter((s) => s === 429)).toHaveLength(30);
  }, 60_000);

  it('SIGTERM drains every worker: streams in flight complete and are in PostgreSQL', async () => {
    const exited = new Promise<number | null>((r) => serve.proc.once('exit', (code) => r(code)));
    const N = 12;
    const sentBefore = slow.stats.requests;
    const streams = Array.from({ length: N }, async (_, i) => {
      const r = await fetch(`${serve.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-llmscope-feature': 'pg-term' },
        body: JSON.stringify({ model: 'slow-model', messages: [{ role: 'user', content: `s ${i}` }], stream: true }),
      });
      return (await r.text()).trimEnd().endsWith('data: [DONE]');
    });
    // Every stream reached the upstream (so a worker has it) before the signal.
    for (let i = 0; i < 400 && slow.stats.requests - sentBefore < N; i++) await new Promise((r) => setTimeout(r, 25));
    expect(slow.stats.requests - sentBefore).toBe(N);
    await new Promise((r) => setTimeout(r, 50));
    serve.proc.kill('SIGTERM');
    expect(await Promise.all(streams)).toEqual(Array(N).fill(true));
    expect(await exited).toBe(0);
    const [r] = await rows<{ n: string }>(
      "SELECT count(*) AS n FROM calls WHERE feature = 'pg-term' AND status = 'ok'",
    );
    expect(Number(r?.n)).toBe(N);
  }, 60_000);
});
