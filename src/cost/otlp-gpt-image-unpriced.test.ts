// An image generation of a GPT image model (gpt-image-1, billed by its tokens) traced over OTLP without a token usage
// was recorded with cost null but the model's price, so it was not counted unpriced: llmscope_unpriced_calls_total and
// GET /api/cost/unpriced left it out, where a DALL·E span without its count and a model without a price are counted.
// Its cost is unknown as theirs is: it is now counted the same way (price null, unpriced).
import { describe, expect, it } from 'vitest';
import { unpricedCall } from '../calls/units.js';
import { attributeCall } from '../otlp/testing.js';
import { costConfigOf } from './config.js';
import { priceEnricher } from './per-call.js';
import { PriceBook } from './pricing.js';
import { metricSum, startCostApp } from './testing.js';

const image = { 'gen_ai.operation.name': 'image_generation', 'gen_ai.provider.name': 'openai' };

/** A gpt-image-1 span mapped to its call, as the OTLP receiver records it (`extra`: more attributes). */
const gptImage = (extra: Record<string, string | number>, at = Date.now()) => ({
  ...attributeCall({ ...image, 'gen_ai.request.model': 'gpt-image-1', ...extra }, { name: 'image_generation' }),
  startedAt: at,
  endedAt: at + 1000,
});

describe('an OTLP gpt-image-1 span without a token usage', () => {
  it('is unpriced (cost and price null), with or without its image count; with a usage, priced by its tokens', () => {
    const enricher = priceEnricher(new PriceBook(costConfigOf({}).pricing));
    const withAndWithoutCount: Record<string, string | number>[] = [{ 'gen_ai.request.image.count': 2 }, {}];
    for (const extra of withAndWithoutCount) {
      const call = gptImage(extra);
      expect(call).toMatchObject({ endpoint: 'images.generations', inputTokens: null, outputTokens: null });
      enricher.enrich(call);
      expect(call).toMatchObject({ costUsd: null, price: null });
      // before: price { input: 5e-6, ... } (the model's), so not counted unpriced
      expect(unpricedCall(call), JSON.stringify(extra)).toBe(true);
    }
    const priced = gptImage({ 'gen_ai.usage.input_tokens': 50, 'gen_ai.usage.output_tokens': 4160 });
    enricher.enrich(priced);
    expect(priced.costUsd).toBeCloseTo((50 * 5 + 4160 * 40) / 1e6, 12);
    expect(unpricedCall(priced)).toBe(false);
  });

  it('is counted in llmscope_unpriced_calls_total and GET /api/cost/unpriced as other unpriced calls are', async () => {
    const app = await startCostApp();
    try {
      const base = await app.listen();
      app.ctx.recorder.record(gptImage({ 'gen_ai.request.image.count': 1 }));
      await app.ctx.recorder.flush();
      expect(
        await metricSum(app.ctx.registry, 'llmscope_unpriced_calls_total', {
          provider: 'openai',
          model: 'gpt-image-1',
        }),
      ).toBe(1);
      const unpriced = (await (await fetch(`${base}/api/cost/unpriced`)).json()) as {
        models: { provider: string; model: string; calls: number }[];
      };
      expect(unpriced.models).toContainEqual(
        expect.objectContaining({ provider: 'openai', model: 'gpt-image-1', calls: 1 }),
      );
    } finally {
      await app.close();
    }
  });
});
