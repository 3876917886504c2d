// The recorder process of `llmscope serve --workers 2` dies (SIGKILL, as an OOM kill would): docs/deploy.md says its
// workers, cut off from it, finish their calls in flight and exit. So every stream in flight completes for its client,
// each worker says in the log why it stops, and then every process of the fleet is gone and the port is free for the
// supervisor to start it again.
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, type ServeProcess, startServeWithConfig, until } from './helpers.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

let sim: Simulator;
let serve: ServeProcess;
let workers: number[] = [];

beforeAll(async () => {
  // About 1.5 s per stream: long enough to be cut by a worker that exits at once.
  sim = await startSimulator({ port: 0, ttftMs: 100, tpotMs: 35, outputTokens: 40 });
  serve = await startServeWithConfig({
    prefix: 'llmscope-workers-crash-',
    config: (dir) => ({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '20s', workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'info' },
      gpu: { collector: 'none' },
    }),
  });
  workers = await until(() => {
    const w = childrenOf(serve.proc.pid as number);
    return w.length === 2 ? w : null;
  });
}, 60_000);

afterAll(async () => {
  for (const pid of [serve?.proc.pid, ...workers]) if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
  await sim?.close();
});

describe('serve --workers: the recorder process dies', () => {
  it('the workers finish the streams in flight, say why they stop, and exit; the port is free', async () => {
    const port = Number(new URL(serve.base).port);
    const N = 8;
    const sentBefore = sim.stats.requests;
    const streams = Array.from({ length: N }, async (_, i) => {
      try {
        const r = await fetch(`${serve.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `s ${i}` }], stream: true }),
        });
        return (await r.text()).trimEnd().endsWith('data: [DONE]') ? 'done' : 'cut';
      } catch {
        return 'cut';
      }
    });
    // Every stream reached the upstream (so a worker has it) before the signal.
    for (let i = 0; i < 400 && sim.stats.requests - sentBefore < N; i++) await new Promise((r) => setTimeout(r, 25));
    expect(sim.stats.requests - sentBefore).toBe(N);
    await new Promise((r) => setTimeout(r, 100));
    serve.proc.kill('SIGKILL');
    expect(await Promise.all(streams)).toEqual(Array(N).fill('done'));
    await until(() => workers.every((pid) => !alive(pid)));
    const lines = () =>
      serve.stdout
        .join('')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { event?: string; worker?: number });
    const goneLines = () => lines().filter((l) => l.event === 'recorder_gone');
    // Each worker's last line may still be in the pipe when /proc no longer lists it: read until both are there.
    await until(() => goneLines().length >= workers.length).catch(() => undefined);
    const gone = goneLines().map((l) => l.worker);
    expect(gone.sort()).toEqual([...workers].sort());
    // The port the log says llmscope listens on is the one clients use, not the recorder's loopback listener.
    const said = lines().filter((l) => l.event === 'listening' || l.event === 'workers_started') as { url?: string }[];
    expect(said.map((l) => l.url)).toEqual([serve.base]);
    // Each worker ends as it says it does, not with a stack trace (an unheard error from its closed channel).
    expect(serve.stderr()).not.toMatch(/ERR_IPC|Unhandled 'error'|\n\s+at /);
    // Nothing holds the port any more: a restarted llmscope can listen on it.
    const probe = createServer();
    await new Promise<void>((ok, fail) => {
      probe.once('error', fail);
      probe.listen(port, '127.0.0.1', () => ok());
    });
    await new Promise((r) => probe.close(r));
  }, 60_000);
});
