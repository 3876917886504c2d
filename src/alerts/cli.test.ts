import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { backtestSignalSources } from '../cli/backtest-signals.js';
import { gpuStoreFor } from '../gpu/storage/index.js';
import { qualityStoreFor } from '../quality/storage/index.js';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { backtestCommand } from './backtest-command.js';
import { callAt } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);

function io(env: NodeJS.ProcessEnv, progressStream?: NodeJS.WriteStream) {
  const out: string[] = [];
  return { out, io: { out: (s: string) => out.push(s), err: () => {}, env, now: T0 + 3 * 3600_000, progressStream } };
}

/** A stream that says it is a terminal, to see the progress bar. */
function fakeTty(): { stream: NodeJS.WriteStream; text: () => string } {
  const chunks: string[] = [];
  const w = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(w, { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  return { stream: w, text: () => chunks.join('') };
}

describe('llmscope alerts backtest', () => {
  it('refuses a store that does not exist, and creates nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-bt-'));
    const path = join(dir, 'data', 'llmscope.db');
    const { io: i } = io({ LLMSCOPE_STORAGE_URL: `sqlite:${path}` });
    await expect(backtestCommand({ from: '2h' }, i)).rejects.toThrow(
      /no llmscope data at .*llmscope\.db; run `llmscope serve`/,
    );
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('refuses an in-memory store, which holds no history', async () => {
    const { io: i } = io({ LLMSCOPE_STORAGE_URL: 'sqlite::memory:' });
    await expect(backtestCommand({ from: '2h' }, i)).rejects.toThrow(/keeps none on disk/);
  });

  it('says so when the store has no data over the period instead of "0 notifications"', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-bt-')), 'x.db');
    const s = new SqliteStore(path);
    await s.migrate();
    await s.close();
    const { io: i, out } = io({ LLMSCOPE_STORAGE_URL: `sqlite:${path}` });
    await backtestCommand({ from: '2h' }, i);
    expect(out.join('')).toContain('no rule had data over this period');
    expect(out.join('')).not.toContain('notifications: 0');
  });

  it('counts over stored history, with a progress bar on a terminal only', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-bt-')), 'x.db');
    const s = new SqliteStore(path);
    await s.migrate();
    const calls = [];
    for (let m = 0; m < 180; m++) for (let k = 0; k < 10; k++) calls.push(callAt(T0 + m * 60_000 + k * 5000, {}));
    await s.insertCalls(calls);
    await s.close();
    const tty = fakeTty();
    const { io: i, out } = io({ LLMSCOPE_STORAGE_URL: `sqlite:${path}` }, tty.stream);
    await backtestCommand({ from: String(T0), to: String(T0 + 3 * 3600_000), step: '5m' }, i);
    expect(out.join('')).toContain('37 evaluations every 300s');
    expect(out.join('')).toContain('notifications: 0 (0.0 per day)');
    // rules reading live signals are named as not replayed, not lumped in with rules that had no data
    const text = out.join('');
    expect(text).toMatch(/not replayed: .*HallucinationRateHigh \(hallucination_rate\).*left out of the counts/);
    expect(text).not.toMatch(/no data for: [^\n]*(SingleCallCostHigh|HallucinationRateHigh|BudgetExceeded)/);
    expect(tty.text()).toContain('evaluations');
    const quiet = fakeTty();
    const j = io({ LLMSCOPE_STORAGE_URL: `sqlite:${path}` }, quiet.stream);
    await backtestCommand({ from: String(T0), to: String(T0 + 3600_000), step: '10m', json: true }, j.io);
    const answer = JSON.parse(j.out.join(''));
    expect(answer.evaluations).toBe(7);
    // camelCase like its other keys (QA27), the first spelling kept
    expect(answer.noData).toBe(answer.no_data);
    expect(typeof answer.noData).toBe('boolean');
    expect(quiet.text()).toBe('');
  });

  it("replays HallucinationRateHigh and GpuUnderutilized from the store's quality counts and GPU rollups (as serve and the demo fire them), not 'no data'", async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-bt-')), 'x.db');
    const s = new SqliteStore(path);
    await s.migrate();
    const calls = [];
    for (let m = 0; m < 180; m++) for (let k = 0; k < 10; k++) calls.push(callAt(T0 + m * 60_000 + k * 5000, {}));
    await s.insertCalls(calls);
    // what the quality module kept: 5 calls evaluated a minute, 1 flagged (20%, above the rule's 5%) in the 2nd hour
    const q = await qualityStoreFor(s.backend);
    const rows = [];
    for (let m = 0; m < 180; m++)
      rows.push({
        t: T0 + m * 60_000,
        model: 'gpt-4o-mini',
        feature: '',
        responses: 10,
        refusals: 0,
        evaluated: 5,
        flagged: m >= 60 && m < 120 ? 1 : 0,
        feedbackUp: 0,
        feedbackDown: 0,
      });
    await q.addCounts(rows);
    // and one GPU, 30% busy for three hours (GpuUnderutilized: under 80% for 30 minutes)
    const g = await gpuStoreFor(s.backend);
    const samples = [];
    for (let t = T0; t < T0 + 3 * 3600_000; t += 15_000)
      samples.push({
        host: 'gpu-node-1',
        gpu: '0',
        uuid: null,
        name: 'H100',
        utilization: 0.3,
        memoryUsedBytes: 1e9,
        memoryTotalBytes: 8e10,
        temperatureC: 50,
        powerW: 300,
        at: t,
      });
    await g.insertSamples(samples, 15_000);
    await s.close();
    const env = { LLMSCOPE_STORAGE_URL: `sqlite:${path}` };
    const flags = { from: String(T0), to: String(T0 + 3 * 3600_000) };
    const { io: i, out } = io(env);
    await backtestCommand(flags, { ...i, signals: backtestSignalSources });
    const text = out.join('');
    expect(text).toMatch(/HallucinationRateHigh +\d+ \/ 1\n/);
    expect(text).toMatch(/GpuUnderutilized +\d+ \/ 1\n/);
    expect(text).not.toMatch(/(not replayed|no data for): [^\n]*(HallucinationRateHigh|GpuUnderutilized)/);
    expect(text).toMatch(/not replayed: [^\n]*BudgetExceeded \(budget_ratio\)/);
    // without the quality source (alerts alone) it is named as not replayed
    const bare = io(env);
    await backtestCommand(flags, bare.io);
    expect(bare.out.join('')).toMatch(/not replayed: [^\n]*HallucinationRateHigh \(hallucination_rate\)/);
  });
});
