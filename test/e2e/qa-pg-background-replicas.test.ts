// Background Responses behind a balancer: two `llmscope serve` replicas on one PostgreSQL (the built CLI), the official
// `openai` client creating a background response through one replica and polling it to completion through the other
// (as round-robin balancing does). The replica that relayed the `queued` answer holds the call; the other leaves the
// finished answer in the database and the holder records the call finished: once, with the response's usage and
// cost, seen the same from both replicas. Before, the holder kept it until its hour ran out or it stopped, then
// recorded it as answered (`queued`, no output tokens, its input's cost only).
import OpenAI from 'openai';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { getJson, type ServeRun, startServeWithConfig, until } from './helpers.js';

const OUT = 9;
let pg: TestPostgres;
let sim: Simulator;
const runs: ServeRun[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 5, tpotMs: 1, outputTokens: OUT });
  pg = await startPostgres();
  const url = await pg.freshDatabaseUrl();
  const config = {
    providers: [{ name: 'sim', baseUrl: sim.url }],
    storage: { url },
    gpu: { collector: 'none' },
    telemetry: { logLevel: 'warn' },
  };
  runs.push(await startServeWithConfig({ prefix: 'llmscope-bg-pg-', config }));
  runs.push(await startServeWithConfig({ prefix: 'llmscope-bg-pg-', config }));
}, 120_000);
afterAll(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  await sim?.close();
  await pg?.stop();
});

interface Listed {
  data: { request_id: string; status: string; finish_reason: string; output_tokens: number; cost_usd: number }[];
}

it('records a background response created on one replica and polled to completion on the other, finished, once', async () => {
  const [a, b] = runs as [ServeRun, ServeRun];
  const viaA = new OpenAI({ baseURL: `${a.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const viaB = new OpenAI({ baseURL: `${b.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  const r = await viaA.responses.create(
    { model: 'gpt-4o-mini', input: 'Work on this later', background: true },
    { headers: { 'x-simulator-ttft-ms': '300', 'x-request-id': 'bg-across' } },
  );
  expect(r.status).toBe('queued');
  const done = await until(async () => {
    const x = await viaB.responses.retrieve(r.id);
    return x.status === 'completed' ? x : null;
  }, 10_000);
  expect(done.usage?.output_tokens).toBe(OUT);
  // recorded by the replica holding it within a few seconds (it looks every second), while both still run
  const seen = await until(async () => {
    const l = await getJson<Listed>(`${b.base}/api/requests?q=bg-across`);
    return l.data.length > 0 ? l.data : null;
  }, 8_000);
  expect(seen).toHaveLength(1);
  expect(seen[0]).toMatchObject({ status: 'ok', finish_reason: 'stop', output_tokens: OUT });
  // gpt-4o-mini: its input and 9 output tokens at $0.15/$0.60 per 1M
  expect(seen[0]?.cost_usd).toBeCloseTo(((done.usage?.input_tokens ?? 0) * 0.15 + OUT * 0.6) / 1e6, 12);
  expect((await getJson<Listed>(`${a.base}/api/requests?q=bg-across`)).data).toEqual(seen);
  // a stop records nothing more: still one call, finished
  await a.stop();
  runs.shift();
  expect((await getJson<Listed>(`${b.base}/api/requests?q=bg-across`)).data).toEqual(seen);
});
