// The text each evaluation reads is bounded: the answer to quality.maxChars, the prompt to quality.maxContextChars
// (default four times maxChars), each cut counted in llmscope_quality_truncated_total{part}.
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { Metrics } from '../../telemetry/metrics.js';
import { qualityConfigSchema } from '../config.js';
import { SourceAttributionEvaluator } from '../evaluators/attribution.js';
import { SelfConsistencyEvaluator } from '../evaluators/consistency.js';
import type { EvaluationResult } from '../evaluators/types.js';
import { PairTokenizer } from '../nli/tokenizer.js';
import { BoundedRunner } from '../runner.js';
import { type CapturedText, QualityService, TEXT_HOOK, textCaptureEnricher } from '../service.js';

const call = (prompt: string, output: string): LlmCall =>
  ({
    requestId: 'req-1',
    endpoint: 'chat.completions',
    status: 'ok',
    feature: null,
    refusal: false,
    model: 'm',
    provider: 'p',
    startedAt: Date.now(),
    internal: { promptText: prompt, outputText: output, assistantRanges: null },
  }) as unknown as LlmCall;

const captured = (c: LlmCall): CapturedText => c.internal?.hooks?.[TEXT_HOOK] as CapturedText;

describe('quality text limits', () => {
  it('cuts the prompt to maxContextChars and the answer to maxChars, and says which it cut', () => {
    const cfg = qualityConfigSchema.parse({ maxChars: 100, maxContextChars: 300 });
    const c = call(`${'p'.repeat(300)}TAIL`, `${'a'.repeat(100)}TAIL`);
    textCaptureEnricher(cfg, ['grounding']).enrich(c);
    expect(captured(c)).toEqual({
      prompt: 'p'.repeat(300),
      output: 'a'.repeat(100),
      evaluators: ['grounding'],
      cut: ['answer', 'prompt'],
    });
  });

  it('keeps four times maxChars of the prompt by default, and marks no cut when none was made', () => {
    const cfg = qualityConfigSchema.parse({ maxChars: 100 });
    const c = call('p'.repeat(401), 'short answer');
    textCaptureEnricher(cfg, ['grounding']).enrich(c);
    expect(captured(c).prompt).toHaveLength(400);
    expect(captured(c).cut).toEqual(['prompt']);
    const whole = call('p'.repeat(400), 'a'.repeat(100));
    textCaptureEnricher(cfg, ['grounding']).enrich(whole);
    expect(captured(whole).cut).toBeUndefined();
  });

  it('takes a positive whole number of characters, and refuses any other', () => {
    expect(qualityConfigSchema.safeParse({ maxContextChars: 200_000 }).success).toBe(true);
    expect(qualityConfigSchema.safeParse({ maxContextChars: 0 }).success).toBe(false);
    expect(qualityConfigSchema.safeParse({ maxContextChars: 1.5 }).success).toBe(false);
  });

  it('counts each cut part in llmscope_quality_truncated_total{part}', async () => {
    const registry = new Registry();
    const metrics = new Metrics(registry);
    const runner = new BoundedRunner({ concurrency: 1, maxPending: 100 });
    const svc = new QualityService({
      store: { putEvaluations: async () => {}, addCounts: async () => {}, enqueueReview: async () => {} } as never,
      calls: {} as never,
      metrics,
      clock: { now: () => Date.now() },
      logger: pino({ level: 'silent' }),
      config: qualityConfigSchema.parse({ maxChars: 10 }),
      runner,
      evaluatorFor: () => null,
    });
    const cfg = qualityConfigSchema.parse({ maxChars: 10 });
    const calls = [call('p'.repeat(41), 'a'.repeat(11)), call('p'.repeat(41), 'short'), call('question', 'short')];
    for (const c of calls) textCaptureEnricher(cfg, ['grounding']).enrich(c);
    await svc.onCalls(calls);
    await runner.idle();
    const values = (await metrics.qualityTruncated.get()).values.map((v) => [v.labels.part, v.value]);
    expect(Object.fromEntries(values)).toEqual({ answer: 1, prompt: 2 });
    expect(await registry.getSingleMetricAsString('llmscope_quality_truncated_total')).toContain(
      'llmscope_quality_truncated_total{part="prompt"} 2',
    );
  });
});

describe('consistency figures', () => {
  it('compares the first 64 figures of each sentence: a figure past them is not read', () => {
    const check = (before: number) => {
      const list = Array.from({ length: before }, (_, i) => `item ${100 + i}`).join(', ');
      const r = new SelfConsistencyEvaluator().evaluateNow({
        context: [],
        response: `The list has ${list}, and the tower stands 1234 metres tall. The tower stands 1235 metres tall.`,
      }) as EvaluationResult;
      return r.verdict;
    };
    expect(check(10)).toBe('fail');
    // 70 figures before it: the tower's figure is the 72nd of its sentence (read before: 'fail').
    expect(check(70)).toBe('pass');
  });
});

describe('the NLI tokenizer (SentencePiece)', () => {
  it('reads a word of 200,000 pieces (the stack overflowed before: RangeError)', () => {
    const t = new PairTokenizer({
      model: {
        type: 'Unigram',
        unk_id: 1,
        vocab: [
          ['[PAD]', 0],
          ['[UNK]', 0],
          ['▁', -4],
          ['t', -5],
          ['s', -3],
        ],
      },
      post_processor: { type: 'BertProcessing', cls: ['[PAD]', 0], sep: ['[PAD]', 0] },
    });
    const ids = t.tokenize('ts'.repeat(100_000));
    expect(ids).toHaveLength(200_001);
    expect(ids.slice(0, 3)).toEqual([2, 3, 4]);
  });
});

describe('attribution of wrong citations', () => {
  it('looks for the source that backs the sentence for the first 20 wrong citations only', () => {
    const context = ['[1] The Eiffel Tower stands in Paris.\n[2] The Colosseum stands in Rome, built of stone.'];
    const response = Array.from({ length: 25 }, (_, i) => `The Colosseum in Rome is built of stone ${i} [1].`).join(
      ' ',
    );
    const r = new SourceAttributionEvaluator().check({ context, response });
    const reasons = (r.claims ?? []).map((c) => c.reasons?.[0] ?? '');
    expect(reasons).toHaveLength(25);
    expect(reasons.slice(0, 20).every((x) => x === 'source [1] does not say this; source [2] does')).toBe(true);
    // Past them the reason names the cited source only (before: all 25 named source [2]); the verdict is the same.
    expect(reasons.slice(20).every((x) => x.startsWith('source [1] does not say this ('))).toBe(true);
    expect(r.verdict).toBe('fail');
  });
});
