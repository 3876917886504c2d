// Connections handed to a gateway worker that dies before it takes them (`llmscope serve --workers 2`, the built
// CLI). The recorder accepts every connection on the public port and hands it to a worker; a worker that stalls (as
// one under memory pressure does before the OOM killer ends it) and is then killed with SIGKILL while new connections
// keep arriving must leave no client waiting: each request gets its answer, or a connection error its client can
// retry, within a bound (before: node:cluster's round robin kept the connection it had handed the dead worker open
// in the recorder for ever, and that client waited until its own timeout). The fleet serves the retried calls. The
// same hand-off serves TLS, with keep-alive. A background response a killed worker held for its poll is counted
// with the calls it lost.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/alerts/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import {
  childrenOf,
  killServe,
  metricValue,
  parseMetrics,
  type ServeProcess,
  selfSignedCert,
  startServeProcess,
  until,
} from './helpers.js';

const BIN = new URL('../../bin/llmscope.js', import.meta.url).pathname;
/** Longer than any answer here takes: a request with no answer nor error by then has hung. */
const HANG_MS = 20_000;

let sim: Simulator;
const dirs: string[] = [];
const procs: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
});
afterAll(async () => {
  for (const p of procs) killServe(p);
  await sim?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configFile(extra: Record<string, unknown>, port: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-killed-'));
  dirs.push(dir);
  const file = join(dir, 'llmscope.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port, workers: 2, ...extra },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'calls.db')}` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  );
  return file;
}

const BODY = JSON.stringify({ model: 'sim-model', messages: [{ role: 'user', content: 'hi' }] });

/**
 * One call on a connection of its own: 200, `error CODE` (the connection was closed or reset: the client can retry)
 * or `hung` (no answer nor error within HANG_MS).
 */
async function freshCall(base: string): Promise<string> {
  const client = new Client(base, { headersTimeout: HANG_MS, bodyTimeout: HANG_MS, pipelining: 1 });
  try {
    const r = await client.request({
      path: '/v1/chat/completions',
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    await r.body.text();
    return String(r.statusCode);
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' ? 'hung' : `error ${code}`;
  } finally {
    client.destroy().catch(() => {});
  }
}

describe('serve --workers: a worker killed while new connections arrive', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await startServeProcess({}, ['-c', configFile({}, await freePort())]);
    procs.push(serve.proc);
  }, 60_000);

  it('leaves no connection hanging: each gets its answer or an error, and the retried calls are served', async () => {
    const primary = serve.proc.pid as number;
    const workers = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    expect(await freshCall(serve.base)).toBe('200');
    const victim = workers[0] as number;
    // New connections keep arriving, one every 10 ms, each with its call.
    const calls: Promise<string>[] = [];
    let answered = 0;
    let arriving = true;
    const stream = (async () => {
      while (arriving) {
        calls.push(
          freshCall(serve.base).then((r) => {
            if (r === '200') answered++;
            return r;
          }),
        );
        await new Promise((r) => setTimeout(r, 10));
      }
    })();
    // The victim stalls: the connections handed to it meanwhile wait for it, the other worker answers the rest.
    process.kill(victim, 'SIGSTOP');
    await until(() => answered >= 20, 30_000);
    process.kill(victim, 'SIGKILL');
    // It is replaced, and new connections are still served after it died.
    const after = answered;
    await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 && !w.includes(victim);
    }, 30_000);
    await until(() => answered >= after + 20, 30_000);
    arriving = false;
    await stream;
    const results = await Promise.all(calls);
    // No call hung; each that got no answer got a connection error.
    expect(results.filter((r) => r === 'hung')).toEqual([]);
    const failed = results.filter((r) => r !== '200');
    for (const r of failed) expect(r).toMatch(/^error /);
    // Retried, they are served.
    const retried = await Promise.all(failed.map(() => freshCall(serve.base)));
    expect(retried).toEqual(failed.map(() => '200'));
    const m = parseMetrics(await (await fetch(`${serve.base}/metrics`)).text());
    expect(metricValue(m, 'llmscope_worker_restarts_total', { reason: 'crashed' })).toBe(1);
  }, 120_000);

  it('counts a background response its worker held for the poll with the calls lost when the workers die', async () => {
    const primary = serve.proc.pid as number;
    const workers = await until(() => {
      const w = childrenOf(primary);
      return w.length === 2 ? w : null;
    });
    const metrics = async () => parseMetrics(await (await fetch(`${serve.base}/metrics`)).text());
    const lost0 = metricValue(await metrics(), 'llmscope_worker_lost_calls_total');
    // On one connection, so one worker: a background response (answered queued, held for its poll), then a call.
    const client = new Client(serve.base, { pipelining: 1 });
    const post = async (path: string, body: unknown, id: string) => {
      const r = await client.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id },
        body: JSON.stringify(body),
      });
      return { status: r.statusCode, body: (await r.body.json()) as { status?: string } };
    };
    const queued = await post('/v1/responses', { model: 'sim-model', input: 'later', background: true }, 'bg-held');
    expect(queued).toMatchObject({ status: 200, body: { status: 'queued' } });
    expect((await post('/v1/chat/completions', JSON.parse(BODY), 'after-bg')).status).toBe(200);
    await client.close();
    // The call after it is stored: the worker's batch that carried it told the recorder what it still held.
    await until(async () => (await fetch(`${serve.base}/api/requests/after-bg`)).status === 200);
    for (const w of workers) process.kill(w, 'SIGKILL');
    const lost = await until(async () => {
      const w = childrenOf(primary);
      if (w.length !== 2 || w.some((p) => workers.includes(p))) return null;
      const m = await metrics().catch(() => null);
      return m && (metricValue(m, 'llmscope_worker_lost_calls_total') - lost0 || null);
    }, 30_000);
    // Before, only calls in flight counted: the held background response was lost uncounted.
    expect(lost).toBe(1);
    // Recorded by the recorder as the dying worker's call, as it knew it from its admission (decision 89): it was
    // 404 (not recorded at all) before.
    const held = await until(async () => {
      const r = await fetch(`${serve.base}/api/requests/bg-held`);
      return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : null;
    });
    expect(held).toMatchObject({
      status: 'upstream_error',
      http_status: 502,
      error_type: 'worker_exited',
      endpoint: 'responses',
      cost_usd: null,
    });
  }, 60_000);
});

describe('serve --workers over TLS', () => {
  it('serves calls through the workers, several on one kept-alive connection', async () => {
    const { dir, cert, key } = selfSignedCert('llmscope-workers-tls-');
    dirs.push(dir);
    const port = await freePort();
    const proc = spawn(process.execPath, [BIN, 'serve', '-c', configFile({ tls: { cert, key } }, port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    procs.push(proc);
    let err = '';
    proc.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    await until(() => /serving on https:\/\//.test(err), 30_000);
    // One client, one connection: the recorder hands it to one worker, which keeps it alive for every call.
    const client = new Client(`https://127.0.0.1:${port}`, { connect: { rejectUnauthorized: false }, pipelining: 1 });
    let connects = 0;
    client.on('connect', () => connects++);
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await client.request({
        path: '/v1/chat/completions',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      await r.body.text();
      statuses.push(r.statusCode);
    }
    const metrics = await client.request({ path: '/metrics', method: 'GET' });
    const text = await metrics.body.text();
    await client.close();
    expect(statuses).toEqual([200, 200, 200, 200]);
    expect(metrics.statusCode).toBe(200);
    expect(text).toMatch(/^llmscope_workers 2$/m);
    expect(connects).toBe(1);
  }, 60_000);
});
