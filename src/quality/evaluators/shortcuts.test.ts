// The evaluators' shortcuts (an answer of one sentence, an answer that cites nothing, a prompt too thin to check
// against, an answer with no checkable claim) decide the verdict before the answer and the context are tokenised or
// the evidence is indexed. They must change nothing but the time taken: every verdict, score, claim,
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
import { GroundingEvaluator } from './grounding.js';
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
  // as the online module (quality.minContextWords 20), the offline scorer (0) and the training script (no model)
  [new GroundingEvaluator({ minContextWords: 20 }), new GroundingEvaluator({ minContextWords: 20, fullScan: true })],
  [new GroundingEvaluator(), new GroundingEvaluator({ fullScan: true })],
  [new GroundingEvaluator({ model: null }), new GroundingEvaluator({ model: null, fullScan: true })],
] as const;

/**
 * Runs every pair on the inputs; returns how many results were compared, how many of them were `unknown`, and how
 * many of grounding's `unknown` results (shortcuts on) gave each reason.
 */
async function compare(
  inputs: readonly EvaluationInput[],
): Promise<{ compared: number; unknown: number; grounding: Map<string, number> }> {
  let compared = 0;
  let unknown = 0;
  const grounding = new Map<string, number>();
  for (const input of inputs)
    for (const [fast, full] of pairs) {
      const a = await fast.evaluate(input);
      const b = await full.evaluate(input);
      const where = `${fast.name} on ${JSON.stringify(input.response.slice(0, 120))}`;
      expect(same(a), where).toEqual(same(b));
      expect(same(withoutQuotes(a)), where).toEqual(same(withoutQuotes(b)));
      compared++;
      if (a.verdict === 'unknown') unknown++;
      if (a.verdict === 'unknown' && a.evaluator === 'grounding') {
        const why = a.explanation.replace(/ \(.*/, '');
        grounding.set(why, (grounding.get(why) ?? 0) + 1);
      }
    }
  return { compared, unknown, grounding };
}

/** Answers shaped like the gateway's: the simulator's pseudo-English of 1 to 300 tokens, and a few that cite. */
function gatewayInputs(): EvaluationInput[] {
  const answers: string[] = [];
  // every third length from 1 to 298 tokens: the lengths the full range covers, at a third of the test's time (it
  // runs every evaluator twice on each of 32 contexts × 2 knowledge settings)
  for (let seed = 1; seed <= 300; seed += 3) answers.push(generateTokens(seed * 7919, seed).join(''));
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
    // no checkable claim: small talk, a reaction, punctuation, stopwords only
    'Hope this helps!',
    'I agree.',
    '?!',
    'It is what it is.',
    'Would you like me to help you with anything else?',
  );
  const prompts = [
    'Benchmark me.',
    '',
    'You are a helpful assistant.\n\nWhat is the refund policy?',
    '[1] Refunds are issued within 14 days of a return.\n[2] The warranty covers parts and labour for two years. https://example.com/handbook handbook.md',
    // long: many distinct words (settled in a prefix), and few in over 16 KB (the whole is counted, in steps)
    generateTokens(42, 600).join(''),
    `${'the refund of the return is the refund. '.repeat(450)}Warranty.`,
    // no sentence at all; code only (no prose words); 19 and 20 distinct content words
    ' \n\t ',
    '... --- !!!',
    'const x = foo(bar[0]); if (a && b) { return c; }\nimport x from "y";',
    'Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra.',
    'Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango.',
    // more than 64 sentences before the 20th word (counted in more than one step)
    `${'Yes. '.repeat(100)}Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango.`,
    // 18 words and the parts of a joined-up one (release, year): 20 only with the evidence's other spellings
    'Alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec: releaseYear.',
    // over 16 KB of code before the prose (counted in steps)
    `${'x = f(y[0]); z = {a: 1};\n'.repeat(700)}The warranty covers parts and labour for two years; refunds are issued within 14 days of a return, by the shop that sold it, in cash or to the card used.`,
  ];
  const out: EvaluationInput[] = [];
  const contexts: string[][] = prompts.map((p) => (p ? [p] : []));
  // passages that are thin alone and not together, and an empty one beside a thin one
  contexts.push([
    'Refunds are issued within 14 days of a return.',
    'The warranty covers parts and labour for two years.',
  ]);
  contexts.push(['', 'Benchmark me.']);
  for (const context of contexts)
    for (const response of answers) {
      out.push({ context, response });
      out.push({ context, response, knowledge: kb });
    }
  return out;
}

describe('evaluator shortcuts give the full path results', () => {
  it('on gateway-shaped calls (the simulator answer to bench:gateway prompt, and answers that cite)', async () => {
    const inputs = gatewayInputs();
    const { compared, unknown, grounding } = await compare(inputs);
    // the evaluators share one split of the answer and leave it as sentences() gives it
    for (const { response } of inputs.slice(-40)) expect(answerSentences(response)).toEqual(sentences(response));
    expect(compared).toBe(119 * 32 * pairs.length);
    // grounding's shortcuts are taken: a thin prompt, no claim to check (with and without a context)
    expect(grounding.get('the request carries too little knowledge to check against')).toBeGreaterThan(1000);
    expect(grounding.get('the response makes no checkable claim')).toBeGreaterThan(100);
    expect(
      grounding.get('no context in the request and no knowledge base configured: nothing to check the answer against'),
    ).toBeGreaterThan(10);
    // the shortcuts are taken (many of these answers are one sentence or cite nothing) and not everything is unknown
    expect(unknown).toBeGreaterThan(200);
    expect(unknown).toBeLessThan(compared);
  }, 120_000);

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

describe('the thin-context count (proseStemCount)', () => {
  it('decides thin or not, and counts, as the full path does near the threshold', async () => {
    // Contexts of about the threshold's size, with what unitOf adds beyond plain words (camelCase parts, symbols,
    // initials, lifespans, figures), code lines (which do not count), several passages and a sentence so long that it
    // is read in pieces.
    const long = `${Array.from({ length: 420 }, (_, i) => `word${i % 37} item`).join(' ')}`;
    const contexts: string[][] = [
      ['Benchmark me.'],
      ['Write a short paragraph about observability.'],
      ['J. R. R. Tolkien (1892–1973) wrote The Hobbit; getUserName returns 5km in C++ at 40% of $12.'],
      ['const x = foo(bar); if (a < b) { return c; }', 'def main(): pass', 'Plain prose about rivers and mountains.'],
      ['The river flows north.', 'The mountain is tall and old.', 'Birds sing at dawn in spring.'],
      [long],
      [`${long}. The river flows north. The mountain is tall.`],
      [
        'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty twentyone',
      ],
      [
        'Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega.',
      ],
      ['', '   ', '```\ncode block\n```'],
    ];
    const response = 'The river flows north past the old mountain. Tolkien wrote The Hobbit in 1937.';
    for (const min of [1, 5, 10, 19, 20, 21, 25, 40])
      for (const context of contexts) {
        const fast = new GroundingEvaluator({ minContextWords: min });
        const full = new GroundingEvaluator({ minContextWords: min, fullScan: true });
        const input = { context, response };
        const where = `min ${min} on ${JSON.stringify(context).slice(0, 80)}`;
        expect(same(await fast.evaluate(input)), where).toEqual(same(await full.evaluate(input)));
      }
  });
});
