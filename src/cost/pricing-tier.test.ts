// Service tiers (OpenAI's `service_tier` in the answer, carried as call.internal.serviceTier): flex at the catalog's
// flex price, else half the standard price for an OpenAI model, else standard; priority at the catalog's priority
// price, else standard (nothing invented); default, auto, unknown or none at standard.
import { describe, expect, it } from 'vitest';
import { arrivedInternals, type LlmCall } from '../calls/index.js';
import type { CatalogEntry } from './catalog/index.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';

const book = (pricing: unknown = {}, catalog?: readonly CatalogEntry[]) =>
  new PriceBook(costConfigOf({ pricing }).pricing, catalog);

/** A call of 1,000 prompt tokens (200 cached) and 500 output tokens, served at `tier`. */
const served = (model: string, tier: string | undefined, over: Partial<LlmCall> = {}): LlmCall =>
  fakeCall({
    model,
    inputTokens: 1000,
    cachedInputTokens: 200,
    outputTokens: 500,
    internal: { ...arrivedInternals(0, '', '', null), upstreamStartAt: 1, serviceTier: tier },
    ...over,
  });

const cost = (input: number, cached: number, output: number) => (800 * input + 200 * cached + 500 * output) / 1e6;

describe('pricing by service tier', () => {
  it('prices an OpenAI flex call at half the standard prices, and says so in the applied price', () => {
    const p = book().priceCall(served('gpt-4o', 'flex'));
    expect(p.costUsd).toBeCloseTo(cost(1.25, 0.625, 5), 15);
    expect(p.price).toEqual({ input: 1.25e-6, cachedInput: 0.625e-6, output: 5e-6, source: 'openai/gpt-4o' });
    // o3's price after its 2025-06-10 cut, halved
    const o3 = book().priceCall(served('o3-2025-04-16', 'flex', { startedAt: Date.parse('2025-07-01T00:00:00Z') }));
    expect(o3.costUsd).toBeCloseTo(cost(1, 0.25, 4), 15);
    // default, auto, unknown and absent tiers: standard
    for (const tier of ['default', 'auto', 'scale', undefined])
      expect(book().priceCall(served('gpt-4o', tier)).costUsd, String(tier)).toBeCloseTo(cost(2.5, 1.25, 10), 15);
    // another provider's model (Claude's prices do not change by tier) and a price the config sets: as they are
    const claude = served('claude-sonnet-4-5', 'flex', { provider: 'anthropic' });
    expect(book().priceCall(claude).costUsd).toBeCloseTo(cost(3, 0.3, 15), 15);
    const own = book({ models: [{ model: 'gpt-4o', input: 2, cachedInput: 1, output: 8 }] });
    expect(own.priceCall(served('gpt-4o', 'flex')).costUsd).toBeCloseTo(cost(2, 1, 8), 15);
  });

  it("prices a priority call at the catalog's Priority prices", () => {
    expect(book().priceCall(served('gpt-4o-2024-11-20', 'priority')).costUsd).toBeCloseTo(cost(4.25, 2.125, 17), 15);
    expect(book().priceCall(served('gpt-5', 'priority')).costUsd).toBeCloseTo(cost(2.5, 0.25, 20), 15);
    expect(book().priceCall(served('gpt-4.1', 'priority')).costUsd).toBeCloseTo(cost(3.5, 0.875, 14), 15);
    const o3 = book().priceCall(served('o3', 'priority', { startedAt: Date.parse('2025-07-01T00:00:00Z') }));
    expect(o3.costUsd).toBeCloseTo(cost(3.5, 0.875, 14), 15);
    // no cached price at priority (as at standard): cached tokens at the priority input price
    expect(book().priceCall(served('gpt-4o-2024-05-13', 'priority')).costUsd).toBeCloseTo(cost(8.75, 8.75, 26.25), 15);
    // a model without Priority prices, and Claude (priority tier billed at standard rates): standard, none invented
    expect(book().priceCall(served('o4-mini', 'priority')).costUsd).toBeCloseTo(cost(1.1, 0.275, 4.4), 15);
    const claude = served('claude-sonnet-4-5', 'priority', { provider: 'anthropic' });
    expect(book().priceCall(claude).costUsd).toBeCloseTo(cost(3, 0.3, 15), 15);
  });

  it("uses the catalog's flex price where it gives one, and standard above a long-context tier at priority", () => {
    const entry: CatalogEntry = {
      id: 'openai/m',
      provider: 'openai',
      model: 'm',
      source: 'https://example.com',
      prices: [
        {
          from: '2025-01-01',
          input: 2,
          cachedInput: 1,
          output: 8,
          flex: { input: 0.8, output: 3 },
          priority: { input: 4, cachedInput: 2, output: 16 },
          tiers: [{ aboveInputTokens: 5000, input: 3, cachedInput: 1.5, output: 12 }],
        },
      ],
    };
    const b = book({}, [entry]);
    const t = { startedAt: Date.parse('2025-06-01T00:00:00Z') };
    expect(b.priceCall(served('m', 'flex', t)).costUsd).toBeCloseTo(cost(0.8, 0.8, 3), 15);
    expect(b.priceCall(served('m', 'priority', t)).costUsd).toBeCloseTo(cost(4, 2, 16), 15);
    const long = { ...t, inputTokens: 10_000 };
    const big = (i: number, c: number, o: number) => (9800 * i + 200 * c + 500 * o) / 1e6;
    expect(b.priceCall(served('m', 'priority', long)).costUsd).toBeCloseTo(big(3, 1.5, 12), 15);
    // flex above the long-context tier: half its prices
    expect(b.priceCall(served('m', 'flex', long)).costUsd).toBeCloseTo(big(1.5, 0.75, 6), 15);
  });
});
