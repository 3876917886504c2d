// An alert's value carried binary floating-point noise into notifications, /api/alerts and the log receiver's line
// (QA45: `value: 0.30000000000000004` for 0.1 + 0.2 dollars, `0.10000000000000002` for a ratio): the engine now keeps
// a value to 12 significant digits once its rule has judged it (the comparison itself sees the exact sum).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../store/sqlite/sqlite-store.js';
import { alertsConfigOf } from './config.js';
import { Engine } from './engine.js';
import { compileRules } from './rules.js';
import { MemoryAlertStateStore } from './state/index.js';
import { callAt } from './testing.js';

const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);

describe("an alert's value", () => {
  let store: SqliteStore;
  beforeEach(async () => {
    store = new SqliteStore(':memory:');
    await store.migrate();
  });
  afterEach(() => store.close());

  it('has no floating-point noise in events, active alerts and annotations', async () => {
    const cfg = alertsConfigOf({
      defaultRules: false,
      slos: [],
      rules: [
        { name: 'Spend', kind: 'spend_day', threshold: 0.25, annotations: { summary: 'spent {{ $value }}' } },
        { name: 'Errors', kind: 'error_rate', window: '5m', threshold: 0.05, minSamples: 1 },
      ],
    });
    await store.insertCalls([
      callAt(T0, { costUsd: 0.1 }),
      callAt(T0 + 1000, { costUsd: 0.2 }),
      ...Array.from({ length: 8 }, (_, i) => callAt(T0 + 2000 + i, { costUsd: 0 })),
      callAt(T0 + 3000, { costUsd: 0, status: 'upstream_error' }),
    ]);
    const engine = new Engine({ rules: compileRules(cfg).rules, store, state: new MemoryAlertStateStore() });
    const r = await engine.evaluate(T0 + 59_000);
    const values = Object.fromEntries(r.events.map((e) => [e.alertname, e.value]));
    expect(values).toEqual({ Spend: 0.3, Errors: 0.0909090909091 });
    const active = engine.activeAlerts();
    expect(active.map((a) => a.value).sort()).toEqual([0.0909090909091, 0.3]);
    expect(active.find((a) => a.ruleId === 'Spend')?.annotations.summary).toBe('spent 0.3');
  });
});
