// Decision 167 (e89bc20): an image generation traced over OTLP is billed per image, as the gateway bills a proxied one.
// Two instrumentations it names did not get there. OpenLLMetry JS writes its own token estimate on DALL·E spans
// (1056 output tokens for a dall-e-2 image, 4160 for an HD dall-e-3 one; DALL·E's API answers with no usage): taken as
// usage, the images cost $0 (no token price) and were not counted unpriced. And both it and OpenTelemetry's Python
// OpenAI instrumentation (operation `image_generation`) leave gen_ai.request.image.count out for the API's default n
// (Python also for n=1): such a call was counted unpriced, where the gateway bills the request's 1 image.
import { describe, expect, it } from 'vitest';
import { unpricedCall } from '../calls/units.js';
import { attributeCall } from '../otlp/testing.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const prices = new PriceBook(costConfigOf({}).pricing);
const T = Date.UTC(2026, 10, 2, 12);

const priced = (attrs: Record<string, string | number>) => {
  const c = { ...attributeCall(attrs, { name: 'image_generation dall-e' }), startedAt: T, endedAt: T + 1000 };
  const p = prices.priceCall(c);
  return { ...c, costUsd: p.costUsd, price: p.price, unpriced: p.unpriced };
};
const image = { 'gen_ai.operation.name': 'image_generation', 'gen_ai.provider.name': 'openai' };

describe('OTLP image spans priced as the gateway prices the same request (decision 167)', () => {
  it('a DALL·E span with the instrumentation’s token estimate: per image, not $0 by the tokens', () => {
    const hd = priced({
      ...image,
      'gen_ai.request.model': 'dall-e-3',
      'gen_ai.request.image.size': '1024x1024',
      'gen_ai.request.image.quality': 'hd',
      'gen_ai.request.image.count': 1,
      'gen_ai.usage.output_tokens': 4160,
      'gen_ai.usage.total_tokens': 4160,
    });
    expect(hd).toMatchObject({ endpoint: 'images.generations', inputTokens: null, outputTokens: null, costUsd: 0.08 });
    expect(hd.price).toMatchObject({ unit: 'image', unitPrice: 0.08, units: 1 });
    const two = priced({
      ...image,
      'gen_ai.request.model': 'dall-e-2',
      'gen_ai.request.image.size': '1024x1024',
      'gen_ai.request.image.count': 2,
      'gen_ai.usage.output_tokens': 2112,
    });
    expect(two.costUsd).toBeCloseTo(0.04, 9);
  });

  it('an image_generation span without a count: the API’s default, 1 image', () => {
    const one = priced({ ...image, 'gen_ai.request.model': 'dall-e-3', 'gen_ai.request.image.size': '1024x1024' });
    expect(one.costUsd).toBe(0.04);
    expect(unpricedCall(one)).toBe(false);
  });

  it('a GPT image model’s usage still prices it by its tokens; Spring AI’s image span without a count is unpriced', () => {
    const gpt = priced({
      ...image,
      'gen_ai.request.model': 'gpt-image-1',
      'gen_ai.usage.input_tokens': 50,
      'gen_ai.usage.output_tokens': 4160,
    });
    expect(gpt).toMatchObject({ inputTokens: 50, outputTokens: 4160, events: [] });
    expect(gpt.costUsd).toBeGreaterThan(0.1);
    const spring = priced({
      'gen_ai.operation.name': 'image',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'dall-e-3',
    });
    expect(spring.costUsd).toBeNull();
    expect(unpricedCall(spring)).toBe(true);
  });
});
