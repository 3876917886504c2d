// `llmscope serve --workers 2` as a process tree. One GPU poller for the deployment: every nvidia-smi run comes from
// the recorder process, and the GPU gauges in /metrics are the GPUs' own figures (not one per process, added up).
// SIGTERM while streams run longer than `server.shutdownGrace`: the workers cut them at the grace's end, and each cut
// call is still recorded (status cancelled, with the tokens it had passed and its spend), as a call whose client went
// away is; the fleet exits 0.
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeNvidiaSmi } from '../../src/gpu/testing.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { metricValue, parseMetrics, type ServeProcess, startServeProcess, streamedText } from './helpers.js';

let sim: Simulator;
let serve: ServeProcess;
let db: string;
let smiRuns: string;

beforeAll(async () => {
  // 60 tokens, one per 100 ms: 6 s a stream, far past the 1 s grace.
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 100, outputTokens: 60 });
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-workers-grace-'));
  db = join(dir, 'calls.db');
  const file = join(dir, 'llmscope.yaml');
  // The fixture's one GPU (100% busy, 19,818 MiB used), behind a wrapper that notes which process ran it.
  smiRuns = join(dir, 'smi-runs.log');
  const smi = join(dir, 'nvidia-smi');
  writeFileSync(
    smi,
    `#!/bin/sh\necho $PPID >> '${smiRuns}'\nexec '${fakeNvidiaSmi({ fixture: 'nvidia-smi-1gpu.txt' })}/nvidia-smi' "$@"\n`,
  );
  chmodSync(smi, 0o755);
  writeFileSync(
    file,
    JSON.stringify({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '1s', workers: 2 },
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${db}` },
      pricing: { models: [{ model: 'long-model', input: 0, output: 1 }] },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'nvidia-smi', interval: '200ms', nvidiaSmiPath: smi },
    }),
  );
  serve = await startServeProcess({}, ['-c', file]);
}, 60_000);

afterAll(async () => {
  if (serve && serve.proc.exitCode === null && serve.proc.signalCode === null) serve.proc.kill('SIGKILL');
  await sim?.close();
});

describe('serve --workers: one GPU poller', () => {
  it('runs nvidia-smi from the recorder process only; /metrics has the GPU figures once', async () => {
    const runs = (): string[] => {
      try {
        return readFileSync(smiRuns, 'utf8').split('\n').filter(Boolean);
      } catch {
        return [];
      }
    };
    const deadline = Date.now() + 15_000;
    while (runs().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(runs().length).toBeGreaterThanOrEqual(5);
    expect(new Set(runs())).toEqual(new Set([String(serve.proc.pid)]));
    const m = parseMetrics(await (await fetch(`${serve.base}/metrics`)).text());
    expect(metricValue(m, 'gpu_utilization_ratio', { gpu: '0' })).toBe(1);
    expect(metricValue(m, 'gpu_memory_used_bytes', { gpu: '0' })).toBe(19_818 * 1024 * 1024);
  }, 30_000);
});

describe('serve --workers: SIGTERM with streams longer than server.shutdownGrace', () => {
  it('cuts them at the grace and records each as cancelled with the tokens it had passed', async () => {
    const exited = new Promise<number | null>((r) => serve.proc.once('exit', (code) => r(code)));
    const N = 6;
    const sentBefore = sim.stats.requests;
    const streams = Array.from({ length: N }, (_, i) =>
      streamedText(() =>
        fetch(`${serve.base}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': `grace-${i}` },
          body: JSON.stringify({ model: 'long-model', messages: [{ role: 'user', content: `s ${i}` }], stream: true }),
        }),
      ),
    );
    // Every stream reached the upstream (so a worker has it) before the signal.
    for (let i = 0; i < 400 && sim.stats.requests - sentBefore < N; i++) await new Promise((r) => setTimeout(r, 25));
    expect(sim.stats.requests - sentBefore).toBe(N);
    await new Promise((r) => setTimeout(r, 300));
    serve.proc.kill('SIGTERM');
    const texts = await Promise.all(streams);
    expect(await exited).toBe(0);
    for (const t of texts) {
      expect(t).toContain('"content"');
      expect(t).not.toContain('[DONE]');
    }
    const sql = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const rows = sql
        .prepare("SELECT request_id, status, output_tokens, cost_usd FROM calls WHERE request_id LIKE 'grace-%'")
        .all() as { request_id: string; status: string; output_tokens: number; cost_usd: number }[];
      expect(rows.map((r) => r.request_id).sort()).toEqual(Array.from({ length: N }, (_, i) => `grace-${i}`).sort());
      for (const r of rows) {
        expect(r.status).toBe('cancelled');
        expect(r.output_tokens).toBeGreaterThan(0);
        expect(r.output_tokens).toBeLessThan(60);
        expect(r.cost_usd).toBeCloseTo(r.output_tokens / 1e6, 12);
      }
    } finally {
      sql.close();
    }
  }, 60_000);
});
