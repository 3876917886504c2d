// `llmscope migrate` against a real PostgreSQL (test/pg.ts): a SQLite store seeded with ten days of history (raw
// calls past retention already deleted, so rollups and daily spend outlive them), quality data and alert state is
// copied, every total is compared between the two, and a second run copies nothing twice.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type AlertStateStore, PostgresAlertStateStore, SqliteAlertStateStore } from '../../src/alerts/state/index.js';
import { registerMigrateCommand } from '../../src/cli/commands.js';
import { type MigrateSummary, migrateStores } from '../../src/cli/migrate.js';
import {
  deltasOf,
  PostgresSpendStore,
  SPEND_DIMENSIONS,
  type SpendStore,
  SqliteSpendStore,
} from '../../src/cost/storage/index.js';
import { fakeCall } from '../../src/cost/testing.js';
import { PostgresQualityStore, type QualityStore, SqliteQualityStore } from '../../src/quality/index.js';
import { seedStore } from '../../src/seed/index.js';
import { createStore, type Store } from '../../src/store/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';

const DAY = 86_400_000;
const FAR = Date.UTC(9999, 0, 1);
const END = Date.UTC(2026, 10, 20, 12);

let pg: TestPostgres;
let dir: string;
let sqliteUrl: string;
let pgUrl: string;

/** Rounds floats so sums added in another order compare equal. */
const r6 = (v: number) => Math.round(v * 1e6) / 1e6;

interface Snapshot {
  calls: number;
  callCost: number;
  rollups: Record<string, unknown>;
  spend: Record<string, unknown>;
  quality: unknown;
  alerts: unknown;
}

/** Every total an operator would look at, from the public store interfaces (calls counted by paging). */
async function snapshot(store: Store, spend: SpendStore, quality: QualityStore, alerts: AlertStateStore) {
  let calls = 0;
  let callCost = 0;
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listCalls({ limit: 500, cursor });
    calls += page.items.length;
    for (const c of page.items) {
      callCost += c.costUsd ?? 0;
      ids.push(c.requestId);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  const rollups: Record<string, unknown> = {};
  for (const step of ['minute', 'hour'] as const) {
    const points = await store.queryRollups({ from: 0, to: FAR, step, groupBy: ['model'] });
    const byModel: Record<string, number[]> = {};
    for (const p of points) {
      const m = p.group.model ?? '';
      const acc = byModel[m] ?? [0, 0, 0, 0, 0, 0];
      const hist = Object.values(p.latency).reduce((n, c) => n + c, 0);
      acc[0] = (acc[0] ?? 0) + p.requests;
      acc[1] = (acc[1] ?? 0) + p.errors;
      acc[2] = (acc[2] ?? 0) + p.inputTokens;
      acc[3] = (acc[3] ?? 0) + p.outputTokens;
      acc[4] = (acc[4] ?? 0) + p.costUsd;
      acc[5] = (acc[5] ?? 0) + hist;
      byModel[m] = acc;
    }
    for (const v of Object.values(byModel)) for (let i = 0; i < v.length; i++) v[i] = r6(v[i] ?? 0);
    rollups[step] = { points: points.length, byModel };
    // the ungrouped view reads the PostgreSQL total tables: they must agree too
    const totals = await store.queryRollups({ from: 0, to: FAR, step });
    rollups[`${step}Total`] = [
      totals.reduce((n, p) => n + p.requests, 0),
      r6(totals.reduce((n, p) => n + p.costUsd, 0)),
    ];
  }
  const spendOut: Record<string, unknown> = {};
  for (const dimension of SPEND_DIMENSIONS) {
    const q = { from: 0, to: FAR, dimension };
    const sum = (rows: { costUsd: number; requests: number; bytes: number; toolCostUsd: number }[]) => [
      rows.length,
      r6(rows.reduce((n, x) => n + x.costUsd, 0)),
      rows.reduce((n, x) => n + x.requests, 0),
      rows.reduce((n, x) => n + x.bytes, 0),
      r6(rows.reduce((n, x) => n + x.toolCostUsd, 0)),
    ];
    spendOut[dimension] = { daily: sum(await spend.daily(q)), minutes: sum(await spend.minutes(q)) };
  }
  spendOut.reconciliations = (await spend.listReconciliations(100)).map((x) => x.id);
  spendOut.costItems = (await spend.costItems('0000-01-01', '9999-12-31')).length;
  const feedback = [];
  const evaluations = [];
  for (const id of ids.slice(0, 200)) {
    feedback.push(...(await quality.feedbackFor(id)));
    evaluations.push(...(await quality.evaluationsFor(id)).map((e) => ({ ...e, score: r6(e.score) })));
  }
  const review = (await quality.listReview({ status: 'all', limit: 500 })).items;
  const counts = await quality.queryCounts({ from: 0, to: FAR, step: 'total' });
  const sortBy = <T>(xs: T[]) => xs.map((x) => JSON.stringify(x)).sort();
  const alertState = {
    active: sortBy(await alerts.loadActive()),
    events: sortBy(await alerts.listEvents({ from: 0, to: FAR })),
    notifications: sortBy(await alerts.listNotifications({ from: 0, to: FAR })),
    nflog: sortBy(await alerts.loadNotifyLog()),
    silences: sortBy(await alerts.listSilences()),
  };
  return {
    calls,
    callCost: r6(callCost),
    rollups,
    spend: spendOut,
    quality: { feedback: sortBy(feedback), evaluations: sortBy(evaluations), review: sortBy(review), counts },
    alerts: alertState,
  } satisfies Snapshot;
}

async function sqliteSnapshot() {
  const store = createStore(sqliteUrl);
  await store.migrate();
  if (store.backend.kind !== 'sqlite') throw new Error('expected SQLite');
  const db = store.backend.db;
  const quality = new SqliteQualityStore(db);
  await quality.migrate();
  try {
    return await snapshot(store, new SqliteSpendStore(db), quality, new SqliteAlertStateStore(db));
  } finally {
    await store.close();
  }
}

async function pgSnapshot() {
  const store = createStore(pgUrl);
  await store.migrate();
  if (store.backend.kind !== 'postgres') throw new Error('expected PostgreSQL');
  const spend = new PostgresSpendStore(store.backend);
  await spend.migrate();
  const quality = new PostgresQualityStore(store.backend);
  await quality.migrate();
  const alerts = new PostgresAlertStateStore(store.backend);
  await alerts.migrate();
  try {
    return await snapshot(store, spend, quality, alerts);
  } finally {
    await store.close();
  }
}

/** A seeded SQLite store with quality data, alert state, a reconciliation and cost items. */
async function seedSqlite(path: string): Promise<void> {
  const store = createStore(`sqlite:${path}`);
  await store.migrate();
  if (store.backend.kind !== 'sqlite') throw new Error('expected SQLite');
  const db = store.backend.db;
  // raw calls kept 6 days, minute rollups 3, over 10 days of history: rollups outlive the calls they came from
  await seedStore(store, {
    calls: 6000,
    days: 10,
    end: END,
    seed: 11,
    users: 40,
    batch: 1000,
    spanDays: 0,
    retentionMs: { raw: 6 * DAY, minute: 3 * DAY, hour: 400 * DAY },
  });
  const recent = (await store.listCalls({ limit: 60 })).items;
  // the log lines kept with three calls (GET /api/requests/:id logs), one of them over its cap
  await store.insertCallLogs(
    recent.slice(0, 3).flatMap((c, i) => [
      {
        requestId: c.requestId,
        at: c.endedAt,
        seq: 2 * i + 1,
        line: `{"event":"request_completed","n":${i}}`,
        dropped: 0,
      },
      {
        requestId: c.requestId,
        at: c.endedAt + 1,
        seq: 2 * i + 2,
        line: i === 2 ? null : '{"event":"x"}',
        dropped: i === 2 ? 7 : 0,
      },
    ]),
  );
  const quality = new SqliteQualityStore(db, () => END - 1000);
  await quality.migrate();
  for (const [i, c] of recent.entries()) {
    const base = { requestId: c.requestId, model: c.model, provider: c.provider, feature: c.feature };
    if (i % 3 === 0)
      await quality.putFeedback({
        ...base,
        source: 'widget',
        rating: i % 2 ? 'up' : 'down',
        comment: i % 2 ? null : 'made up a number',
        labels: i % 2 ? [] : ['hallucination'],
        createdAt: c.endedAt,
        updatedAt: c.endedAt,
      });
    await quality.putEvaluations([
      {
        requestId: c.requestId,
        evaluator: 'grounding',
        verdict: i % 5 === 0 ? 'fail' : 'pass',
        score: (i % 10) / 10,
        result: { evaluator: 'grounding', verdict: i % 5 === 0 ? 'fail' : 'pass', score: (i % 10) / 10 } as never,
        createdAt: c.endedAt,
        model: c.model,
        feature: c.feature,
      },
    ]);
    if (i % 4 === 0) {
      await quality.enqueueReview([
        { ...base, reason: 'sample', callAt: c.startedAt },
        ...(i % 8 === 0
          ? [{ ...base, reason: 'flag:grounding' as const, callAt: c.startedAt, flaggedBy: ['grounding'] }]
          : []),
      ]);
      if (i % 8 === 0)
        await quality.labelReview(c.requestId, {
          hallucination: true,
          refusalCorrect: null,
          notes: 'checked',
          reviewer: 'ana',
          labeledAt: END - 500,
        });
    }
  }
  await quality.addCounts(
    recent.map((c, i) => ({
      t: Math.floor(c.startedAt / 60_000) * 60_000,
      model: c.model,
      feature: c.feature ?? '',
      responses: 1,
      refusals: c.refusal ? 1 : 0,
      evaluated: 1,
      flagged: i % 5 === 0 ? 1 : 0,
      feedbackUp: i % 3 === 0 && i % 2 ? 1 : 0,
      feedbackDown: i % 3 === 0 && !(i % 2) ? 1 : 0,
    })),
  );
  const alerts = new SqliteAlertStateStore(db);
  const labels = { alertname: 'HighErrorRate', severity: 'critical', model: 'gpt-4o' };
  await alerts.saveActive([
    {
      ruleId: 'error-rate',
      fingerprint: 'f1',
      labels,
      annotations: { summary: 'errors above 5%' },
      state: 'firing',
      value: 0.12,
      activeAt: END - 600_000,
      firedAt: END - 300_000,
      lastSeenAt: END - 10_000,
      keepFiringSince: null,
    },
  ]);
  const ev = (time: number, kind: 'pending' | 'firing' | 'resolved') => ({
    time,
    kind,
    ruleId: 'error-rate',
    alertname: 'HighErrorRate',
    fingerprint: 'f1',
    labels,
    value: 0.12,
    activeAt: END - 600_000,
    firedAt: kind === 'pending' ? null : END - 300_000,
  });
  await alerts.appendEvents([ev(END - 600_000, 'pending'), ev(END - 300_000, 'firing'), ev(END - 300_000, 'firing')]);
  await alerts.appendNotification({
    time: END - 299_000,
    receiver: 'oncall',
    groupKey: '{}:{alertname="HighErrorRate"}',
    status: 'firing',
    alertnames: ['HighErrorRate'],
    firing: 1,
    resolved: 0,
    result: 'success',
  });
  await alerts.putNotifyLog({ key: 'g1/oncall', firing: ['f1'], resolved: [], sentAt: END - 299_000 });
  await alerts.putSilence({
    id: 's1',
    matchers: ['model="gpt-4o-mini"'],
    startsAt: END - DAY,
    endsAt: END + DAY,
    createdBy: 'ana',
    comment: 'provider incident',
    createdAt: END - DAY,
    updatedAt: END - DAY,
  });
  const spend = new SqliteSpendStore(db);
  await spend.saveReconciliation({
    id: 'rec-1',
    createdAt: END - DAY,
    source: 'openai:bill.csv',
    fromDay: '2026-11-01',
    toDay: '2026-11-19',
    billedUsd: 120,
    trackedUsd: 118,
    gapUsd: 2,
    gapRatio: 2 / 120,
    report: { lines: [] },
  });
  // calls that searched the web: their tools' part of the cost (decision 163) is a spend figure of its own, copied
  const searched = [END - 30 * 60_000, END - 90 * 60_000].map((startedAt) => {
    const c = fakeCall({ startedAt, model: 'gpt-4o', costUsd: 0.5 });
    c.price = {
      input: 2.5e-6,
      cachedInput: 1.25e-6,
      output: 1e-5,
      source: 'openai/gpt-4o',
      tools: [{ tool: 'web_search', unitPrice: 0.01, units: 7 }],
    };
    return c;
  });
  await spend.apply(deltasOf(searched, () => false));
  await spend.addCostItems([
    { day: '2026-11-19', category: 'gpu', name: 'A100 node', provider: null, amountUsd: 52.8, source: 'costs.csv' },
    { day: '2026-11-19', category: 'vector-db', name: 'pinecone', provider: null, amountUsd: 9.5, source: 'costs.csv' },
  ]);
  await store.close();
}

beforeAll(async () => {
  pg = await startPostgres();
  dir = mkdtempSync(join(tmpdir(), 'llmscope-migrate-'));
  const path = join(dir, 'llmscope.db');
  sqliteUrl = `sqlite:${path}`;
  pgUrl = await pg.freshSchemaUrl();
  await seedSqlite(path);
}, 180_000);

afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const quiet = { start() {}, update() {}, setTotal() {}, stop() {}, shown: false };

describe('llmscope migrate (SQLite → PostgreSQL)', () => {
  it('refuses a missing source without creating it, and a non-PostgreSQL target', async () => {
    const missing = join(dir, 'nope', 'llmscope.db');
    await expect(migrateStores({ from: `sqlite:${missing}`, to: pgUrl, progress: quiet })).rejects.toThrow(
      /no llmscope data at/,
    );
    expect(existsSync(missing)).toBe(false);
    await expect(migrateStores({ from: sqliteUrl, to: 'sqlite:/tmp/x.db', progress: quiet })).rejects.toThrow(
      /--to must be a PostgreSQL URL/,
    );
  });

  let first: MigrateSummary;
  it('copies calls, rollups, spend, quality data and alert state with every total kept', async () => {
    const before = await sqliteSnapshot();
    // the two searching calls' $0.07 each, among the seeded spend (whose calls searched nothing)
    expect((before.spend.all as { daily: number[] }).daily[4]).toBe(0.14);
    // the seed really left rollups and daily spend whose raw calls are gone, and every kind of data
    expect(before.calls).toBeGreaterThan(2000);
    expect(before.calls).toBeLessThan(6000);
    expect((before.rollups.hourTotal as number[])[0]).toBe(6000);
    expect(before.alerts.events).toHaveLength(3);
    first = await migrateStores({ from: sqliteUrl, to: pgUrl, progress: quiet });
    expect(first.calls.read).toBe(before.calls);
    expect(first.calls.copied).toBe(before.calls);
    expect(first.rollups.hour.rewritten).toBeGreaterThan(0); // the hours whose calls retention removed
    expect(first.alerts).toMatchObject({ active: 1, events: 3, notifications: 1, notifyLog: 1, silences: 1 });
    expect(first.quality.feedback).toBe(20);
    expect(first.quality.evaluations).toBe(60);
    const after = await pgSnapshot();
    expect(after).toEqual(before);
    console.log(
      `migrate: ${first.calls.read} calls in ${first.seconds.toFixed(1)} s (${first.calls.perSecond} calls/s while copying calls)`,
    );
  }, 180_000);

  it('running it again copies nothing twice', async () => {
    const again = await migrateStores({ from: sqliteUrl, to: pgUrl, progress: quiet });
    expect(again.calls.copied).toBe(0);
    expect(again.calls.alreadyThere).toBe(first.calls.read);
    expect(again.rollups.minute.rewritten).toBe(0);
    expect(again.rollups.hour.rewritten).toBe(0);
    expect(again.spend.adjusted).toBe(0);
    expect(again.quality.adjusted).toBe(0);
    expect(again.alerts.events).toBe(0);
    expect(again.alerts.notifications).toBe(0);
    expect(await pgSnapshot()).toEqual(await sqliteSnapshot());
  }, 180_000);

  it("copies each call's kept log lines with it, once", async () => {
    const src = createStore(sqliteUrl);
    const dst = createStore(pgUrl);
    try {
      await dst.migrate();
      const recent = (await src.listCalls({ limit: 3 })).items;
      for (const c of recent) {
        const lines = await src.callLogs(c.requestId, 50);
        expect(lines.lines.length + lines.dropped).toBeGreaterThan(0);
        // after two runs: the same lines, none twice
        expect(await dst.callLogs(c.requestId, 50)).toEqual(lines);
      }
    } finally {
      await src.close();
      await dst.close();
    }
  });

  it('the command prints a summary of counts (and --json)', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    try {
      const program = new Command('llmscope').exitOverride();
      registerMigrateCommand(program);
      await program.parseAsync(['node', 'llmscope', 'migrate', '--from', sqliteUrl, '--to', pgUrl]);
      // --to from the environment (where the replicas' storage URL already is), so no password on the command line
      process.env.LLMSCOPE_STORAGE_URL = pgUrl;
      await program.parseAsync(['node', 'llmscope', 'migrate', '--from', sqliteUrl, '--json']);
      delete process.env.LLMSCOPE_STORAGE_URL;
      await expect(program.parseAsync(['node', 'llmscope', 'migrate', '--from', sqliteUrl])).rejects.toThrow(
        /--to postgres:\/\/.*LLMSCOPE_STORAGE_URL/,
      );
    } finally {
      delete process.env.LLMSCOPE_STORAGE_URL;
      spy.mockRestore();
    }
    const text = out.join('');
    expect(text).toMatch(new RegExp(`calls\\s+${first.calls.read} read, 0 copied, ${first.calls.read} already there`));
    const json = JSON.parse(text.slice(text.indexOf('{'))) as MigrateSummary;
    expect(json.calls.copied).toBe(0);
  }, 180_000);
});
