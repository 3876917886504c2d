// GET /api/cost/prices shows what a call at each OpenAI service tier is charged (`service_tiers`, beside the standard
// `per_million`), as the call is priced (525cac2): flex at the catalog's flex prices or half the standard ones for an
// OpenAI model, priority at the catalog's Priority prices; null where such a call is charged `per_million` (a model
// without Priority prices, another provider, a `pricing.models` price). Before, the route showed the standard
// prices only, so a user could not see what a priority call costs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

type Tier = { input: number; cached_input: number; output: number } | null;
interface Prices {
  per_million: Record<string, number | null>;
  service_tiers: { flex: Tier; priority: Tier };
}

describe('service tiers in GET /api/cost/prices', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      app: { modules: [createCostModule] },
      config: { pricing: { models: [{ model: 'house-model', input: 1, output: 2 }] } } as never,
    });
  });
  afterAll(() => s?.close());

  const prices = async (q: string) => {
    const r = await fetch(`${s.base}/api/cost/prices?${q}`);
    expect(r.status).toBe(200);
    return (await r.json()) as Prices;
  };

  it('gpt-4o: flex at half the standard prices, priority at the Priority prices', async () => {
    const p = await prices('model=gpt-4o');
    expect(p.per_million).toMatchObject({ input: 2.5, cached_input: 1.25, output: 10 });
    expect(p.service_tiers).toEqual({
      flex: { input: 1.25, cached_input: 0.625, output: 5 },
      priority: { input: 4.25, cached_input: 2.125, output: 17 },
    });
    // gpt-5 through a dated alias: its own Priority prices
    const g5 = await prices('model=gpt-5-2025-08-07');
    expect(g5.service_tiers.priority).toEqual({ input: 2.5, cached_input: 0.25, output: 20 });
  });

  it('null where a tier is charged the standard prices', async () => {
    // o4-mini: no Priority prices in the catalog (a priority call is priced at standard); flex at half
    const o4 = await prices('model=o4-mini');
    expect(o4.service_tiers.priority).toBeNull();
    expect(o4.service_tiers.flex).toEqual({ input: 0.55, cached_input: 0.1375, output: 2.2 });
    // another provider: neither
    expect((await prices('model=claude-sonnet-4-5')).service_tiers).toEqual({ flex: null, priority: null });
    // a config price applies whatever the tier
    expect((await prices('model=house-model')).service_tiers).toEqual({ flex: null, priority: null });
  });
});
