// seedStore on PostgreSQL (bench/ui.js --store postgres): the calls, their rollups and the cost module's spend
// aggregates land in the same database, so /api/cost/* answers from what was seeded.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import { PostgresSpendStore } from '../cost/storage/index.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { seedStore } from './seed.js';

const DAY = 86_400_000;

let pg: TestPostgres;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe('seedStore on PostgreSQL', () => {
  it('writes the calls, the rollups and the spend aggregates', async () => {
    const store = new PostgresStore(await pg.freshSchemaUrl());
    try {
      await store.migrate();
      const end = Date.now();
      const r = await seedStore(store, { calls: 3000, days: 3, end, seed: 7, users: 20, batch: 1000 });
      expect(r.calls).toBe(3000);
      const points = await store.queryRollups({ from: end - 3 * DAY - 3_600_000, to: end + 1, step: 'hour' });
      const requests = points.reduce((n, p) => n + p.requests, 0);
      expect(requests).toBe(3000);
      const cost = points.reduce((n, p) => n + p.costUsd, 0);
      const spend = new PostgresSpendStore(store.backend);
      const daily = await spend.daily({ dimension: 'all', from: end - 4 * DAY, to: end + 1 });
      expect(daily.reduce((n, d) => n + d.requests, 0)).toBe(3000);
      expect(daily.reduce((n, d) => n + d.costUsd, 0)).toBeCloseTo(cost, 6);
      // the last two days are also kept per minute
      const minutes = await spend.minutes({ dimension: 'all', from: end - DAY, to: end + 1 });
      expect(minutes.length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});
