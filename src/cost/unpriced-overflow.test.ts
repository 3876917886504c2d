// A call whose model the label guard folds into __other__ is one overflow: llmscope_label_overflow_total{label="model"}
// counts it once. Before, an unpriced call's model went through the guard twice (the metrics sink for llm_requests_total
// and the cost module for llmscope_unpriced_calls_total), so each folded unpriced call counted two overflows.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { fakeCall } from '../calls/testing.js';
import { metricSum, startCostApp } from './testing.js';

const T0 = Date.parse('2026-12-04T12:00:00Z');

/** A gateway call of `model` with tokens and no price yet (the enricher prices it, or leaves it unpriced). */
const call = (requestId: string, model: string): LlmCall =>
  fakeCall({ requestId, model, startedAt: T0, source: 'gateway', inputTokens: 100, outputTokens: 10 });

describe('an unpriced call whose model is folded', () => {
  it('counts one label overflow a call, and the unpriced calls under __other__', async () => {
    const app = await startCostApp({ telemetry: { labelBudget: 1 } });
    try {
      for (const [i, model] of ['private-a', 'private-b', 'private-c'].entries())
        app.ctx.recorder.record(call(`u-${i}`, model));
      await app.ctx.recorder.flush();
      const registry = app.ctx.registry;
      expect(await metricSum(registry, 'llmscope_unpriced_calls_total', { model: 'private-a' })).toBe(1);
      expect(await metricSum(registry, 'llmscope_unpriced_calls_total', { model: '__other__' })).toBe(2);
      expect(await metricSum(registry, 'llm_requests_total', { model: '__other__' })).toBe(2);
      expect(await metricSum(registry, 'llmscope_label_overflow_total', { label: 'model' })).toBe(2);
      // its HELP names both causes (QA48): an ingested tts-1 record without units is counted too, and tts-1 has a price
      const help = (await registry.metrics())
        .split('\n')
        .find((l) => l.startsWith('# HELP llmscope_unpriced_calls_total'));
      expect(help).toContain('add it under pricing.models');
      expect(help).toContain('gave neither its cost nor its units');
    } finally {
      await app.close();
    }
  });
});
