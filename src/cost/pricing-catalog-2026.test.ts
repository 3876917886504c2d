// The catalog's 2026 models (checked 2026-12-06 against the providers' own pages): each family priced exactly, and
// the ones whose first-party prices were not all found left unpriced rather than borrowed from a neighbour.
import { describe, expect, it } from 'vitest';
import { CATALOG } from './catalog/index.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';

const book = () => new PriceBook(costConfigOf({ pricing: {} }).pricing);
const at = (d: string) => Date.parse(`${d}T12:00:00Z`);

/** A Claude Messages call as the gateway records it: input counts every prompt token (reads and writes included). */
const claude = (model: string, hourWrites = 0) =>
  fakeCall({
    provider: 'anthropic',
    model,
    endpoint: 'messages',
    startedAt: at('2026-12-01'),
    inputTokens: 10_000,
    cachedInputTokens: 6_000,
    cacheWriteInputTokens: 3_000,
    outputTokens: 500,
    ...(hourWrites ? { internal: { cacheWrite1hInputTokens: hourWrites } as never } : {}),
  });

describe('Claude models released in 2026', () => {
  it('prices a claude-opus-5-5 call with cache reads, 5-minute and 1-hour writes at its own rates', () => {
    const p = book().priceCall(claude('claude-opus-5-5', 1_000));
    // 1K uncached × $4 + 6K reads × $0.20 + 2K 5-minute writes × $5 + 1K 1-hour writes × $8 + 500 out × $20
    expect(p.costUsd).toBe((1_000 * 4 + 6_000 * 0.2 + 2_000 * 5 + 1_000 * 8 + 500 * 20) / 1e6);
    expect(p.price?.source).toBe('anthropic/claude-opus-5-5');
    expect(p.price?.cachedInput).toBeCloseTo(0.2e-6, 18);
    expect(p.unpriced).toBe(false);
  });

  it('prices each 2026 Claude family from its own entry', () => {
    const b = book();
    const cost = (m: string) => b.priceCall(claude(m)).costUsd;
    const expected = (input: number, read: number, write: number, output: number) =>
      (1_000 * input + 6_000 * read + 3_000 * write + 500 * output) / 1e6;
    expect(cost('claude-opus-5')).toBe(expected(5, 0.5, 6.25, 25));
    expect(cost('claude-opus-4-8')).toBe(expected(5, 0.5, 6.25, 25));
    expect(cost('claude-opus-4-7')).toBe(expected(5, 0.5, 6.25, 25));
    expect(cost('claude-opus-4-6')).toBe(expected(5, 0.5, 6.25, 25));
    expect(cost('claude-sonnet-5-5')).toBe(expected(2, 0.2, 2.5, 10));
    expect(cost('claude-sonnet-5')).toBe(expected(2, 0.2, 2.5, 10));
    expect(cost('claude-fable-5')).toBe(expected(10, 1, 12.5, 50));
    expect(cost('claude-mythos-5')).toBe(expected(10, 1, 12.5, 50));
    // Fable 5.1 reads its cache at a quarter of Fable 5's price.
    expect(cost('claude-fable-5-1')).toBe(expected(10, 0.25, 12.5, 50));
    expect(cost('claude-mythos-5-1')).toBe(expected(10, 0.25, 12.5, 50));
    // The spellings other hosts use reach the same entries.
    expect(b.priceCall(claude('anthropic/claude-opus-4.6')).price?.source).toBe('anthropic/claude-opus-4-6');
    expect(b.priceCall(claude('claude-opus-5-5@20260922')).price?.source).toBe('anthropic/claude-opus-5-5');
  });

  it('leaves the models without a complete first-party price unpriced, never priced as a neighbour', () => {
    const b = book();
    // claude-sonnet-4-6 is not claude-sonnet-4, claude-haiku-5-5 not claude-haiku-4-5, claude-fable-5-2 not Fable 5.
    for (const m of ['claude-sonnet-4-6', 'claude-haiku-5-5', 'claude-fable-5-2', 'claude-mythos-5-2'])
      expect(b.priceCall(claude(m)), m).toEqual({ costUsd: null, price: null, unpriced: true });
  });

  it('records each entry’s release date as its first price date and a first-party source', () => {
    const from = (id: string) => CATALOG.find((e) => e.id === id)?.prices[0]?.from;
    expect(from('anthropic/claude-opus-5-5')).toBe('2026-09-22');
    expect(from('anthropic/claude-fable-5-1')).toBe('2026-09-01');
    expect(from('anthropic/claude-opus-5')).toBe('2026-07-24');
    expect(from('anthropic/claude-sonnet-5')).toBe('2026-06-30');
    expect(from('anthropic/claude-opus-4-6')).toBe('2026-02-05');
    for (const e of CATALOG.filter((x) => x.provider === 'anthropic' && (x.prices[0]?.from ?? '') >= '2026-01-01'))
      expect(e.source, e.id).toMatch(/^https:\/\/platform\.claude\.com\/docs\//);
  });
});

describe('OpenAI Pro models', () => {
  it('prices gpt-5.4-pro with no cache discount, and past 272K input tokens at 2 × input and 1.5 × output', () => {
    const b = book();
    const call = (inputTokens: number) =>
      fakeCall({
        model: 'gpt-5.4-pro-2026-03-05',
        endpoint: 'responses',
        startedAt: at('2026-12-01'),
        inputTokens,
        cachedInputTokens: 10_000,
        outputTokens: 2_000,
      });
    // No cached-input price: cached tokens cost the input price.
    expect(b.priceCall(call(100_000)).costUsd).toBe((100_000 * 30 + 2_000 * 180) / 1e6);
    const long = b.priceCall(call(300_000));
    expect(long.costUsd).toBe((300_000 * 60 + 2_000 * 270) / 1e6);
    expect(long.price?.source).toBe('openai/gpt-5.4-pro');
    expect(b.priceCall(fakeCall({ model: 'gpt-5-pro', inputTokens: 1e6, outputTokens: 1e6 })).costUsd).toBe(135);
  });

  it('leaves the GPT-5.2 to 5.6 models whose first-party prices were not found unpriced', () => {
    const b = book();
    for (const m of ['gpt-5.2', 'gpt-5.3-codex', 'gpt-5.4', 'gpt-5.4-mini', 'gpt-5.5', 'gpt-5.6-sol'])
      expect(b.priceCall(fakeCall({ model: m })).unpriced, m).toBe(true);
  });
});
