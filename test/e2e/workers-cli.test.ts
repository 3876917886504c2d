// `llmscope serve --workers` from the command line, as an operator starts and stops it: the worker count from the
// flag, LLMSCOPE_WORKERS or server.workers; a busy port refused with one line before any worker starts; Ctrl-C in a
// terminal (SIGINT to the whole process group) drains the fleet once, streams in flight complete, exit 0.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

interface Run {
  proc: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Resolves with the base URL once serve says where it serves. */
  serving: Promise<string>;
}

function serve(args: string[], env: NodeJS.ProcessEnv, cwd: string): Run {
  // Its own process group, as a shell gives a command started in a terminal.
  const proc = spawn(process.execPath, [BIN, 'serve', ...args], {
    cwd,
    env: { ...process.env, LLMSCOPE_PORT: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let err = '';
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  const serving = new Promise<string>((ok, fail) => {
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving on (http:\/\/[\d.:]+)/.exec(err);
      if (m) ok(m[1] as string);
    });
    void exited.then((code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
  serving.catch(() => {});
  return { proc, stderr: () => err, exited, serving };
}

let sim: Simulator;
const running: Run[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 100, tpotMs: 20, outputTokens: 30 });
});

afterAll(async () => {
  for (const r of running)
    if (r.proc.exitCode === null && r.proc.signalCode === null) {
      for (const pid of childrenOf(r.proc.pid as number)) process.kill(pid, 'SIGKILL');
      r.proc.kill('SIGKILL');
    }
  await sim?.close();
});

const scratch = () => mkdtempSync(join(tmpdir(), 'llmscope-workers-cli-'));

describe('serve --workers from the command line', () => {
  it('LLMSCOPE_WORKERS=2 starts two workers; Ctrl-C (SIGINT to the group) drains them once and exits 0', async () => {
    const run = serve(['--upstream', sim.url], { LLMSCOPE_WORKERS: '2' }, scratch());
    running.push(run);
    const base = await run.serving;
    expect(run.stderr()).toContain('with 2 gateway workers');
    const pid = run.proc.pid as number;
    expect(childrenOf(pid)).toHaveLength(2);
    const streams = Array.from({ length: 6 }, async (_, i) => {
      const r = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `s ${i}` }], stream: true }),
      });
      return (await r.text()).trimEnd().endsWith('data: [DONE]');
    });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(-pid, 'SIGINT');
    expect(await Promise.all(streams)).toEqual(Array(6).fill(true));
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toMatch(/error|failed/i);
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
