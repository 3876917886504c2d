// The per-key rate limiter on PostgreSQL: the contract's cases, and two replicas' limiters taking from one key at
// once never admit more than its limit.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { PostgresStore } from '../../store/index.js';
import { limiterCases } from '../limits/limiter.contract.js';
import { PostgresRateLimiter } from './limiter-postgres.js';

let pg: TestPostgres;
const stores: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

async function limiters(n: number): Promise<PostgresRateLimiter[]> {
  const url = await pg.freshSchemaUrl();
  const out: PostgresRateLimiter[] = [];
  for (let i = 0; i < n; i++) {
    const store = new PostgresStore(url);
    stores.push(store);
    await store.migrate();
    const l = new PostgresRateLimiter(store.backend);
    await l.migrate();
    out.push(l);
  }
  return out;
}

describe('PostgresRateLimiter', () => {
  limiterCases(async () => (await limiters(1))[0] as PostgresRateLimiter);

  it('two replicas taking at once from one key admit exactly its limit', async () => {
    const [a, b] = (await limiters(2)) as [PostgresRateLimiter, PostgresRateLimiter];
    const now = Date.now();
    const limits = { rpm: 50, tpm: 5000 };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        (i % 2 ? a : b).take({ keyId: 'shared', now, limits, requests: 1, tokens: 10 }),
      ),
    );
    expect(results.filter((r) => r.ok)).toHaveLength(50);
  });
});
