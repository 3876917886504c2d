// Calls cut by a gateway worker of `llmscope serve --workers 2` that dies (SIGKILL) are recorded (decision 89): the
// recorder process ran their admissions, so it records each as far as it knows it: upstream_error, 502, error_type
// worker_exited, its request id, model, provider, stream, attribution and metadata, tokens and cost unknown. Each is
// recorded once (in /api/requests, in /metrics' llm_requests_total and in /api/cost's request counts); the calls the
// worker finished stay ok, and none is recorded twice. The recorder's admissions say which worker a call was on: the
// other worker's streams go on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

let sim: Simulator;
let slow: Simulator;
let serve: ServeProcess;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 8 });
  // Streams of 120 tokens, one every 500 ms: a minute each, so they are in flight when their worker is killed.
  slow = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 500, outputTokens: 120 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-cut-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: await freePort(), shutdownGrace: '1s', workers: 2 },
      providers: [
        { name: 'sim', baseUrl: sim.url },
        { name: 'slow', baseUrl: slow.url, models: ['slow-*'] },
      ],
      routes: [{ model: 'slow-*', provider: 'slow' }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}`, durability: 'every-call' },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);

afterAll(async () => {
  killServe(serve?.proc);
  await Promise.all([sim?.close(), slow?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const client = (feature: string, extra: Record<string, string> = {}) =>
  new OpenAI({
    baseURL: `${serve.base}/v1`,
    apiKey: 'sk-test',
    maxRetries: 0,
    timeout: 120_000,
    defaultHeaders: { 'x-llmscope-feature': feature, ...extra },
  });

interface Row {
  request_id: string;
  status: string;
  http_status: number;
  error_type: string | null;
  error_message: string | null;
  model: string;
  provider: string;
  stream: boolean;
  feature: string | null;
  user: string | null;
  metadata: Record<string, string> | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  latency_ms: number;
}

const rows = async (feature: string): Promise<Row[]> => {
  const r = await fetch(`${serve.base}/api/requests?feature=${feature}&limit=100`);
  return ((await r.json()) as { data: Row[] }).data;
};

/** llm_requests_total of a model (each model here is called under one feature only) and status. */
const requestsTotal = async (status: string, model: string): Promise<number> => {
  const m = await (await fetch(`${serve.base}/metrics`)).text();
  let n = 0;
  for (const line of m.split('\n'))
    if (
      line.startsWith('llm_requests_total{') &&
      line.includes(`status="${status}"`) &&
      line.includes(`model="${model}"`)
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  return n;
};

const costRequests = async (feature: string): Promise<number> => {
  const r = await fetch(`${serve.base}/api/cost/summary?group_by=feature`);
  const body = (await r.json()) as { groups: { key: string; requests: number }[] };
  return body.groups.find((g) => g.key === feature)?.requests ?? 0;
};

describe('serve --workers: calls cut by a worker that dies are recorded', () => {
  it('records each stream cut by a SIGKILLed worker once (upstream_error, worker_exited); finished calls stay ok', async () => {
    const primary = serve.proc.pid as number;
    const before = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    // M calls finished before the kill (their answers whole), on both workers.
    const M = 6;
    const done = client('cut-done');
    for (let i = 0; i < M; i++)
      await done.chat.completions.create({ model: 'fast-model', messages: [{ role: 'user', content: `hi ${i}` }] });
    // N streams in flight, each past its first chunk, each on its own connection (so on both workers).
    const N = 6;
    const cut = client('cut-stream', { 'x-llmscope-user': 'ann', 'x-llmscope-meta-run': 'r89' });
    const ids: string[] = [];
    const streams = await Promise.all(
      Array.from({ length: N }, async () => {
        const { data, response } = await cut.chat.completions
          .create({ model: 'slow-model', stream: true, messages: [{ role: 'user', content: 'tell me a long story' }] })
          .withResponse();
        ids.push(response.headers.get('x-request-id') as string);
        const it = data[Symbol.asyncIterator]();
        await it.next();
        return it;
      }),
    );
    // The finished calls are handed over (and their admissions closed) well before this.
    await until(async () => (await rows('cut-done')).length === M);
    // A scrape: /metrics keeps what each worker last reported, so the finished calls the victim counted stay counted.
    await fetch(`${serve.base}/metrics`);
    // One worker dies: the streams it served are cut, the other worker's go on.
    const victim = before[0] as number;
    process.kill(victim, 'SIGKILL');
    // Each stream read for 3 s: cut (an error), ended (it should not: a minute long), or still alive.
    const until3s = Date.now() + 3_000;
    const outcome = await Promise.all(
      streams.map(async (it) => {
        try {
          for (;;) {
            const left = until3s - Date.now();
            if (left <= 0) return 'alive';
            const r = await Promise.race([
              it.next(),
              new Promise<'alive'>((ok) => setTimeout(() => ok('alive'), left)),
            ]);
            if (r === 'alive') return 'alive';
            if (r.done) return 'ended';
          }
        } catch {
          return 'cut';
        }
      }),
    );
    const cutCount = outcome.filter((o) => o === 'cut').length;
    expect(outcome.filter((o) => o === 'ended')).toEqual([]);
    // Both workers served some of the streams (round robin on new connections).
    expect(cutCount).toBeGreaterThan(0);
    expect(cutCount).toBeLessThan(N);

    // The cut streams are recorded, each once, as the recorder knew them.
    const recorded = await until(async () => {
      const r = (await rows('cut-stream')).filter((x) => x.error_type === 'worker_exited');
      return r.length >= cutCount ? r : null;
    });
    await new Promise((r) => setTimeout(r, 500));
    const again = (await rows('cut-stream')).filter((x) => x.error_type === 'worker_exited');
    expect(again).toHaveLength(cutCount);
    expect(new Set(again.map((x) => x.request_id)).size).toBe(cutCount);
    for (const x of recorded) {
      expect(ids).toContain(x.request_id);
      expect(x).toMatchObject({
        status: 'upstream_error',
        http_status: 502,
        error_type: 'worker_exited',
        model: 'slow-model',
        provider: 'slow',
        stream: true,
        feature: 'cut-stream',
        user: 'ann',
        metadata: { run: 'r89' },
        input_tokens: null,
        output_tokens: null,
        cost_usd: null,
      });
      expect(x.error_message).toContain(`pid ${victim}`);
      expect(x.error_message).toContain('SIGKILL');
      expect(x.latency_ms).toBeGreaterThan(0);
    }
    // Counted once in /metrics and in /api/cost.
    expect(await requestsTotal('upstream_error', 'slow-model')).toBe(cutCount);
    expect(await costRequests('cut-stream')).toBe(cutCount);

    // The finished calls stay ok, each once.
    const ok = await rows('cut-done');
    expect(ok).toHaveLength(M);
    expect(ok.every((x) => x.status === 'ok')).toBe(true);
    expect(await requestsTotal('ok', 'fast-model')).toBe(M);
    expect(await requestsTotal('upstream_error', 'fast-model')).toBe(0);
    expect(await costRequests('cut-done')).toBe(M);

    // The streams the other worker serves were not recorded as cut; they finish later, ok, and are then recorded.
    const alive = streams.filter((_, i) => outcome[i] === 'alive');
    await Promise.all(alive.map((it) => it.return?.()));
    await until(async () => (await rows('cut-stream')).length === N);
    const all = await rows('cut-stream');
    expect(new Set(all.map((x) => x.request_id)).size).toBe(N);
    expect(all.filter((x) => x.error_type === 'worker_exited')).toHaveLength(cutCount);
    expect(await requestsTotal('upstream_error', 'slow-model')).toBe(cutCount);
  }, 120_000);
});
