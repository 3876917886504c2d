// `llmscope serve --workers` from the command line, as an operator starts and stops it: the worker count from the
// flag, LLMSCOPE_WORKERS or server.workers; a busy port refused with one line before any worker starts; Ctrl-C in a
// terminal (SIGINT to the whole process group) drains the fleet once, streams in flight complete, exit 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, killServe } from './helpers.js';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

interface Run {
  proc: ChildProcess;
  stderr: () => string;
  stdout: () => string;
  exited: Promise<number | null>;
  /** Resolves with the base URL once serve says where it serves. */
  serving: Promise<string>;
}

function serve(args: string[], env: NodeJS.ProcessEnv, cwd: string): Run {
  // Its own process group, as a shell gives a command started in a terminal.
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: { ...process.env, LLMSCOPE_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let err = '';
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  // 'close', not 'exit': what it wrote last (the tests read it) may still be in the pipes when 'exit' is emitted.
  const exited = new Promise<number | null>((r) => proc.once('close', (code) => r(code)));
  const serving = new Promise<string>((ok, fail) => {
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/[\d.:]+)/.exec(err);
      if (m) ok(m[1] as string);
    });
    void exited.then((code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
  serving.catch(() => {});
  return { proc, stderr: () => err, stdout: () => out, exited, serving };
}

let sim: Simulator;
let fast: Simulator;
const running: Run[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 100, tpotMs: 20, outputTokens: 30 });
  fast = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 8 });
});

afterAll(async () => {
  for (const r of running) killServe(r.proc);
  await Promise.all([sim?.close(), fast?.close()]);
});

const scratch = () => mkdtempSync(join(tmpdir(), 'llmscope-workers-cli-'));

describe('serve --workers from the command line', () => {
  it('LLMSCOPE_WORKERS=2 starts two workers; one whole request log line per call; Ctrl-C drains them once, exit 0', async () => {
    const dir = scratch();
    const file = join(dir, 'llmscope.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        providers: [
          { name: 'fast', baseUrl: fast.url },
          { name: 'slow', baseUrl: sim.url, models: ['slow-*'] },
        ],
        routes: [{ model: 'slow-*', provider: 'slow' }],
        gpu: { collector: 'none' },
      }),
    );
    const run = serve(['-c', file], { LLMSCOPE_WORKERS: '2' }, dir);
    running.push(run);
    const base = await run.serving;
    expect(run.stderr()).toContain('with 2 gateway workers');
    const pid = run.proc.pid as number;
    const workers = childrenOf(pid);
    expect(workers).toHaveLength(2);
    // 300 calls on 12 connections, both workers writing request lines to the one stdout.
    const pool = new Pool(base, { connections: 12 });
    const ids = Array.from({ length: 300 }, (_, i) => `log-${i}`);
    await Promise.all(
      Array.from({ length: 12 }, async (_, c) => {
        for (let i = c; i < ids.length; i += 12) {
          const r = await pool.request({
            path: '/v1/chat/completions',
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-request-id': ids[i] as string },
            body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${i}` }] }),
          });
          await r.body.text();
          expect(r.statusCode).toBe(200);
        }
      }),
    );
    await pool.close();
    const sentBefore = sim.stats.requests;
    const streams = Array.from({ length: 6 }, async (_, i) => {
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow-model', messages: [{ role: 'user', content: `s ${i}` }], stream: true }),
      });
      return (await r.text()).trimEnd().endsWith('data: [DONE]');
    });
    // Every stream reached the upstream (so a worker has it) before the signal.
    for (let i = 0; i < 400 && sim.stats.requests - sentBefore < 6; i++) await new Promise((r) => setTimeout(r, 25));
    expect(sim.stats.requests - sentBefore).toBe(6);
    await new Promise((r) => setTimeout(r, 100));
    process.kill(-pid, 'SIGINT');
    expect(await Promise.all(streams)).toEqual(Array(6).fill(true));
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toMatch(/error|failed/i);
    // Every line whole JSON (no two processes' lines torn into each other); one request_completed line per call, with
    // its request_id, trace_id, model and the worker that served it (its pid, as the worker's other lines say).
    const lines = run
      .stdout()
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as { event?: string; request_id?: string; trace_id?: string; model?: string; worker?: number },
      );
    const done = lines.filter((l) => l.event === 'request_completed' && l.request_id?.startsWith('log-'));
    expect(done.map((l) => l.request_id).sort()).toEqual([...ids].sort());
    for (const l of done)
      expect(l).toMatchObject({ trace_id: expect.stringMatching(/^[0-9a-f]{32}$/), model: 'gpt-4o-mini' });
    expect(new Set(done.map((l) => l.worker))).toEqual(new Set(workers));
    expect(lines.filter((l) => l.event === 'request_completed')).toHaveLength(ids.length + 6);
  }, 60_000);

  it('a busy port is refused with one line naming it, before any worker starts or any store opens', async () => {
    const busy: Server = createServer();
    await new Promise<void>((ok) => busy.listen(0, '127.0.0.1', ok));
    const port = (busy.address() as { port: number }).port;
    try {
      const dir = scratch();
      const run = serve(['--upstream', sim.url, '--workers', '3', '--port', String(port)], {}, dir);
      running.push(run);
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toContain(`port ${port} is already in use on 127.0.0.1`);
      expect(run.stderr()).not.toMatch(/\n\s+at /);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await new Promise<void>((ok) => busy.close(() => ok()));
    }
  }, 30_000);

  it('SIGUSR2 (a rolling restart, as a systemd reload sends it) to one process is said and ignored, not the end of it', async () => {
    const run = serve(['--upstream', fast.url], {}, scratch());
    running.push(run);
    const base = await run.serving;
    process.kill(run.proc.pid as number, 'SIGUSR2');
    const deadline = Date.now() + 10_000;
    while (!run.stdout().includes('rolling_restart_ignored') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    expect(run.stdout()).toContain('"event":"rolling_restart_ignored"');
    expect(run.proc.exitCode).toBe(null);
    const r = await fetch(`${base}/healthz`);
    expect(r.status).toBe(200);
    killServe(run.proc);
  }, 30_000);

  it('--workers 0 and --workers many are refused with what to give instead', async () => {
    for (const [flag, says] of [
      ['0', '--workers must be a whole number of gateway processes (1 or more) or "auto"'],
      ['many', '--workers must be a whole number'],
      ['300', 'server.workers'],
    ] as const) {
      const run = serve(['--upstream', sim.url, '--workers', flag], {}, scratch());
      running.push(run);
      expect(await run.exited).toBe(1);
      expect(run.stderr()).toContain(says);
      expect(run.stderr()).not.toMatch(/\n\s+at /);
    }
  }, 30_000);
});
