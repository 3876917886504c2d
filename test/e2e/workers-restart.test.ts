// A gateway worker of `llmscope serve --workers 2` that fails at start every time (here: starting its server throws,
// as a broken install would): the recorder keeps trying with a doubling wait, never a busy loop, and says each time
// why the worker did not start, how many in a row failed, and when it tries again; the other worker keeps serving;
// once the cause is gone the next try serves, and the log says so.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { childrenOf, killServe, type ServeProcess, startServeProcess, until } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let dir: string;
let flag: string;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-restart-'));
  flag = join(dir, 'refuse-listen');
  // Loaded into every process of the fleet (NODE_OPTIONS): while the flag file exists, a worker's server fails as it
  // starts (the workers listen on nothing: the recorder hands them connections; their server still starts as one
  // that listens, with its 'listening' event).
  const hook = join(dir, 'refuse-listen.mjs');
  writeFileSync(
    hook,
    `import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import net from 'node:net';
if (cluster.isWorker) {
  const emit = net.Server.prototype.emit;
  net.Server.prototype.emit = function (event, ...args) {
    if (event === 'listening' && existsSync(${JSON.stringify(flag)}))
      throw Object.assign(new Error('listen EACCES: refused by the test'), { code: 'EACCES' });
    return emit.call(this, event, ...args);
  };
}
`,
  );
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      gpu: { collector: 'none' },
    }),
  );
  const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --import=${hook}`.trim();
  serve = await startServeProcess({ NODE_OPTIONS: nodeOptions }, ['-c', file]);
}, 60_000);

afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Line {
  event?: string;
  level?: string | number;
  err?: string;
  failed_starts?: number;
  restart_in_ms?: number;
  serving?: number;
  after_failed_starts?: number;
}
const lines = (event: string): Line[] =>
  serve.stdout
    .join('')
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line)
    .filter((l) => l.event === event);

const call = async (): Promise<number> => {
  const r = await fetch(`${serve.base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.text();
  return r.status;
};

describe('serve --workers: a worker that fails at start every time', () => {
  it('is tried again with a doubling wait, each failure logged with its reason; the fleet serves meanwhile and after', async () => {
    const pid = serve.proc.pid as number;
    const [victim] = childrenOf(pid);
    writeFileSync(flag, '');
    process.kill(victim as number, 'SIGKILL');
    const failed = await until(() => {
      const l = lines('worker_start_failed');
      return l.length >= 3 ? l : null;
    }, 40_000);
    // The killed worker's line, then one line per failed start: why, how many in a row, when the next try is.
    expect(lines('worker_exited')).toMatchObject([{ restart_in_ms: 100 }]);
    expect(failed.slice(0, 3)).toMatchObject([
      {
        level: 'error',
        err: expect.stringContaining('listen EACCES: refused by the test'),
        failed_starts: 1,
        restart_in_ms: 200,
        serving: 1,
      },
      { failed_starts: 2, restart_in_ms: 400, serving: 1 },
      { failed_starts: 3, restart_in_ms: 800, serving: 1 },
    ]);
    // The other worker serves all the while.
    expect(await call()).toBe(200);
    rmSync(flag);
    const started = await until(() => lines('worker_started')[0]);
    expect(started.after_failed_starts).toBeGreaterThanOrEqual(3);
    await until(async () => {
      const m = await (await fetch(`${serve.base}/metrics`)).text();
      return /^llmscope_workers 2$/m.test(m);
    });
    expect(await call()).toBe(200);
  }, 90_000);
});
