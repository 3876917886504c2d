// Grounding reads a context that repeats its sentences once per distinct sentence (EvidencePool's classes, topUnits):
// a claim sharing a stem with thousands of context units scored each of them, claims × sentences. The result must be
// the one scoring every unit gives (`fullScan`), to the last claim, piece of evidence and reason: here on a fixed-seed
// random corpus of claims against contexts that repeat sentences (overlaps, figures with units, negations, names,
// ties between sentences of equal weight, a knowledge base).
import { describe, expect, it } from 'vitest';
import { mulberry32 as random } from '../../simulator/text.js';
import { KnowledgeBase } from '../knowledge.js';
import { GroundingEvaluator } from './grounding.js';
import type { EvaluationInput, EvaluationResult } from './types.js';

const SUBJECTS = ['The tower', 'The bridge at Garabit', 'The old mill', 'Our plan', 'The Paris office', 'The river'];
const VERBS = ['spans', 'opened in', 'costs', 'weighs', 'was built in', 'is located near', 'employs'];
const OBJECTS = ['metres', 'km', 'kg', 'dollars', 'people', 'feet', 'grams', 'minutes'];
const NAMES = ['Gustave Eiffel', 'Lyon', 'France', 'Marie Curie', 'Berlin', 'Acme'];
const FIGURES = ['12', '40', '250', '565', '1884'];
const TAILS = ['over the river', 'for the fair', 'in the valley', 'each year', 'since the war', ''];

function sentence(r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  // Figures from a short list half the time: one figure in several sentences, with other units (unitClash).
  const figure =
    r() < 0.5 ? pick(FIGURES) : r() < 0.3 ? String(1850 + Math.floor(r() * 60)) : String(Math.floor(r() * 900) + 5);
  const neg = r() < 0.2 ? ' not' : '';
  const name = r() < 0.35 ? ` with ${pick(NAMES)}` : '';
  const verb = pick(VERBS);
  const v = neg ? verb.replace(/^(spans|costs|weighs|employs)$/, 'does not $1').replace(/^(was|is) /, `$1 not `) : verb;
  return `${pick(SUBJECTS)} ${v} ${figure} ${pick(OBJECTS)}${name} ${pick(TAILS)}`.trim().replace(/\s+/g, ' ') + '.';
}

/** A claim: a context sentence as it is, or with its figure, unit, polarity or a word changed, or a new one. */
function claimFrom(s: string, r: () => number): string {
  const x = r();
  if (x < 0.3) return s;
  if (x < 0.45) return s.replace(/\d+/, (d) => String(Number(d) + 1 + Math.floor(r() * 3)));
  if (x < 0.55)
    return s.replace(
      /\b(metres|kg|dollars|minutes)\b/,
      (u) => ({ metres: 'feet', kg: 'grams', dollars: 'euros', minutes: 'hours' })[u] ?? u,
    );
  if (x < 0.65)
    return s.includes(' not ') ? s.replace(' not ', ' ') : s.replace(/ (spans|costs|weighs|employs) /, ' never $1 ');
  if (x < 0.75) return s.replace(/\b(Lyon|Berlin|France|Acme)\b/, 'Madrid');
  return sentence(r);
}

function corpus(seed: number): EvaluationInput[] {
  const r = random(seed);
  const out: EvaluationInput[] = [];
  for (let n = 0; n < 24; n++) {
    // A handful of distinct sentences, each repeated: the units of one text are one class.
    const distinct = Array.from({ length: 3 + Math.floor(r() * 10) }, () => sentence(r));
    const units = 40 + Math.floor(r() * 260);
    const parts: string[] = [];
    for (let i = 0; i < units; i++)
      parts.push(r() < 0.85 ? (distinct[Math.floor(r() * distinct.length)] as string) : sentence(r));
    const claims = Array.from({ length: 1 + Math.floor(r() * 6) }, () =>
      claimFrom(distinct[Math.floor(r() * distinct.length)] as string, r),
    );
    const input: EvaluationInput = { context: [parts.join(' ')], response: claims.join(' ') };
    if (r() < 0.3) input.question = `How long is ${SUBJECTS[Math.floor(r() * SUBJECTS.length)]}?`;
    if (r() < 0.2) input.context = [parts.slice(0, units >> 1).join(' '), parts.slice(units >> 1).join('\n')];
    out.push(input);
  }
  // Numbered sentences (every one distinct) of two forms that a claim shares as much weight with: hundreds of
  // sentences tie, and the claim meets the later form's first.
  for (let n = 0; n < 8; n++) {
    const parts: string[] = [];
    const units = 70 + Math.floor(r() * 300);
    for (let i = 0; i < units; i++)
      parts.push(r() < 0.5 ? `The Paris market ${i + 3} opened.` : `The Lyon garden ${i + 3} opened.`);
    const claims = ['The garden and the market opened.', `The market ${Math.floor(r() * units)} opened.`];
    if (r() < 0.5) claims.push('The Lyon garden did not open.');
    out.push({ context: [parts.join(' ')], response: claims.join(' ') });
  }
  // A figure stated in hundreds of sentences about something else, and in table rows (statesNear).
  for (let n = 0; n < 6; n++) {
    const parts: string[] = [];
    const units = 70 + Math.floor(r() * 300);
    for (let i = 0; i < units; i++)
      parts.push(r() < 0.1 ? `| Row${i % 4} | 1884 | ${i % 7} |` : `In 1884 nothing happened here ${i}.`);
    const claims = ['The tower opened in 1884.', `Row${n % 4} had 5 in 1884.`, 'The mill of row 2 weighs 1884 kg.'];
    out.push({ context: [parts.join('\n')], response: claims.slice(0, 1 + (n % 3)).join(' ') });
  }
  return out;
}

const kb = KnowledgeBase.fromDocuments(
  Array.from({ length: 6 }, (_, i) => {
    const r = random(100 + i);
    const distinct = [sentence(r), sentence(r)];
    return { id: `doc-${i}.md`, text: Array.from({ length: 90 }, (_, k) => distinct[k % 2]).join(' ') };
  }),
);

function same(r: EvaluationResult): Omit<EvaluationResult, 'durationMs'> {
  const { durationMs: _, ...rest } = r;
  return rest;
}

describe('grounding on a context that repeats its sentences', () => {
  const pairs: [string, GroundingEvaluator, GroundingEvaluator][] = [
    ['shipped model', new GroundingEvaluator(), new GroundingEvaluator({ fullScan: true })],
    ['lexical score', new GroundingEvaluator({ model: null }), new GroundingEvaluator({ model: null, fullScan: true })],
    [
      'online module',
      new GroundingEvaluator({ minContextWords: 20 }),
      new GroundingEvaluator({ minContextWords: 20, fullScan: true }),
    ],
  ];
  it('reads a figure again once a later claim brings passages that state it (statesNear kept per figure)', () => {
    // The first claim's passages state 1884 about nothing the answer says; the second claim's passage states it about
    // the crane: its 1884 is stated, as scoring every unit for every claim finds.
    const kb1884 = KnowledgeBase.fromDocuments([
      ...Array.from({ length: 3 }, (_, i) => ({ id: `filler-${i}.md`, text: `1884 1884 1884 happened ${i}.` })),
      { id: 'crane.md', text: 'The harbour crane lifts 1884 kg of cargo.' },
    ]);
    const input = { context: [], response: 'The year was 1884. The harbour crane lifts 1884 kg.', knowledge: kb1884 };
    const r = new GroundingEvaluator({ model: null }).check(input);
    expect(same(r)).toEqual(same(new GroundingEvaluator({ model: null, fullScan: true }).check(input)));
    expect(r.claims?.[1]?.reasons?.join('; ') ?? '').not.toContain('1884');
  });

  for (const [name, fast, full] of pairs)
    it(`gives the full scan's results, claim by claim (${name})`, () => {
      let claims = 0;
      for (const seed of [1, 2, 3]) {
        for (const input of corpus(seed)) {
          const a = fast.check(input);
          expect(same(a)).toEqual(same(full.check(input)));
          claims += a.claims?.length ?? 0;
          const withKb = { ...input, context: input.context.slice(0, 1).map((c) => c.slice(0, 400)), knowledge: kb };
          expect(same(fast.check(withKb))).toEqual(same(full.check(withKb)));
        }
      }
      expect(claims).toBeGreaterThan(150);
    });
});
