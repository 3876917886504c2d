// scopedStore on both backends: lists (one team and several, across pages), single calls and rollups hold the
// scope's calls only, and store methods it does not narrow are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import type { LlmCall } from '../calls/index.js';
import { createStore } from './index.js';
import { scopedStore } from './scoped.js';
import { makeCall } from './store.contract.js';
import type { Store } from './store.js';

// 90 calls over teams a, b, c (and some with none) and features x, y (and none), one second apart.
const TEAMS = ['a', 'b', 'c', null];
const FEATURES = ['x', 'y', null];
const calls: LlmCall[] = Array.from({ length: 90 }, (_, i) =>
  makeCall(i, { team: TEAMS[i % 4] ?? null, feature: FEATURES[i % 3] ?? null }),
);
const T_FROM = Math.min(...calls.map((c) => c.startedAt)) - 60 * 60_000;
const T_TO = Math.max(...calls.map((c) => c.startedAt)) + 60 * 60_000;

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

async function everyPage(s: Store, q: Parameters<Store['listCalls']>[0]): Promise<LlmCall[]> {
  const out: LlmCall[] = [];
  let cursor: string | undefined;
  for (;;) {
    const p = await s.listCalls({ ...q, cursor });
    out.push(...p.items);
    if (!p.nextCursor) return out;
    cursor = p.nextCursor;
  }
}

const ids = (cs: LlmCall[]) => cs.map((c) => c.requestId);
const expected = (keep: (c: LlmCall) => boolean) =>
  ids([...calls].filter(keep).sort((a, b) => b.startedAt - a.startedAt));

describe.each(backends)('scopedStore on %s', (_name, make) => {
  let store: Store;
  beforeAll(async () => {
    store = await make();
    await store.migrate();
    await store.insertCalls(calls);
  });
  afterAll(() => store.close());

  it('lists only the scope’s calls, in the store’s order, across pages, for one team or several', async () => {
    const one = scopedStore(store, { teams: ['a'] });
    expect(ids(await everyPage(one, { limit: 7 }))).toEqual(expected((c) => c.team === 'a'));
    const two = scopedStore(store, { teams: ['a', 'c'] });
    expect(ids(await everyPage(two, { limit: 7 }))).toEqual(expected((c) => c.team === 'a' || c.team === 'c'));
    const tf = scopedStore(store, { teams: ['a', 'b'], features: ['y'] });
    expect(ids(await everyPage(tf, { limit: 4 }))).toEqual(
      expected((c) => (c.team === 'a' || c.team === 'b') && c.feature === 'y'),
    );
    // A filter on another team finds nothing; on one of the scope's, only it.
    expect((await two.listCalls({ team: 'b' })).items).toEqual([]);
    expect(ids(await everyPage(two, { team: 'c', limit: 100 }))).toEqual(expected((c) => c.team === 'c'));
    expect(scopedStore(store, null)).toBe(store);
  });

  it('a call of another team reads as absent', async () => {
    const s = scopedStore(store, { teams: ['a'] });
    const a = calls.find((c) => c.team === 'a') as LlmCall;
    const b = calls.find((c) => c.team === 'b') as LlmCall;
    const none = calls.find((c) => c.team === null) as LlmCall;
    expect((await s.getCall(a.requestId))?.requestId).toBe(a.requestId);
    expect(await s.getCall(b.requestId)).toBeNull();
    expect(await s.getCall(none.requestId)).toBeNull();
  });

  it('rollups hold the scope’s calls only, merged back to the grouping asked for', async () => {
    const sum = (ps: { requests: number }[]) => ps.reduce((n, p) => n + p.requests, 0);
    const s = scopedStore(store, { teams: ['a', 'b'] });
    const q = { from: T_FROM, to: T_TO, step: 'hour' as const };
    expect(sum(await s.queryRollups(q))).toBe(calls.filter((c) => c.team === 'a' || c.team === 'b').length);
    const byModel = await s.queryRollups({ ...q, groupBy: ['model'] });
    for (const p of byModel) expect(Object.keys(p.group)).toEqual(['model']);
    const m = byModel.filter((p) => p.group.model === 'gpt-4o');
    expect(sum(m)).toBe(calls.filter((c) => (c.team === 'a' || c.team === 'b') && c.model === 'gpt-4o').length);
    const cost = m.reduce((n, p) => n + p.costUsd, 0);
    const want = calls
      .filter((c) => (c.team === 'a' || c.team === 'b') && c.model === 'gpt-4o')
      .reduce((n, c) => n + (c.costUsd ?? 0), 0);
    expect(cost).toBeCloseTo(want, 9);
    const byTeam = await s.queryRollups({ ...q, groupBy: ['team'] });
    expect(new Set(byTeam.map((p) => p.group.team))).toEqual(new Set(['a', 'b']));
    expect(await s.queryRollups({ ...q, filter: { team: 'c' } })).toEqual([]);
    const f = scopedStore(store, { features: ['x'] });
    expect(sum(await f.queryRollups(q))).toBe(calls.filter((c) => c.feature === 'x').length);
  });

  it('store methods it does not narrow are refused, not passed through', async () => {
    const s = scopedStore(store, { teams: ['a'] }) as unknown as Record<string, () => unknown>;
    expect(() => (s['applyRetention'] as () => unknown)()).toThrow(/not narrowed to a team scope/);
    expect(await (s['ping'] as () => Promise<boolean>)()).toBe(true);
  });
});
