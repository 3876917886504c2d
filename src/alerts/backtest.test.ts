import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { backtest } from './backtest.js';
import { alertsConfigOf } from './config.js';
import { callAt } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 0, 0, 0);
const MIN = 60_000;

describe('alerts backtest', () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('counts the notifications the rules would have sent over stored history', async () => {
    const calls = [];
    for (let m = 0; m < 6 * 60; m++) {
      // a 30-minute incident (slow and failing) at 02:00 on an otherwise healthy model
      const incident = m >= 120 && m < 150;
      for (let i = 0; i < 30; i++)
        calls.push(
          callAt(T0 + m * MIN + i * 1000, {
            latencyMs: incident ? 4000 : 400,
            status: incident && i % 5 === 0 ? 'upstream_error' : 'ok',
          }),
        );
    }
    await store.insertCalls(calls);
    const config = alertsConfigOf({ slos: [] });
    const r = await backtest({ config, store, from: T0, to: T0 + 6 * 3600_000 });
    expect(r.evaluations).toBe(361);
    // ServiceDegraded pages once (fires, then resolves); its components are inhibited
    expect(r.byRule.ServiceDegraded).toEqual({ notifications: 2, firings: 1 });
    expect(r.byRule.HighLatency?.notifications ?? 0).toBe(0);
    expect(r.byRule.HighErrorRate?.notifications ?? 0).toBe(0);
    expect(r.byReceiver.page).toBe(2);
    expect(r.withoutData).toEqual(
      expect.arrayContaining(['BudgetExceeded', 'GpuUnderutilized', 'HallucinationRateHigh']),
    );
  });

  it('a tighter threshold shows its cost before it pages anyone', async () => {
    const calls = [];
    // latency wanders around 1.5 s; an hour above 1.5 s now and then
    for (let m = 0; m < 4 * 60; m++)
      for (let i = 0; i < 20; i++)
        calls.push(callAt(T0 + m * MIN + i * 2000, { latencyMs: Math.floor(m / 30) % 2 ? 1800 : 1200 }));
    await store.insertCalls(calls);
    const base = { slos: [], defaultRules: true } as const;
    const loose = await backtest({ config: alertsConfigOf(base), store, from: T0, to: T0 + 4 * 3600_000 });
    const tight = await backtest({
      config: alertsConfigOf({ ...base, overrides: { HighLatency: { threshold: 1.5 } } }),
      store,
      from: T0,
      to: T0 + 4 * 3600_000,
    });
    expect(loose.notifications).toBe(0);
    expect(tight.byRule.HighLatency?.firings).toBe(4);
    expect(tight.notifications).toBeGreaterThanOrEqual(4);
  });
});

describe('llmscope alerts backtest', () => {
  it('prints the notifications per receiver and alert for a stored period', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { Command } = await import('commander');
    const { registerAlertsCommand } = await import('./cli.js');
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-backtest-'));
    const db = join(dir, 'db.sqlite');
    const s = new SqliteStore(db);
    await s.migrate();
    const calls = [];
    for (let m = 0; m < 60; m++)
      for (let i = 0; i < 30; i++)
        calls.push(
          callAt(T0 + m * MIN + i * 1000, {
            latencyMs: m >= 10 && m < 40 ? 4000 : 300,
            status: m >= 10 && m < 40 && i % 5 === 0 ? 'timeout' : 'ok',
          }),
        );
    await s.insertCalls(calls);
    await s.close();
    writeFileSync(join(dir, 'llmscope.yaml'), `storage: { url: 'sqlite:${db}' }\nalerts: { slos: [] }\n`);
    let out = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      out += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      const program = new Command().exitOverride();
      registerAlertsCommand(program);
      await program.parseAsync([
        'node',
        'llmscope',
        'alerts',
        'backtest',
        '--from',
        new Date(T0).toISOString(),
        '--to',
        new Date(T0 + 3600_000).toISOString(),
        '--config',
        join(dir, 'llmscope.yaml'),
      ]);
    } finally {
      process.stdout.write = write;
      rmSync(dir, { recursive: true, force: true });
    }
    expect(out).toContain('notifications: 2');
    expect(out).toContain('to page: 2');
    expect(out).toMatch(/ServiceDegraded\s+2 \/ 1/);
  });
});
