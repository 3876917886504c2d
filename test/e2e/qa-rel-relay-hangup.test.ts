// `serve --workers 2`: a client that hangs up before a relayed answer is whole (Prometheus giving up on a slow scrape,
// a dashboard tab closed while /api loads) was logged by the worker at error level, event http_error 'request
// failed' with the stack of an ERR_STREAM_PREMATURE_CLOSE: 20 such hang-ups, 20 error lines, where one process logs
// nothing (nobody is left to answer, and nothing failed). The log is read whole once serve has drained and exited,
// so every relayed request has ended by then.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, rawConnection, type ServeProcess, startServeProcess } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let dir: string;
let port: number;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-rel-hangup-'));
  port = await freePort();
  const file = join(dir, 'c.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port, workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'l.db')}` },
      gpu: { collector: 'none' },
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 120_000);

afterAll(async () => {
  killServe(serve?.proc);
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('serve --workers 2, clients that hang up before a relayed answer', () => {
  it('are not logged as errors', async () => {
    const hangups = ['/metrics', '/api/requests?limit=500', '/api/stats/summary', '/'].flatMap((path) =>
      Array.from({ length: 5 }, () => path),
    );
    await Promise.all(
      hangups.map(
        (path) =>
          new Promise<void>((resolve) => {
            const c = rawConnection(port);
            c.socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`, () =>
              setTimeout(() => {
                c.socket.destroy();
                resolve();
              }, 5),
            );
          }),
      ),
    );
    // The fleet still answers, then drains (letting every relayed request end) and exits.
    const r = await request(`${serve.base}/readyz`);
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    const exited = new Promise((resolve) => serve.proc.once('exit', resolve));
    serve.proc.kill('SIGTERM');
    await exited;
    const errors = serve.stdout
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { event?: string; err?: { message?: string } })
      .filter((l) => l.event === 'http_error');
    expect(errors.map((l) => l.err?.message)).toEqual([]);
  }, 120_000);
});
