// The spend the database sums counts unpriced calls by the cost module's rule (src/calls/units.ts unpricedCall, in SQL
// UNPRICED_SQL): a speech call to a model no price names (units, no tokens: 70073e2) is unpriced in the By metadata
// card and a team-scoped principal's spend by user, as on the Cost page; a 500 without usage and a priced model's
// image size its table lacks are not. On SQLite and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import type { LlmCall } from '../calls/index.js';
import { fakeCall } from '../calls/testing.js';
import { UNITS_EVENT, unpricedCall } from '../calls/units.js';
import { createStore, type Store, sumCallsByMetadata } from '../store/index.js';
import { costsSchema } from './config.js';
import { rollupSpendQueries } from './scoped-spend.js';

const T = Date.UTC(2026, 11, 1, 12);
const none = { inputTokens: null, outputTokens: null, costUsd: null, price: null };
const units = (attributes: Record<string, string | number>) => [{ name: UNITS_EVENT, time: T, attributes }];
const base = (i: number) => ({
  requestId: `00000000-0000-7000-8000-00000000000${i}`,
  startedAt: T + i,
  endedAt: T + i + 10,
  team: 'a',
  user: 'erin',
  metadata: { tenant: 'x' },
});
const calls: LlmCall[] = [
  // a token call and a speech call to models no price names: unpriced
  fakeCall({ ...base(1), model: 'acme-7b', costUsd: null, price: null }),
  fakeCall({
    ...base(2),
    ...none,
    endpoint: 'audio.speech',
    model: 'my-tts',
    events: units({ unit: 'character', count: 12 }),
  }),
  // a 500 without usage; a priced model's image of a size its table lacks (a price applied): not
  fakeCall({ ...base(3), ...none, status: 'upstream_error', httpStatus: 500 }),
  fakeCall({
    ...base(4),
    ...none,
    endpoint: 'images.generations',
    model: 'dall-e-3',
    price: { input: 0, output: 0, cachedInput: 0, unit: 'image', unitPrice: 0.04, units: 1, source: 'catalog' },
    events: units({ unit: 'image', count: 1, size: '640x480' }),
  }),
];

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe.each([
  ['sqlite', async () => createStore('sqlite::memory:')],
  ['postgres', async () => createStore(await (pg as TestPostgres).freshSchemaUrl())],
] as const)('unpriced calls in the spend summed on %s', (_name, make) => {
  let store: Store;
  beforeAll(async () => {
    store = await make();
    await store.migrate();
    await store.insertCalls(calls);
  });
  afterAll(() => store.close());

  it("counts by the Cost page's rule: usage (tokens or units) and no price", async () => {
    expect(calls.filter(unpricedCall).length).toBe(2);
    const byMeta = await sumCallsByMetadata(store.backend, { from: T - 1000, to: T + 1000, key: 'tenant' });
    // before: 1 (the speech call's units were not read)
    expect(byMeta.map((r) => [r.value, r.requests, r.unpriced])).toEqual([['x', 4, 2]]);
    const scoped = rollupSpendQueries(
      store,
      { teams: ['a'] },
      { costs: costsSchema.parse({}), now: () => T + 3_600_000, minuteRetentionMs: 1e15 },
    );
    const s = await scoped.summary({ from: T - 3_600_000, to: T + 3_600_000, groupBy: 'user' });
    expect(s.groups.map((g) => [g.key, g.requests, g.unpriced_requests])).toEqual([['erin', 4, 2]]);
  });
});
