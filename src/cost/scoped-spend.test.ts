// A team-scoped principal's spend on both stores: by user and key from the scope's raw calls, by team, model and
// feature from the rollups; every figure equals the same sum over the scope's calls done here, and nothing of the
// other teams is in it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import type { LlmCall } from '../calls/index.js';
import { createStore, type Store } from '../store/index.js';
import { makeCall } from '../store/store.contract.js';
import { costsSchema } from './config.js';
import { rollupSpendQueries } from './scoped-spend.js';

const TEAMS = ['a', 'b', 'c'];
const calls: LlmCall[] = Array.from({ length: 60 }, (_, i) =>
  makeCall(i, { team: TEAMS[i % 3] ?? null, costUsd: 0.001 * (i + 1) }),
);
const FROM = Math.min(...calls.map((c) => c.startedAt)) - 3_600_000;
const TO = Math.max(...calls.map((c) => c.startedAt)) + 3_600_000;

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

const backends: [string, () => Promise<Store>][] = [
  ['sqlite', async () => createStore('sqlite::memory:')],
  ['postgres', async () => createStore(await (pg as TestPostgres).freshSchemaUrl())],
];

function sums(keep: (c: LlmCall) => boolean, by: (c: LlmCall) => string | null) {
  const m = new Map<string, { cost: number; requests: number }>();
  for (const c of calls.filter(keep)) {
    const k = by(c) ?? '';
    const e = m.get(k) ?? { cost: 0, requests: 0 };
    e.cost += c.costUsd ?? 0;
    e.requests++;
    m.set(k, e);
  }
  return m;
}

describe.each(backends)('scoped spend on %s', (_name, make) => {
  let store: Store;
  beforeAll(async () => {
    store = await make();
    await store.migrate();
    await store.insertCalls(calls);
  });
  afterAll(() => store.close());

  // Whole days (the ledger's old ranges) and minutes (recent ones) both.
  for (const minuteRetentionMs of [0, 1e15]) {
    const queries = () =>
      rollupSpendQueries(
        store,
        { teams: ['a', 'c'] },
        { costs: costsSchema.parse({}), now: () => TO, minuteRetentionMs },
      );
    const inScope = (c: LlmCall) => c.team === 'a' || c.team === 'c';

    it(`by user and key from the scope's raw calls (${minuteRetentionMs ? 'minutes' : 'days'})`, async () => {
      for (const [dim, by] of [
        ['user', (c: LlmCall) => c.user],
        ['key', (c: LlmCall) => c.apiKeyId],
      ] as const) {
        const s = await queries().summary({ from: FROM, to: TO, groupBy: dim });
        const want = sums(inScope, by);
        expect(new Set(s.groups.map((g) => g.key ?? ''))).toEqual(new Set(want.keys()));
        for (const g of s.groups) {
          expect(g.requests).toBe(want.get(g.key ?? '')?.requests);
          expect(g.cost_usd).toBeCloseTo(want.get(g.key ?? '')?.cost ?? -1, 9);
        }
      }
      const one = calls.find((c) => c.team === 'a') as LlmCall;
      const series = await queries().timeseries({
        from: FROM,
        to: TO,
        step: 'day',
        dimension: 'user',
        value: one.user as string,
      });
      expect(series.reduce((n, p) => n + p.requests, 0)).toBe(
        sums(inScope, (c) => c.user).get(one.user as string)?.requests,
      );
    });

    it(`by team and model from the rollups (${minuteRetentionMs ? 'minutes' : 'days'})`, async () => {
      const byTeam = await queries().summary({ from: FROM, to: TO, groupBy: 'team' });
      expect(byTeam.groups.map((g) => g.key).sort()).toEqual(['a', 'c']);
      const byModel = await queries().summary({ from: FROM, to: TO, groupBy: 'model' });
      const want = sums(inScope, (c) => c.model);
      for (const g of byModel.groups) expect(g.cost_usd).toBeCloseTo(want.get(g.key ?? '')?.cost ?? -1, 9);
      expect(byModel.total.requests).toBe(calls.filter(inScope).length);
    });
  }
});
