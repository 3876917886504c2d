// `llmscope serve --workers 2` as an operator runs it, with the workers misbehaving in the ways a supervisor must
// notice: one stuck in a busy loop (it holds its share of the port's connections and answers none), one that hangs
// while starting (never says it listens), one stopped by a SIGTERM of its own (a rolling restart). The recorder kills
// the first two after server.workerTimeout and starts others; every restart is counted by why in
// llmscope_worker_restarts_total{reason}; /metrics answers while a worker does not; /readyz turns 503 (with the
// counts) once the fleet has been short for longer than its grace, while /healthz stays 200.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  childrenOf,
  killServe,
  metricValue,
  parseMetrics,
  type ServeProcess,
  startServeProcess,
  until,
} from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let dir: string;
let hangFlag: string;
let nodeOptions: string;

/**
 * The fleet's server.workerTimeout: its default, 30 s. It bounds a worker's start as well as its silence, and on a
 * busy 2-core host (load 10-11) a replacement worker took 8-23 s to start: with the 6 s this file used, each
 * replacement was killed as start_timeout, again and again, and every test after the first restart failed.
 */
const WORKER_TIMEOUT_MS = 30_000;
/** The recorder's heartbeat interval for it (a third of the timeout, at most 5 s: src/cluster/primary.ts). */
const BEAT_MS = 5_000;
/** Time for a worker to be killed after WORKER_TIMEOUT_MS and another one to start, on a busy host. */
const REPLACED_MS = 2 * WORKER_TIMEOUT_MS + 20_000;

const config = (file: string, workerTimeout: string, port = 0): string => {
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port, workers: 2, workerTimeout },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, `${workerTimeout}.db`)}` },
      gpu: { collector: 'none' },
    }),
  );
  return file;
};

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-liveness-'));
  hangFlag = join(dir, 'hang-at-start');
  // Loaded into every process of the fleet (NODE_OPTIONS). In a worker: while the flag file exists, it never says it
  // serves, nor fails (a start that hangs: the recorder hands it no connection); SIGUSR2 puts its event loop in a
  // busy loop for good.
  const hook = join(dir, 'misbehave.mjs');
  writeFileSync(
    hook,
    `import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
if (cluster.isWorker) {
  const send = process.send.bind(process);
  process.send = (msg, ...rest) => {
    if (msg?.t === 'listening' && existsSync(${JSON.stringify(hangFlag)})) return true;
    return send(msg, ...rest);
  };
  process.on('SIGUSR2', () => {
    for (;;) {}
  });
}
`,
  );
  nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim();
  serve = await startServeProcess({ NODE_OPTIONS: nodeOptions }, [
    '-c',
    config(join(dir, 'a.yaml'), `${WORKER_TIMEOUT_MS / 1000}s`, await freePort()),
  ]);
}, 120_000);

afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Line {
  event?: string;
  workers?: number;
  restart_in_ms?: number;
  level?: string | number;
  pid?: number;
  err?: string;
  reason?: string;
  silent_ms?: number;
  worker_timeout_ms?: number;
}
const lines = (event: string): Line[] =>
  serve.stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.event === event);

/** GET on a connection of its own (one that node:cluster hands to a stuck worker hangs: it times out instead). */
async function get(path: string, timeoutMs = 8_000): Promise<{ status: number; body: string; ms: number }> {
  const agent = new Agent({ connections: 1 });
  const t0 = Date.now();
  try {
    const r = await request(`${serve.base}${path}`, { dispatcher: agent, signal: AbortSignal.timeout(timeoutMs) });
    return { status: r.statusCode, body: await r.body.text(), ms: Date.now() - t0 };
  } finally {
    void agent.destroy().catch(() => {});
  }
}

const metrics = async () => parseMetrics((await get('/metrics')).body);
/** The metrics, or null while no worker listens (every worker drained at once: the port refuses until one is back). */
const metricsOrNull = () => metrics().catch(() => null);
const restarts = (m: Map<string, number>, reason: string) =>
  metricValue(m, 'llmscope_worker_restarts_total', { reason });
/** Waits for the fleet to be whole: two workers serving, each a child of the recorder. Each test starts from here, so
 * one that ends with a replacement still starting (on a slow machine) does not hand the next a worker mid-start. */
const settled = () =>
  until(
    async () => {
      const m = await metricsOrNull();
      return (
        m !== null && metricValue(m, 'llmscope_workers') === 2 && childrenOf(serve.proc.pid as number).length === 2
      );
    },
    REPLACED_MS,
    100,
  );

describe('serve --workers 2: workers that stop answering or never start', () => {
  it('every reason of llmscope_worker_restarts_total is there from the start, with the configured count', async () => {
    const m = await metrics();
    for (const reason of ['crashed', 'stopped', 'start_failed', 'start_timeout', 'unresponsive'])
      expect(m.has(`llmscope_worker_restarts_total{reason="${reason}"}`), reason).toBe(true);
    expect(metricValue(m, 'llmscope_workers')).toBe(2);
    expect(metricValue(m, 'llmscope_workers_configured')).toBe(2);
    const ready = await get('/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toMatchObject({ status: 'ready', workers: { configured: 2, serving: 2 } });
  });

  it('a worker in a busy loop: /metrics still answers within its 2 s wait, and the worker is killed and replaced after server.workerTimeout', async () => {
    const [victim] = childrenOf(serve.proc.pid as number) as [number];
    process.kill(victim, 'SIGUSR2');
    // Each try on a new connection: the busy worker may be the one it is handed to.
    let answered: { status: number; body: string; ms: number } | null = null;
    for (let i = 0; i < 4 && !answered; i++) answered = await get('/metrics', 2_500).catch(() => null);
    expect(answered?.status).toBe(200);
    expect(answered?.ms).toBeLessThan(2_500);
    // Killed at the first heartbeat that finds it silent for longer than the timeout (not before: silent_ms).
    const killed = await until(() => lines('worker_unresponsive')[0], WORKER_TIMEOUT_MS + 3 * BEAT_MS);
    expect(killed).toMatchObject({ level: 'error', pid: victim, worker_timeout_ms: WORKER_TIMEOUT_MS });
    expect(killed.silent_ms).toBeGreaterThan(WORKER_TIMEOUT_MS);
    // Logged when its exit is seen, which follows the kill by however long the machine takes to reap it.
    expect(await until(() => lines('worker_exited').find((l) => l.pid === victim))).toMatchObject({
      reason: 'unresponsive',
    });
    expect(lines('worker_exited')).toHaveLength(1);
    await until(
      async () =>
        metricValue(await metrics(), 'llmscope_workers') === 2 &&
        !childrenOf(serve.proc.pid as number).includes(victim),
      REPLACED_MS,
    );
    const m = await metrics();
    expect(restarts(m, 'unresponsive')).toBe(1);
    expect(restarts(m, 'crashed')).toBe(0);
    // A call goes through on every connection again.
    for (let i = 0; i < 4; i++) expect((await get('/healthz', 3_000)).status).toBe(200);
  }, 200_000);

  it('a SIGTERM to each worker (a rolling restart) lets a relayed request in flight finish, and counts as stopped', async () => {
    await settled();
    const stopped0 = restarts(await metrics(), 'stopped');
    // An ingest batch whose body is still arriving when its worker is told to stop: the worker relays it to the
    // recorder, and must not close the connection under it (its clients would get no answer, and retry or lose it).
    const body = JSON.stringify({
      calls: [
        {
          request_id: 'rolling-1',
          started_at: new Date().toISOString(),
          provider: 'openai',
          model: 'gpt-4o-mini',
          input_tokens: 10,
          output_tokens: 2,
          latency_ms: 100,
        },
      ],
    });
    const half = Math.floor(body.length / 2);
    const answer = new Promise<{ status: number; text: string }>((ok, fail) => {
      const req = httpRequest(
        `${serve.base}/api/ingest`,
        {
          method: 'POST',
          agent: false,
          headers: { 'content-type': 'application/json', 'content-length': body.length },
        },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => {
            text += d.toString();
          });
          res.on('end', () => ok({ status: res.statusCode ?? 0, text }));
          res.on('error', fail);
        },
      );
      req.on('error', fail);
      req.write(body.slice(0, half));
      setTimeout(() => req.end(body.slice(half)), 600);
    });
    await new Promise((r) => setTimeout(r, 200));
    const victims = childrenOf(serve.proc.pid as number);
    expect(victims).toHaveLength(2);
    // Both: the connection is with one of them.
    for (const v of victims) process.kill(v, 'SIGTERM');
    const r = await answer;
    expect(r.status, r.text).toBe(202);
    await until(async () => {
      const m = await metricsOrNull();
      return m && restarts(m, 'stopped') === stopped0 + 2 && metricValue(m, 'llmscope_workers') === 2;
    }, REPLACED_MS);
    for (const v of victims)
      expect(lines('worker_exited').find((l) => l.pid === v)).toMatchObject({ reason: 'stopped' });
    const stored = await until(async () => {
      const g = await get('/api/requests/rolling-1');
      return g.status === 200 ? g : null;
    });
    expect(JSON.parse(stored.body)).toMatchObject({ request_id: 'rolling-1' });
  }, 200_000);

  it('a rolling restart (a SIGTERM to each worker in turn, then SIGUSR2 to the recorder) under 16 OpenAI clients without retries: no client error', async () => {
    await settled();
    let stop = false;
    let ok = 0;
    const errors: string[] = [];
    const client = async (i: number): Promise<void> => {
      // Each client keeps its connections alive between calls, as the SDK does.
      const c = new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
      while (!stop) {
        try {
          if (i % 2 === 0)
            await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
          else {
            const s = await c.chat.completions.create({
              model: 'gpt-4o-mini',
              messages: [{ role: 'user', content: 'hi' }],
              stream: true,
            });
            for await (const _ of s) {
              /* read to the end */
            }
          }
          ok++;
        } catch (err) {
          errors.push(`${(err as { status?: number }).status ?? ''} ${(err as Error).message}`);
        }
        // A pause with the connection idle (what a worker that drains must not close under a request), which also
        // leaves the cores to the workers starting: calls back to back kept both cores busy, and on a loaded host the
        // replacements took over server.workerTimeout (30 s) to start, so the rolling restart stopped.
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const clients = Array.from({ length: 16 }, (_, i) => client(i));
    await new Promise((r) => setTimeout(r, 1_000));
    const stopped0 = restarts(await metrics(), 'stopped');
    const rolled = childrenOf(serve.proc.pid as number);
    for (const w of rolled) {
      process.kill(w, 'SIGTERM');
      await until(
        async () => {
          const now = childrenOf(serve.proc.pid as number);
          return now.length === 2 && !now.includes(w) && metricValue(await metrics(), 'llmscope_workers') === 2;
        },
        REPLACED_MS,
        100,
      );
    }
    // The same, in one signal to the recorder: SIGUSR2 replaces each worker in turn.
    const before = childrenOf(serve.proc.pid as number);
    process.kill(serve.proc.pid as number, 'SIGUSR2');
    const done = await until(() => lines('workers_rolled')[0], 2 * REPLACED_MS, 100);
    expect(done.workers).toBe(2);
    const after = childrenOf(serve.proc.pid as number);
    expect(after).toHaveLength(2);
    expect(after.filter((p) => before.includes(p))).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    stop = true;
    await Promise.all(clients);
    // Before, each worker closed its idle keep-alive connections as it began to drain, under requests already sent
    // on them: 10 to 12 'Connection error.' in this run.
    expect(errors).toEqual([]);
    expect(ok).toBeGreaterThan(100);
    expect(restarts(await metrics(), 'stopped')).toBe(stopped0 + 4);
    // Replaced at once: a worker stopped on purpose does not lengthen the wait kept for failing ones.
    for (const w of rolled)
      expect(lines('worker_exited').find((l) => l.pid === w)).toMatchObject({ reason: 'stopped', restart_in_ms: 100 });
  }, 600_000);

  it('a recorder that was itself stopped past server.workerTimeout kills no worker when it resumes', async () => {
    await settled();
    const before = await metrics();
    const killed = lines('worker_unresponsive').length;
    const workers = childrenOf(serve.proc.pid as number);
    process.kill(serve.proc.pid as number, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, WORKER_TIMEOUT_MS + 3_000));
    } finally {
      process.kill(serve.proc.pid as number, 'SIGCONT');
    }
    // Two heartbeats later (the first after the stop judges no one): the workers' answers were waiting behind the
    // stopped recorder, not missing. Without that, the first heartbeat killed both.
    await new Promise((r) => setTimeout(r, 2 * BEAT_MS + 1_000));
    expect(lines('worker_unresponsive')).toHaveLength(killed);
    expect(childrenOf(serve.proc.pid as number)).toEqual(workers);
    const after = await metrics();
    expect(metricValue(after, 'llmscope_worker_restarts_total')).toBe(
      metricValue(before, 'llmscope_worker_restarts_total'),
    );
  }, 200_000);

  it('a worker that hangs while starting is killed after server.workerTimeout, logged with why, and tried again; /readyz fails after the grace, /healthz does not', async () => {
    await settled();
    const failedBefore = lines('worker_start_failed').length;
    const crashed0 = restarts(await metrics(), 'crashed');
    writeFileSync(hangFlag, '');
    const [victim] = childrenOf(serve.proc.pid as number) as [number];
    process.kill(victim, 'SIGKILL');
    await until(() => lines('worker_exited').find((l) => l.pid === victim));
    // Short of one worker, within the grace: still ready, and it says so.
    const early = await get('/readyz');
    expect(JSON.parse(early.body)).toMatchObject({ workers: { configured: 2, serving: 1 } });
    expect(early.status).toBe(200);
    const timedOut = await until(() => lines('worker_start_failed')[failedBefore], REPLACED_MS);
    expect(timedOut).toMatchObject({
      level: 'error',
      reason: 'start_timeout',
      err: `it did not start serving within ${WORKER_TIMEOUT_MS} ms (server.workerTimeout); killed`,
    });
    // Past the grace (10 s): not ready, with the counts; liveness is not the workers' business.
    const notReady = await until(
      async () => {
        const r = await get('/readyz');
        return r.status === 503 ? r : null;
      },
      20_000,
      250,
    );
    expect(JSON.parse(notReady.body)).toEqual({
      status: 'not_ready',
      store: 'ok',
      upstreams: 1,
      draining: false,
      workers: { configured: 2, serving: 1 },
    });
    expect((await get('/healthz')).status).toBe(200);
    let m = await metrics();
    expect(metricValue(m, 'llmscope_workers')).toBe(1);
    expect(restarts(m, 'crashed')).toBe(crashed0 + 1);
    // Counted as the next one is started (after the restart wait).
    await until(async () => restarts(await metrics(), 'start_timeout') >= 1, REPLACED_MS, 250);
    // The cause gone, the next try serves and the host is ready again.
    rmSync(hangFlag);
    const back = await until(
      async () => {
        const r = await get('/readyz');
        return r.status === 200 ? r : null;
      },
      // (the worker started as the flag goes may have loaded and been held before it went: killed, another started)
      2 * REPLACED_MS,
      250,
    );
    expect(JSON.parse(back.body)).toMatchObject({ status: 'ready', workers: { configured: 2, serving: 2 } });
    m = await metrics();
    expect(metricValue(m, 'llmscope_workers')).toBe(2);
  }, 600_000);

  it('a worker that hangs while serve starts fails the start, saying why', async () => {
    writeFileSync(hangFlag, '');
    try {
      const err = await startServeProcess({ NODE_OPTIONS: nodeOptions }, [
        '-c',
        config(join(dir, 'b.yaml'), '4s'),
      ]).then(
        (s) => {
          killServe(s.proc);
          return null;
        },
        (e: Error) => e.message,
      );
      expect(err).toMatch(
        /serve exited 1: .*a gateway worker did not start serving within 4000 ms \(server\.workerTimeout\)/s,
      );
    } finally {
      rmSync(hangFlag, { force: true });
    }
  }, 120_000);
});
