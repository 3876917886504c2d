// Calls in flight when the workers of `llmscope serve --workers 2` die (SIGKILL). Every one is counted in
// llmscope_worker_lost_calls_total, even one that started just before. And budgets: each call reserved its estimate on
// the one ledger (in the recorder process) when it was admitted; a worker SIGKILLed with such calls never finishes
// them, so the recorder releases what they reserved (they are recorded as cut, worker_exited, with cost unknown, so
// they spent nothing the store or a restart would count): a budget with room for 10 calls still admits 10 after the crash, not 10 less the calls cut.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, type ServeProcess, startServeProcess, until } from './helpers.js';

let sim: Simulator;
let slow: Simulator;
let serve: ServeProcess;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 16 });
  // Answers after 20 s: its calls are still in flight when their worker is killed.
  slow = await startSimulator({ port: 0, ttftMs: 20_000, tpotMs: 0, outputTokens: 16 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-budget-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      // A fixed port: with port 0, workers started after every worker died would listen on a new random one.
      server: { host: '127.0.0.1', port: await freePort(), shutdownGrace: '1s', workers: 2 },
      providers: [
        { name: 'sim', baseUrl: sim.url },
        { name: 'slow', baseUrl: slow.url, models: ['slow-*'] },
      ],
      routes: [{ model: 'slow-*', provider: 'slow' }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
      // $1 per 1M output tokens, input free: a call with max_tokens 16 reserves exactly what it then costs, so the
      // budget holds exactly 10 calls.
      pricing: {
        models: [
          { model: 'capped-model', input: 0, output: 1 },
          { model: 'slow-capped', input: 0, output: 1 },
        ],
      },
      budgets: [{ name: 'capped', scope: 'feature', match: 'capped', period: 'day', limit: 0.00016, action: 'block' }],
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);

afterAll(async () => {
  if (serve && serve.proc.exitCode === null && serve.proc.signalCode === null) {
    const workers = childrenOf(serve.proc.pid as number);
    serve.proc.kill('SIGKILL');
    for (const pid of workers) process.kill(pid, 'SIGKILL');
  }
  await Promise.all([sim?.close(), slow?.close()]);
});

const capped = (model: string) =>
  new OpenAI({
    baseURL: `${serve.base}/v1`,
    apiKey: 'sk-test',
    maxRetries: 0,
    timeout: 60_000,
    defaultHeaders: { 'x-llmscope-feature': 'capped' },
  }).chat.completions
    .create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
    .then(
      () => 200,
      (err: { status?: number }) => err.status ?? 0,
    );

const lostCalls = async (): Promise<number> => {
  const m = await (await fetch(`${serve.base}/metrics`)).text();
  return Number(/^llmscope_worker_lost_calls_total (\d+)/m.exec(m)?.[1] ?? Number.NaN);
};

describe('serve --workers: calls in flight when workers die', () => {
  it('counts every call cut in llmscope_worker_lost_calls_total, even one that started just before', async () => {
    const primary = serve.proc.pid as number;
    const before = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    const lost = await lostCalls();
    const inSlow = slow.stats.inFlight;
    const cut = Array.from({ length: 6 }, () => capped('slow-capped'));
    // All six are with the upstream (so in flight in a worker), then a moment: a worker tells the recorder within
    // 50 ms (it told every 0.5 s before, and a call this young was often not counted).
    await until(() => slow.stats.inFlight - inSlow === 6);
    await new Promise((r) => setTimeout(r, 300));
    for (const pid of before) process.kill(pid, 'SIGKILL');
    expect(await Promise.all(cut)).toEqual(Array(6).fill(0));
    await until(() => {
      const now = childrenOf(primary);
      return now.length === 2 && now.every((p) => !before.includes(p));
    });
    await until(() =>
      fetch(`${serve.base}/healthz`).then(
        (r) => r.ok,
        () => false,
      ),
    );
    expect((await lostCalls()) - lost).toBe(6);
  }, 60_000);

  it('what the calls cut by a SIGKILLed worker reserved is released: the budget still admits 10', async () => {
    const primary = serve.proc.pid as number;
    const before = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    // Four calls admitted (each reserves a tenth of the budget) and waiting on the slow upstream.
    const inSlow = slow.stats.inFlight;
    const cut = Array.from({ length: 4 }, () => capped('slow-capped'));
    await until(() => slow.stats.inFlight - inSlow === 4);
    for (const pid of before) process.kill(pid, 'SIGKILL');
    expect(await Promise.all(cut)).toEqual([0, 0, 0, 0]);
    await until(() => {
      const now = childrenOf(primary);
      return now.length === 2 && now.every((p) => !before.includes(p));
    });
    // Both new workers listening again (node:cluster closes the port while no worker listens on it).
    await until(async () =>
      /^llmscope_workers 2$/m.test(
        await fetch(`${serve.base}/metrics`).then(
          (r) => r.text(),
          () => '',
        ),
      ),
    );
    const results = await Promise.all(Array.from({ length: 50 }, () => capped('capped-model')));
    expect(results.filter((s) => s === 200)).toHaveLength(10);
    expect(results.filter((s) => s === 429)).toHaveLength(40);
  }, 60_000);
});
