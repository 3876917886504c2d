// Calls a gateway worker of `llmscope serve --workers 2` finished but dropped at its hand-off to the recorder (its queue
// there full: recorder.capacity 1 here, so a burst overflows it). They are not recorded (counted in
// llmscope_recorder_dropped_total{sink="primary"}), but what their admissions reserved on the budget ledger settles
// at once with what they spent, as one process settles a call its store lane drops: the budget shows no call in
// flight once every client has its answer, and its spend counts every call, dropped or not. The other way, a call's
// admission crosses to the recorder with its body: a large one is admitted like any other.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-handoff-'));
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      // A fixed port: with port 0, workers started after every worker died would listen on a new random one.
      server: { host: '127.0.0.1', port: await freePort(), workers: 2 },
      recorder: { capacity: 1 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
      // $1 per 1M output tokens, input free: each call reserves 16 tokens' worth (max_tokens) and spends 4.
      pricing: { models: [{ model: 'capped-model', input: 0, output: 1 }] },
      budgets: [{ name: 'capped', scope: 'feature', match: 'capped', period: 'day', limit: 1, action: 'block' }],
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);

afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

const call = async (): Promise<number> => {
  const r = await fetch(`${serve.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llmscope-feature': 'capped' },
    body: JSON.stringify({ model: 'capped-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.text();
  return r.status;
};

const droppedAtHandOff = async (): Promise<number> => {
  const m = await (await fetch(`${serve.base}/metrics`)).text();
  return Number(/^llmscope_recorder_dropped_total\{sink="primary"\} (\d+)/m.exec(m)?.[1] ?? 0);
};

interface Bucket {
  spent_usd: number;
  reserved_usd: number;
  in_flight: number;
}
const bucket = async (): Promise<Bucket | undefined> => {
  const body = (await (await fetch(`${serve.base}/api/cost/budgets`)).json()) as {
    budgets: { name: string; buckets: Bucket[] }[];
  };
  return body.budgets.find((b) => b.name === 'capped')?.buckets[0];
};

describe('serve --workers: calls dropped at a worker’s hand-off', () => {
  it('settle what they reserved at once, with what they spent', async () => {
    // Bursts of 40 calls at once until a worker's hand-off has dropped some (the first burst almost always does).
    let sent = 0;
    for (let i = 0; i < 5 && (await droppedAtHandOff()) === 0; i++) {
      const statuses = await Promise.all(Array.from({ length: 40 }, call));
      expect(statuses).toEqual(Array(40).fill(200));
      sent += 40;
      // The workers' counters reach /metrics at the next scrape: each scrape asks every worker.
    }
    expect(await droppedAtHandOff()).toBeGreaterThan(0);
    // Every call answered: none is in flight on the budget, dropped or recorded (before: the dropped ones stayed
    // reserved until their worker exited).
    const settled = await until(async () => {
      const b = await bucket();
      return b && b.in_flight === 0 ? b : null;
    }, 10_000);
    expect(settled.reserved_usd).toBe(0);
    expect(settled.spent_usd).toBeCloseTo(sent * 4e-6, 12);
  }, 60_000);
});

describe('serve --workers: admissions of calls with large bodies', () => {
  it('a 4 MB prompt is admitted by the recorder like a small one (its IPC write queued, not "gone")', async () => {
    // The admission crosses to the recorder with the body; a message larger than the channel's buffer is queued, and
    // process.send says so by returning false, which does not mean the recorder is gone.
    const content = 'word '.repeat(800_000);
    const statuses = await Promise.all(
      Array.from({ length: 3 }, async () => {
        const r = await fetch(`${serve.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-llmscope-feature': 'capped' },
          body: JSON.stringify({ model: 'capped-model', max_tokens: 16, messages: [{ role: 'user', content }] }),
        });
        const body = await r.text();
        return `${r.status}${r.status === 200 ? '' : ` ${body.slice(0, 200)}`}`;
      }),
    );
    expect(statuses).toEqual(['200', '200', '200']);
  }, 60_000);
});

describe('serve --workers: the recorder answers a worker that has just died', () => {
  it('is not ended by the write error (EPIPE) and starts the workers again', async () => {
    const primary = serve.proc.pid as number;
    const workers = childrenOf(primary);
    // One kept-alive connection to a worker (node:cluster's primary hands new connections out, so it must exist
    // before the primary is stopped).
    const pool = new Pool(serve.base, { connections: 1 });
    const send = (): Promise<number | string> =>
      pool
        .request({
          path: '/v1/chat/completions',
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-llmscope-feature': 'capped' },
          body: JSON.stringify({ model: 'capped-model', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] }),
        })
        .then(
          async (r) => {
            await r.body.text();
            return r.statusCode;
          },
          (err: { code?: string }) => err.code ?? 'error',
        );
    expect(await send()).toBe(200);
    // The recorder stopped: the worker's admission for the next call waits in the channel. Then the worker dies,
    // and the recorder, let go, answers that admission to a closed channel.
    process.kill(primary, 'SIGSTOP');
    const cut = send();
    await new Promise((r) => setTimeout(r, 500));
    for (const pid of workers) process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    process.kill(primary, 'SIGCONT');
    expect(await cut).not.toBe(200);
    await pool.close();
    // The recorder is still there, and serves again through new workers.
    await until(() => {
      const now = childrenOf(primary);
      return now.length === 2 && now.every((p) => !workers.includes(p));
    });
    const status = await until(async () => ((await call().catch(() => 0)) === 200 ? 200 : null), 20_000).catch(
      () => 'no answer',
    );
    expect(serve.proc.exitCode).toBeNull();
    expect(status).toBe(200);
  }, 60_000);
});
