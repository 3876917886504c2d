// Decision 167: an image generation traced by Spring AI (its ImageModel observation: gen_ai.operation.name `image`,
// the provider, the model, the size and style it asked for; no count, no usage for DALL·E) or OpenLLMetry
// (`image_generation`, with gen_ai.request.image.count) was recorded as a chat.completions call with no tokens and no
// price: $0, and not counted unpriced. It is now an images.generations call, as the gateway records one: the images the
// span asked for priced per image from the catalog, as a proxied image call is; without a count, a units event with
// none, so it is counted unpriced rather than a silent $0.
import { describe, expect, it } from 'vitest';
import { unpricedCall } from '../calls/units.js';
import { attributeCall } from '../otlp/testing.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const prices = new PriceBook(costConfigOf({}).pricing);
const T = Date.UTC(2026, 10, 2, 12);

const priced = (attrs: Record<string, string | number>, name: string) => {
  const c = { ...attributeCall(attrs, { name }), startedAt: T, endedAt: T + 1000 };
  const p = prices.priceCall(c);
  return { ...c, costUsd: p.costUsd, price: p.price, unpriced: p.unpriced };
};

describe('OTLP image generation spans (decision 167)', () => {
  it("Spring AI's image observation: an images.generations call, unpriced (no count)", () => {
    const c = priced(
      {
        'gen_ai.operation.name': 'image',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'dall-e-3',
        'gen_ai.request.image.size': '1024x1024',
        'gen_ai.request.image.style': 'vivid',
        'gen_ai.request.image.response_format': 'url',
      },
      'image dall-e-3',
    );
    expect(c).toMatchObject({ endpoint: 'images.generations', inputTokens: null, outputTokens: null, costUsd: null });
    expect(c.events).toMatchObject([{ name: 'billing.units', attributes: { unit: 'image' } }]);
    expect(unpricedCall(c)).toBe(true);
  });

  it('with a count: priced per image from the catalog, as the gateway prices DALL·E', () => {
    const c = priced(
      {
        'gen_ai.operation.name': 'image_generation',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'dall-e-3',
        'gen_ai.request.image.count': 2,
        'gen_ai.request.image.size': '1024x1024',
      },
      'openai.images.generate',
    );
    expect(c).toMatchObject({ endpoint: 'images.generations', costUsd: 0.08 });
    expect(c.price).toMatchObject({ unit: 'image', unitPrice: 0.04, units: 2 });
    expect(unpricedCall(c)).toBe(false);
  });

  it('a failed one has no units; one with a token usage is priced by its tokens', () => {
    const failed = attributeCall(
      {
        'gen_ai.operation.name': 'image',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'dall-e-3',
        'error.type': 'org.springframework.ai.retry.NonTransientAiException',
      },
      { name: 'image dall-e-3' },
    );
    expect(failed).toMatchObject({ endpoint: 'images.generations', status: 'upstream_error', events: [] });
    const tokens = priced(
      {
        'gen_ai.operation.name': 'image',
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-image-1',
        'gen_ai.usage.input_tokens': 50,
        'gen_ai.usage.output_tokens': 4160,
      },
      'image gpt-image-1',
    );
    expect(tokens).toMatchObject({ endpoint: 'images.generations', events: [] });
    expect(tokens.costUsd).toBeGreaterThan(0);
  });
});
