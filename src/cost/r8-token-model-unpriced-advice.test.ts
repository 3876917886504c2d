// Since f72aebb an image or audio call of a model priced by its tokens that recorded no token usage (a gpt-image-1 span
// or answer without usage) is counted unpriced. What llmscope tells the operator to do about an unpriced model was
// written for the two kinds before it: the log's unpriced_model warning said "no price for model gpt-image-1 ... add
// it under pricing.models" and the reconciliation's unpriced_models cause "gpt-image-1 has a price, but calls sent to
// /api/ingest said neither their cost nor their units", neither of which is so or fixes it. Both now say that the
// model is priced by the token and the calls recorded no token usage.
import { describe, expect, it } from 'vitest';
import { attributeCall } from '../otlp/testing.js';
import { parseBill } from './bills.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';
import { reconcile, type TrackedCell } from './reconcile.js';
import { startCostApp } from './testing.js';

const prices = new PriceBook(costConfigOf({}).pricing);

describe('an unpriced call of a model priced by its tokens (a gpt-image-1 span without usage)', () => {
  it('is not told to be priced, nor to be sent to /api/ingest with its units, in the reconciliation', () => {
    const day = '2026-12-03';
    const bill = parseBill(
      ['date,provider,model,amount_usd', `${day},openai,gpt-image-1,3`, `${day},openai,tts-1,2`].join('\n'),
    );
    const cell = (model: string, unpriced: number): TrackedCell => ({
      day,
      provider: 'openai',
      model,
      costUsd: 1,
      requests: unpriced + 1,
      unpriced,
    });
    const r = reconcile({ bill, tracked: [cell('gpt-image-1', 2), cell('tts-1', 1)], prices });
    const cause = r.causes.find((c) => c.kind === 'unpriced_models');
    expect(cause?.models).toEqual(['gpt-image-1', 'tts-1']);
    // before: "gpt-image-1, tts-1 have a price, but calls sent to /api/ingest said neither their cost nor their units"
    expect(cause?.message).toContain('tts-1 has a price, but calls sent to /api/ingest said neither their cost nor');
    expect(cause?.message).toContain('gpt-image-1 is priced by the token, but calls (images, audio) recorded no token');
    expect(cause?.message).not.toContain('gpt-image-1, tts-1 have a price');
    expect(cause?.message).not.toContain('gpt-image-1 under pricing.models');
  });

  it("is not logged as a model without a price (unpriced_model's advice)", async () => {
    const lines: string[] = [];
    const app = await startCostApp({}, (s) => void lines.push(s));
    try {
      await app.listen();
      const at = Date.now();
      const span = attributeCall(
        {
          'gen_ai.operation.name': 'image_generation',
          'gen_ai.provider.name': 'openai',
          'gen_ai.request.model': 'gpt-image-1',
          'gen_ai.request.image.count': 1,
        },
        { name: 'image_generation' },
      );
      app.ctx.recorder.record({ ...span, startedAt: at, endedAt: at + 1000 });
      await app.ctx.recorder.flush();
      const warned = lines
        .join('')
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as { event?: string; model?: string; msg?: string })
        .filter((l) => l.event === 'unpriced_model' && l.model === 'gpt-image-1');
      expect(warned).toHaveLength(1);
      // before: 'no price for model "gpt-image-1" (provider openai): its calls get cost_usd null; add it under pricing.models'
      expect(warned[0]?.msg).not.toContain('no price for model');
      expect(warned[0]?.msg).toContain('recorded no token usage, and the model is priced by its tokens');
    } finally {
      await app.close();
    }
  });
});
