// `serve --workers 2` on SQLite whose disk fills up under load, as an operator meets it: every call is still served
// (fail open), the recorder says so (a `sink_error` warning), and once space is freed every call is stored once and
// counted once where a user reads it: /api/requests' store, /api/cost/summary, /api/quality/summary and /metrics.
// Before, the store held its calls through the outage but the spend and quality lanes dropped what they could not
// write (737 of 1,290 calls' quality counts: llmscope_recorder_dropped_total{sink="quality"}). The full disk is a small
// tmpfs mounted for the test, so this needs root (CI runs as root); elsewhere it is skipped and says so.
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, metricValue, parseMetrics, type ServeRun, startServeWithConfig, until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa25-full-'));
let mounted = false;
try {
  if (process.getuid?.() === 0) {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]);
    mounted = true;
  }
} catch {
  mounted = false;
}

/** Writes zeros to `file` until the disk is full. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024);
  try {
    for (;;) writeSync(fd, block);
  } catch {
    // ENOSPC: full
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!mounted)('serve --workers 2 on SQLite, the disk full under load (needs root to mount a tmpfs)', () => {
  let sim: Simulator;
  let serve: ServeRun;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 2, tpotMs: 1, outputTokens: 16 });
    serve = await startServeWithConfig({
      prefix: 'llmscope-qa25-full-',
      config: {
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '10s', workers: 2 },
        providers: [{ name: 'sim', baseUrl: sim.url }],
        storage: { url: `sqlite:${join(dir, 'calls.db')}` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
      },
    });
  }, 90_000);
  afterAll(async () => {
    if (serve && serve.proc.exitCode === null)
      await Promise.race([serve.stop(), new Promise((r) => setTimeout(r, 15_000))]);
    killServe(serve?.proc);
    await sim?.close();
    if (mounted) {
      for (let i = 0; i < 20; i++) {
        try {
          execFileSync('umount', [dir]);
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 250)); // the killed processes' files still open
        }
      }
      rmdirSync(dir);
    }
  });

  const get = async (path: string) => {
    const r = await request(`${serve.base}${path}`, { signal: AbortSignal.timeout(10_000) });
    return r.body.text();
  };

  it('serves every call; once space is back each is stored, priced and rated once', async () => {
    let stop = false;
    const ok = new Set<string>();
    const failed: string[] = [];
    let n = 0;
    let okWhenFull = 0;
    const client = async (k: number) => {
      const c = new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 20_000 });
      while (!stop) {
        const id = `qa25-full-${n++}`;
        try {
          await c.chat.completions.create(
            { model: 'gpt-4o-mini', user: `u${k}`, messages: [{ role: 'user', content: 'hi' }] },
            { headers: { 'x-request-id': id } },
          );
          ok.add(id);
        } catch (e) {
          failed.push(`${id}: ${(e as Error).message}`);
        }
      }
    };
    const clients = Array.from({ length: 6 }, (_, k) => client(k));
    await new Promise((r) => setTimeout(r, 1_000));
    fill(join(dir, 'filler'));
    const full = ok.size;
    await new Promise((r) => setTimeout(r, 6_000));
    okWhenFull = ok.size - full;
    rmSync(join(dir, 'filler'));
    await new Promise((r) => setTimeout(r, 1_000));
    stop = true;
    await Promise.all(clients);
    expect(failed.slice(0, 5)).toEqual([]);
    expect(okWhenFull).toBeGreaterThan(50);

    const sql = new Database(join(dir, 'calls.db'), { readonly: true, fileMustExist: true });
    try {
      const stored = await until(
        async () => {
          const r = sql.prepare('SELECT count(*) AS n, count(DISTINCT request_id) AS d FROM calls').get() as {
            n: number;
            d: number;
          };
          return r.n >= ok.size ? r : null;
        },
        30_000,
        250,
      );
      expect(stored).toEqual({ n: ok.size, d: ok.size });
    } finally {
      sql.close();
    }
    const counted = await until(
      async () => {
        const cost = JSON.parse(await get('/api/cost/summary')) as { total: { requests: number } };
        const quality = JSON.parse(await get('/api/quality/summary')) as { total: { responses: number } };
        return cost.total.requests >= ok.size && quality.total.responses >= ok.size
          ? { cost: cost.total.requests, quality: quality.total.responses }
          : null;
      },
      30_000,
      500,
    ).catch(() => null);
    const m = parseMetrics(await get('/metrics'));
    const dropped = Object.fromEntries(
      ['store', 'cost', 'quality'].map((sink) => [sink, metricValue(m, 'llmscope_recorder_dropped_total', { sink })]),
    );
    console.log(
      `workers, disk full: ${ok.size} calls served (${okWhenFull} while full), dropped ${JSON.stringify(dropped)}`,
    );
    expect(dropped).toEqual({ store: 0, cost: 0, quality: 0 });
    expect(counted).toEqual({ cost: ok.size, quality: ok.size });
    expect(metricValue(m, 'llm_requests_total')).toBe(ok.size);
    // said in the log: a lane could not write (which lane meets the full disk first depends on its batches' timing:
    // the final CI run of session 28 saw only cost's line)
    expect(serve.stdout.join('')).toMatch(
      /"event":"sink_error","sink":"(store|cost|quality)","err":"database or disk is full"/,
    );
  }, 90_000);
});
