import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { classifyRefusal, detectRefusal, REFUSAL_HOOK, refusalEnricher } from './refusal.js';
import { precisionRecall } from './stats.js';

const fixture = readFileSync(new URL('./fixtures/refusals.jsonl', import.meta.url), 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l) as { text: string; refusal: boolean });

describe('refusal classifier on the labelled set', () => {
  it('has at least 200 examples, about half on each side', () => {
    expect(fixture.length).toBeGreaterThanOrEqual(200);
    const pos = fixture.filter((r) => r.refusal).length;
    expect(pos / fixture.length).toBeGreaterThan(0.4);
    expect(pos / fixture.length).toBeLessThan(0.6);
  });

  it('keeps precision and recall above the bar set from the measurement (0.95 each)', () => {
    const pr = precisionRecall(fixture.map((r) => ({ predicted: classifyRefusal(r.text).refusal, label: r.refusal })));
    // Measured: precision 1.00, recall 0.99 on the full set; 0.94 / 0.91 on the last 70 items before they were seen.
    expect(pr.precision).toBeGreaterThanOrEqual(0.95);
    expect(pr.recall).toBeGreaterThanOrEqual(0.95);
  });
});

describe('classifyRefusal', () => {
  it.each([
    "I'm sorry, but I can't help with that.",
    'As an AI language model, I cannot provide personal opinions on political candidates.',
    'This request violates our usage policies.',
    "I can't write that review, but I can help you draft honest feedback instead.",
    'Lo siento, pero no puedo ayudar con esa solicitud.',
  ])('flags %s', (t) => {
    expect(classifyRefusal(t).refusal).toBe(true);
  });

  it.each([
    "I can't stress enough how important backups are.",
    'I cannot recommend this book highly enough.',
    "I'm sorry to hear that. Here's how to fix it: run npm ci.",
    'The model replied "I\'m sorry, but I can\'t help with that", so the filter fired.',
    'I was unable to reproduce the bug, but here is a fix: check for null first.',
    "I don't have access to real-time data, but as of my last update Tokyo had about 14 million residents in the city proper.",
  ])('does not flag %s', (t) => {
    expect(classifyRefusal(t).refusal).toBe(false);
  });

  it('says which rule matched', () => {
    expect(classifyRefusal('I must decline this request.')).toMatchObject({ refusal: true, rule: 'explicit_decline' });
  });

  it('reads only the opening: a disclaimer deep inside a helpful answer is not a refusal', () => {
    const long = `${'Here is a detailed walkthrough of the setup. '.repeat(12)}Note that I can't provide legal advice.`;
    expect(classifyRefusal(long).refusal).toBe(false);
  });
});

describe('detectRefusal', () => {
  it('takes the provider signals first', () => {
    expect(detectRefusal({ text: 'Sure!', finishReason: 'content_filter' })).toMatchObject({
      refusal: true,
      source: 'content_filter',
    });
    expect(detectRefusal({ text: null, refusalField: true })).toMatchObject({ refusal: true, source: 'refusal_field' });
    expect(detectRefusal({ text: 'Sure, here you go.', finishReason: 'stop' }).refusal).toBe(false);
  });
});

describe('refusalEnricher', () => {
  const callWith = (outputText: string | null, extra: Partial<LlmCall> = {}): LlmCall =>
    ({
      endpoint: 'chat.completions',
      refusal: false,
      finishReason: 'stop',
      content: null,
      internal: { outputText, promptText: 'q', hooks: undefined },
      ...extra,
    }) as unknown as LlmCall;

  it('sets call.refusal from the output text and leaves the verdict for the quality sink', () => {
    const c = callWith("I'm sorry, but I can't assist with that request.");
    refusalEnricher().enrich(c);
    expect(c.refusal).toBe(true);
    expect(c.internal?.hooks?.[REFUSAL_HOOK]).toMatchObject({ source: 'phrase' });
  });

  it('leaves helpful answers alone and keeps provider flags', () => {
    const ok = callWith('The capital of France is Paris.');
    refusalEnricher().enrich(ok);
    expect(ok.refusal).toBe(false);
    const filtered = callWith('', { finishReason: 'content_filter', refusal: true });
    refusalEnricher().enrich(filtered);
    expect(filtered.refusal).toBe(true);
    expect(filtered.internal?.hooks?.[REFUSAL_HOOK]).toMatchObject({ source: 'content_filter' });
  });
});
