// Decision 165 (fa7c94d): a call whose span names an agent framework as its provider is recorded under the provider
// the catalog says serves its model (PriceBook.providerOfModel). CrewAI calls models through LiteLLM, whose model
// string names the cloud first (`vertex_ai/claude-sonnet-4-5`): Vertex AI bills that call, not Anthropic, but the
// lookup dropped the route and answered the model entry's provider, so spend by provider and reconciliation counted
// it against Anthropic's bill (a price_mismatch there, and the Google bill's line untracked).
import { describe, expect, it } from 'vitest';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const prices = new PriceBook(costConfigOf({}).pricing);

describe('providerOfModel: a LiteLLM route naming the cloud', () => {
  it('vertex_ai/ is google and bedrock/ bedrock, with or without the cloud’s own spelling after it', () => {
    expect(prices.providerOfModel('vertex_ai/claude-sonnet-4-5')).toBe('google');
    expect(prices.providerOfModel('vertex_ai/claude-sonnet-4-5@20250929')).toBe('google');
    expect(prices.providerOfModel('vertex_ai/gemini-2.0-flash')).toBe('google');
    expect(prices.providerOfModel('bedrock/claude-sonnet-4-5')).toBe('bedrock');
    expect(prices.providerOfModel('bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0')).toBe('bedrock');
  });

  it('other names as before: the vendor’s own API, a Bedrock id, a Vertex spelling, an unknown model', () => {
    expect(prices.providerOfModel('claude-sonnet-4-5')).toBe('anthropic');
    expect(prices.providerOfModel('anthropic/claude-sonnet-4-5')).toBe('anthropic');
    expect(prices.providerOfModel('gpt-4o')).toBe('openai');
    expect(prices.providerOfModel('us.anthropic.claude-sonnet-4-20250514-v1:0')).toBe('bedrock');
    expect(prices.providerOfModel('claude-sonnet-4-5@20250929')).toBe('google');
    expect(prices.providerOfModel('vertex_ai/no-such-model')).toBeNull();
  });
});
