// The evaluators' shortcuts (an answer of one sentence, an answer that cites nothing) decide the verdict before the
// answer and the context are tokenised. They must change nothing but the time taken: every verdict, score, claim,
// piece of evidence and explanation equals the full path's (`fullScan`), on the labelled sets and on gateway-shaped
// calls, with content capture on and off.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateTokens } from '../../simulator/text.js';
import { loadAllSets } from '../datasets.js';
import { KnowledgeBase } from '../knowledge.js';
import { sentences } from '../text.js';
import { answerSentences } from './answer.js';
import { SourceAttributionEvaluator } from './attribution.js';
import { SelfConsistencyEvaluator } from './consistency.js';
import { withoutQuotes } from './redact.js';
import type { EvaluationInput, EvaluationResult } from './types.js';

const datasets = resolve(import.meta.dirname, '..', '..', '..', '..', 'shared', 'datasets');

/** A result without its timing (the one field the shortcuts are meant to change). */
function same(r: EvaluationResult): Omit<EvaluationResult, 'durationMs'> {
  const { durationMs: _, ...rest } = r;
  return rest;
}

const kb = KnowledgeBase.fromDocuments([
  {
    id: 'handbook.md',
    url: 'https://example.com/handbook',
    text: 'Refunds are issued within 14 days of a return. The warranty covers parts and labour for two years.',
  },
]);

/** Each pair of evaluators (shortcuts on, full path) and how the online module and the offline scorer build them. */
const pairs = [
  [new SelfConsistencyEvaluator(), new SelfConsistencyEvaluator({ fullScan: true })],
  [new SourceAttributionEvaluator(), new SourceAttributionEvaluator({ fullScan: true })],
  [
    new SourceAttributionEvaluator({ minContextWords: 20 }),
    new SourceAttributionEvaluator({ minContextWords: 20, fullScan: true }),
  ],
] as const;

/** Runs every pair on the inputs; returns how many results were compared and how many of them were `unknown`. */
async function compare(inputs: readonly EvaluationInput[]): Promise<{ compared: number; unknown: number }> {
  let compared = 0;
  let unknown = 0;
  for (const input of inputs)
    for (const [fast, full] of pairs) {
      const a = await fast.evaluate(input);
      const b = await full.evaluate(input);
      const where = `${fast.name} on ${JSON.stringify(input.response.slice(0, 120))}`;
      expect(same(a), where).toEqual(same(b));
      expect(same(withoutQuotes(a)), where).toEqual(same(withoutQuotes(b)));
      compared++;
      if (a.verdict === 'unknown') unknown++;
    }
  return { compared, unknown };
}

/** Answers shaped like the gateway's: the simulator's pseudo-English of 1 to 300 tokens, and a few that cite. */
function gatewayInputs(): EvaluationInput[] {
  const answers: string[] = [];
  for (let seed = 1; seed <= 300; seed++) answers.push(generateTokens(seed * 7919, seed).join(''));
  answers.push(
    '',
    'OK',
    'Sure!',
    'The refund takes 14 days. The refund takes 30 days.',
    'The warranty covers parts. The warranty does not cover parts.',
    'See https://example.com/handbook for details.',
    'See https://example.org/invented for details.',
    'Refunds take 14 days [1]. The warranty lasts two years [2].',
    'Refunds take 14 days [1, 3].',
    'As the handbook says, "refunds are issued within 14 days of a return".',
    'As it says, "three short words".',
    'Per handbook.md and doc-42, refunds take 14 days.',
    'Dr. Smith arrived at 5 p.m. and left.',
    'Line one\nLine two\nLine three',
  );
  const prompts = [
    'Benchmark me.',
    '',
    'You are a helpful assistant.\n\nWhat is the refund policy?',
    '[1] Refunds are issued within 14 days of a return.\n[2] The warranty covers parts and labour for two years. https://example.com/handbook handbook.md',
    // long: many distinct words (settled in a prefix), and few (the whole is counted)
    generateTokens(42, 600).join(''),
    `${'the refund of the return is the refund. '.repeat(60)}Warranty.`,
  ];
  const out: EvaluationInput[] = [];
  for (const p of prompts)
    for (const response of answers) {
      out.push({ context: p ? [p] : [], response });
      out.push({ context: p ? [p] : [], response, knowledge: kb });
    }
  return out;
}

describe('evaluator shortcuts give the full path results', () => {
  it('on gateway-shaped calls (the simulator answer to bench:gateway prompt, and answers that cite)', async () => {
    const inputs = gatewayInputs();
    const { compared, unknown } = await compare(inputs);
    // the evaluators share one split of the answer and leave it as sentences() gives it
    for (const { response } of inputs.slice(-40)) expect(answerSentences(response)).toEqual(sentences(response));
    expect(compared).toBe(314 * 12 * pairs.length);
    // the shortcuts are taken (many of these answers are one sentence or cite nothing) and not everything is unknown
    expect(unknown).toBeGreaterThan(200);
    expect(unknown).toBeLessThan(compared);
  });

  it.skipIf(!existsSync(datasets))(
    'on the labelled sets, with the knowledge as context and as a thin prompt',
    async () => {
      const inputs: EvaluationInput[] = [];
      for (const set of loadAllSets(datasets))
        for (const item of set.items) {
          inputs.push({ question: item.question, context: [item.knowledge], response: item.response });
          inputs.push({ context: item.question ? [item.question] : [], response: item.response });
        }
      const { compared, unknown } = await compare(inputs);
      expect(inputs.length).toBeGreaterThan(4_000);
      expect(compared).toBe(inputs.length * pairs.length);
      expect(unknown).toBeGreaterThan(0);
      expect(unknown).toBeLessThan(compared);
    },
    120_000,
  );
});

describe('withoutQuotes of a result with no claims and no evidence', () => {
  const base = { evaluator: 'grounding', evidence: [], explanation: 'the request carries too little knowledge' };
  it('is the general path result, keys in the same order', () => {
    const cases: [EvaluationResult, string][] = [
      [
        { ...base, verdict: 'unknown', score: 0, claims: [], durationMs: 1.5 },
        '{"evaluator":"grounding","verdict":"unknown","score":0,"evidence":[],"claims":[],"explanation":"verdict unknown, score 0; text not kept (content capture is off)","durationMs":1.5}',
      ],
      [
        { ...base, verdict: 'unknown', score: 0 },
        '{"evaluator":"grounding","verdict":"unknown","score":0,"evidence":[],"explanation":"verdict unknown, score 0; text not kept (content capture is off)"}',
      ],
      [
        { ...base, verdict: 'fail', score: 0.42, claims: [] },
        '{"evaluator":"grounding","verdict":"fail","score":0.42,"evidence":[],"claims":[],"explanation":"verdict fail, score 0.42; text not kept (content capture is off)"}',
      ],
      [
        { ...base, verdict: 'error', score: 0, durationMs: 0 },
        '{"evaluator":"grounding","verdict":"error","score":0,"evidence":[],"explanation":"verdict error, score 0; text not kept (content capture is off)","durationMs":0}',
      ],
    ];
    for (const [r, json] of cases) expect(JSON.stringify(withoutQuotes(r))).toBe(json);
  });
});
