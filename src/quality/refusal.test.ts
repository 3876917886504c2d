import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { classifyRefusal, classifyRefusalFully, detectRefusal, REFUSAL_HOOK, refusalEnricher } from './refusal.js';
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

describe('the early word check', () => {
  // Phrases every rule is built from, and text around them, recombined with the things the classifier undoes
  // (case, curly apostrophes, quotes, code, line breaks, sentence ends), so each rule is met in many shapes.
  const pieces = [
    "I'm sorry, but",
    'Unfortunately,',
    'I’m afraid',
    'As an AI language model,',
    'I can’t',
    'I CANNOT',
    'I can not',
    'we will not',
    "I won't be able to",
    'I am unable to',
    "I'm not able to",
    'I must decline to',
    'I have to pass',
    "I'd rather not",
    "I don't feel comfortable",
    "I don't think I should",
    "isn't something I can",
    'outside what I can',
    "it wouldn't be appropriate for me to",
    'this violates our usage policies',
    'against my guidelines',
    'my programming does not allow',
    'that breaches the terms of service',
    'it goes against the rules',
    'that violates my programming',
    'contrary to my principles',
    "I shouldn't help",
    'due to our policies, I cannot',
    "I don't have the ability to",
    'no puedo ayudar',
    'je ne peux pas aider',
    'dabei kann ich leider nicht helfen',
    'não posso ajudar',
    '我无法协助',
    '抱歉，我不能',
    'お手伝いできません',
    'help',
    'assist',
    'write that',
    'provide',
    'do that',
    'stress enough',
    'Here is the answer:',
    'The capital of France is Paris.',
    'Sure!',
    'a knot',
    'notable',
    'the password',
    'by the rules',
    'see the terms',
    'Note:',
    '\n\n',
    '"quoted: I can’t help"',
    '`code`',
    '```\nI cannot\n```',
    '> quoted line\n',
    '.',
    '!',
    '?',
    ',',
    'can',
    'not',
    'pass',
    'ai',
    'sorry',
    'I',
    'we',
  ];

  it('answers as the full classifier does on the labelled set and on recombined refusal phrases', () => {
    for (const { text } of fixture) {
      expect(classifyRefusal(text), text).toEqual(classifyRefusalFully(text));
      expect(classifyRefusal(text.toUpperCase()), text).toEqual(classifyRefusalFully(text.toUpperCase()));
    }
    let seed = 13;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    let flagged = 0;
    for (let i = 0; i < 40_000; i++) {
      const n = 1 + Math.floor(rand() * 10);
      let t = '';
      for (let k = 0; k < n; k++) t += pieces[Math.floor(rand() * pieces.length)] + (rand() < 0.7 ? ' ' : '');
      const v = classifyRefusal(t);
      expect(v, t).toEqual(classifyRefusalFully(t));
      if (v.refusal) flagged++;
    }
    // the recombined set really does exercise the rules
    expect(flagged).toBeGreaterThan(4000);
  });

  it('answers as the full classifier does where a word runs into the next one', () => {
    for (const t of [
      'Unfortunately, we will notI’m afraid write that',
      'Sorry, I will notwrite that',
      'I am notable to help',
    ])
      expect(classifyRefusal(t), t).toEqual(classifyRefusalFully(t));
    expect(classifyRefusal('Unfortunately, we will notI’m afraid write that').refusal).toBe(true);
  });

  it('lets an ordinary answer out before the rules', () => {
    expect(classifyRefusal('The capital of France is Paris. It is known for the Eiffel Tower.')).toEqual({
      refusal: false,
    });
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
