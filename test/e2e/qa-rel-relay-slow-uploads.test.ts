// `serve --workers 2`: a gateway worker relays /healthz, /readyz, /metrics, /api and the dashboard to the recorder
// process. Its connections to the recorder were a pool of 64, so 64 uploads trickling in from callers allowed to
// send them (OTLP exporters on /v1/traces or ingest batches over slow links, with a token or by loopback trust as
// here; one without is answered 401 at once) took every one of them, and every relayed request queued behind them
// for as long as they lasted: /healthz, /readyz and /metrics stopped answering on every worker, and a liveness probe
// would have restarted a healthy host.
// One process serves each of those requests on its own connection; the workers now relay each on its own too.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, rawConnection, type ServeProcess, startServeProcess } from './helpers.js';

const TOKEN = 'qa-rel-admin-token-0123456789abcdef';
/** More slow uploads than the two workers' relay pools held together (2 × 64). */
const UPLOADS = 200;

let sim: Simulator;
let serve: ServeProcess;
let dir: string;
let port: number;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-rel-relay-'));
  port = await freePort();
  const file = join(dir, 'c.json');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port, workers: 2, adminToken: TOKEN },
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

describe('serve --workers 2 with uploads to /api trickling in', () => {
  it('still answers /healthz, /readyz, /metrics and the dashboard on every worker', async () => {
    const uploads = Array.from({ length: UPLOADS }, () => rawConnection(port));
    const drip = setInterval(() => {
      for (const u of uploads) if (!u.closed()) u.socket.write(' ');
    }, 1_000);
    try {
      await Promise.all(
        uploads.map(
          (u) =>
            new Promise<void>((resolve) =>
              u.socket.write(
                `POST /api/ingest HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\ncontent-type: application/json\r\ncontent-length: 1000000\r\n\r\n[`,
                () => resolve(),
              ),
            ),
        ),
      );
      // Each probe goes to the next worker in turn; several rounds reach both, behind the uploads they took first.
      for (let round = 0; round < 3; round++) {
        for (const path of ['/healthz', '/readyz', '/metrics', '/api/requests?limit=1', '/']) {
          const r = await request(`http://127.0.0.1:${port}${path}`, {
            headers: { authorization: `Bearer ${TOKEN}` },
            // A hang here is the defect: before, these never answered while the uploads lasted.
            headersTimeout: 30_000,
            bodyTimeout: 30_000,
          });
          await r.body.dump();
          expect([path, r.statusCode]).toEqual([path, 200]);
        }
      }
      // The uploads themselves are still open (they keep moving), not cut to make room.
      expect(uploads.filter((u) => u.closed()).length).toBeLessThan(UPLOADS);
    } finally {
      clearInterval(drip);
      for (const u of uploads) u.socket.destroy();
    }
  }, 240_000);
});
