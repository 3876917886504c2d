// Self-consistency: contradictions inside one response. Two kinds are found without any model:
//  - the same thing given different numbers ("founded in 1998" ... "since its founding in 2001"): number mentions
//    whose surrounding content words overlap, with different values of the same kind (year vs. count);
//  - a statement repeated with the opposite polarity ("X supports Y" ... "X does not support Y").
// Optionally (sampleAgreement), the answer is compared with extra samples of the same prompt from the upstream:
// claims the samples do not back are inconsistent (SelfCheckGPT-style), scored with the grounding check.
import { hasNegation, isContent, type NumberMention, numberMentions, STOPWORDS, stem, words } from '../text.js';
import { answerSentences } from './answer.js';
import { GroundingEvaluator, MONTH_WORDS } from './grounding.js';
import type { ClaimResult, EvaluationInput, EvaluationResult, Evaluator, Evidence } from './types.js';

interface Mention {
  sentence: number;
  value: number;
  kind: 'year' | 'day' | 'number';
  /** Written in digits (not in words). */
  digits: boolean;
  context: Set<string>;
  /** The content word right after the number (its unit: "21 wins", "$150 million extension"), stemmed; '' if none. */
  unit: string;
}

interface SentenceInfo {
  text: string;
  /** The sentence's words (`words(text)`), kept for its stems. */
  words: readonly string[];
  /**
   * Its content words' stems (numbers left out). Read (stemsIn) only for a sentence a pair check compares: most
   * answers have no figures to compare and no negated sentence beside plain ones, so no stem is taken.
   */
  stems: Set<string> | null;
  negated: boolean;
  /** Years the sentence names: two sentences about different years do not contradict each other. */
  years: Set<number>;
  /** Whether it also gives a figure that is not a year. */
  figures: boolean;
  /** Every value it states (a value stated in both sentences is no contradiction between them). */
  values: Set<number>;
  /**
   * Capitalised words (names), lowercased: sentences naming different things are about different things. Read
   * (namesOf) only for the sentences of a pair of figures that comes that far.
   */
  names: Set<string> | null;
}

/** The sentence's content stems, taken on first use. */
function stemsIn(s: SentenceInfo): Set<string> {
  s.stems ??= contentStems(s.words);
  return s.stems;
}

function contentStems(ws: readonly string[]): Set<string> {
  const stems = new Set<string>();
  for (const w of ws) if (isContent(w) && !/^\d/.test(w)) stems.add(stem(w));
  return stems;
}

/** The sentence's names, read on first use. */
function namesIn(s: SentenceInfo): Set<string> {
  s.names ??= namesOf(s.text);
  return s.names;
}

const WINDOW = 4;
/** Sentences compared (all pairs): a long list-like answer is checked in its first part, in bounded time. */
const MAX_SENTENCES = 200;
/**
 * Figures compared (every pair of figures from two sentences): the first of each sentence, and in all. Two sentences
 * of thousands of figures each (a pasted table or log as prose) made millions of pairs: 0.3 s at 30,000 characters,
 * quadratic; now at most 500,000 pairs, most skipped at once.
 */
const MAX_SENTENCE_FIGURES = 64;
const MAX_FIGURES = 1000;
/** Contradictions reported per answer: enough to judge and to show, a bounded size to store. */
const MAX_CLAIMS = 20;

/**
 * A series, not a contradiction: both sentences name years and no year is in both ("5 million in 2019", "7 million
 * in 2020"). Their figures differ by year, and so do the years themselves when both sentences give a figure too.
 */
function differentYears(a: SentenceInfo, b: SentenceInfo): boolean {
  if (a.years.size === 0 || b.years.size === 0) return false;
  for (const y of a.years) if (b.years.has(y)) return false;
  return true;
}

function isYear(v: number): boolean {
  return Number.isInteger(v) && v >= 1000 && v <= 2100;
}

const SCALE_WORDS = new Set(['hundred', 'thousand', 'million', 'billion', 'trillion']);

/** Capitalised only because they open a sentence: "At 300 metres", "About 40 people", "Around 5,000 fans". */
const APPROXIMATORS = new Set(['around', 'approximately', 'nearly', 'almost', 'roughly', 'exactly', 'least', 'within']);

/**
 * Numbers that are part of a name rather than a quantity: right after a capitalised word or a label ("Super Bowl
 * 46", "Hot 100", "No. 1", "#1", "Windows 11"). A function word opening the sentence ("At 300 metres, …") names
 * nothing. Values as numberMentions gives them.
 */
function labelNumbers(text: string): Set<number> {
  const out = new Set<number>();
  for (const m of labelMatches(text)) {
    const w = m[1]?.toLowerCase();
    if (w !== undefined && !m[2] && w !== 'no' && (STOPWORDS.has(w) || APPROXIMATORS.has(w))) continue;
    const v = Number((m[3] as string).replace(/,/g, ''));
    if (Number.isFinite(v) && !isYear(v)) out.add(v);
  }
  return out;
}

/** A figure after a capitalised word or a '#': (word)(.)(figure). */
const LABEL = /(?:\b(\p{Lu}[\p{L}'’-]*)(\.?)|#)\s*(\d[\d,]*(?:\.\d+)?)\b/uy;
/** Where LABEL may start: a '#', or a capital after a word's boundary. */
const LABEL_START = /#|\b\p{Lu}/gu;
/** The run of name letters a capital starts. */
const NAME_RUN = /[\p{L}'’-]*/uy;

/**
 * The matches of LABEL over the text, as text.matchAll(LABEL with g) gives them, in linear time. A capital that
 * starts no match is followed by the rest of its run of letters, hyphens and apostrophes: every capital later in the
 * run reaches the same end and fails too, so the scan goes on after the run. As a global pattern each was tried (an
 * answer sentence of 'A-A-A-…' with a figure in it: 20,000 capitals, each reading to the run's end: 0.76 s at 10,000
 * characters, 7 s at 40,000).
 */
export function labelMatches(text: string): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  LABEL_START.lastIndex = 0;
  for (let s = LABEL_START.exec(text); s !== null; s = LABEL_START.exec(text)) {
    LABEL.lastIndex = s.index;
    const m = LABEL.exec(text);
    if (m) {
      out.push(m);
      LABEL_START.lastIndex = LABEL.lastIndex;
    } else if (s[0] !== '#') {
      NAME_RUN.lastIndex = s.index + s[0].length;
      NAME_RUN.exec(text);
      LABEL_START.lastIndex = NAME_RUN.lastIndex;
    }
  }
  return out;
}

/**
 * Number mentions with the content stems around them (numbers themselves left out); `ws` = words(text), `numbers` =
 * numberMentions(ws).
 */
function mentionsOf(
  text: string,
  ws: readonly string[],
  numbers: readonly NumberMention[],
  sentence: number,
): Mention[] {
  const out: Mention[] = [];
  // The sentence's label numbers (a Unicode pattern over it) are read only when a figure in digits asks.
  let labels: Set<number> | null = null;
  for (const n of numbers) {
    if (!n.digits && n.value <= 10) continue;
    // A day of the month ("August 27, 1990") is compared only with other days.
    const day = MONTH_WORDS.has(ws[n.index - 1] as string) && n.value <= 31;
    if (!day && n.digits) {
      labels ??= labelNumbers(text);
      if (labels.has(n.value)) continue;
    }
    const context = new Set<string>();
    for (let j = Math.max(0, n.index - WINDOW); j <= Math.min(ws.length - 1, n.index + WINDOW); j++) {
      const x = ws[j] as string;
      if (j !== n.index && isContent(x) && !/^\d/.test(x)) context.add(stem(x));
    }
    let u = n.index + 1;
    if (SCALE_WORDS.has(ws[u] as string)) u++;
    const next = ws[u];
    const unit = next !== undefined && isContent(next) && !/^\d/.test(next) && !MONTH_WORDS.has(next) ? stem(next) : '';
    const kind = day ? 'day' : isYear(n.value) ? 'year' : 'number';
    out.push({ sentence, value: n.value, kind, digits: n.digits, context, unit });
  }
  return out;
}

/** Capitalised words of a sentence that are not function words ("The", "It", "Since"): its names, lowercased. */
function namesOf(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.matchAll(/\p{Lu}[\p{L}'’-]+/gu)) {
    const w = (m[0] as string).toLowerCase().replace(/['’]s$/, '');
    if (!STOPWORDS.has(w) && !MONTH_WORDS.has(w)) out.add(w);
  }
  return out;
}

function overlap(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

function jaccard(a: Set<string>, b: Set<string>): number {
  const shared = overlap(a, b);
  return shared / (a.size + b.size - shared || 1);
}

export interface ConsistencyOptions {
  /**
   * Extra answers to the same prompt (from the upstream); when given, the answer's claims are checked against
   * them too. The module fetches these at `quality.sampling.consistencySamples` rate.
   */
  samples?: (input: EvaluationInput) => Promise<string[]>;
  /**
   * Tokenise and compare every sentence even when the verdict is known before (fewer than two sentences). Only for
   * the test that checks the shortcut gives the same results; default false.
   */
  fullScan?: boolean;
}

export class SelfConsistencyEvaluator implements Evaluator {
  readonly name = 'consistency';
  private readonly grounding = new GroundingEvaluator();

  constructor(private readonly opts: ConsistencyOptions = {}) {}

  async evaluate(input: EvaluationInput): Promise<EvaluationResult> {
    return this.evaluateNow(input);
  }

  /** `evaluate`, with the result as it is when no extra samples are fetched (the default). */
  evaluateNow(input: EvaluationInput): EvaluationResult | Promise<EvaluationResult> {
    const t0 = performance.now();
    const internal = this.check(input.response, input);
    if (!this.opts.samples) {
      // check() returns a new object: timed in place rather than copied (durationMs is its last key either way)
      internal.durationMs = performance.now() - t0;
      return internal;
    }
    return this.withSamples(input, internal, t0, this.opts.samples);
  }

  private async withSamples(
    input: EvaluationInput,
    internal: EvaluationResult,
    t0: number,
    fetch: (input: EvaluationInput) => Promise<string[]>,
  ): Promise<EvaluationResult> {
    let samples: string[];
    try {
      samples = (await fetch(input)).filter((s) => s.trim().length > 0);
    } catch (err) {
      return {
        ...internal,
        explanation: `${internal.explanation}; extra samples failed: ${(err as Error).message}`,
        durationMs: performance.now() - t0,
      };
    }
    if (samples.length === 0) return { ...internal, durationMs: performance.now() - t0 };
    const agreement = this.grounding.check({ context: samples, response: input.response });
    const claims = [...(internal.claims ?? []), ...(agreement.claims ?? []).filter((c) => c.status !== 'supported')];
    const score = Math.max(internal.score, agreement.score);
    const verdict = internal.verdict === 'fail' || agreement.verdict === 'fail' ? 'fail' : 'pass';
    return {
      evaluator: this.name,
      verdict,
      score: Math.round(score * 1000) / 1000,
      evidence: [
        ...internal.evidence,
        ...agreement.evidence.map((e) => ({ ...e, source: 'response' as const, note: `sample: ${e.note ?? ''}` })),
      ],
      claims,
      explanation: `${internal.explanation}; against ${samples.length} extra sample(s): ${agreement.explanation}`,
      durationMs: performance.now() - t0,
    };
  }

  /**
   * The model-free part: contradictions within the response. With `sources` (the request's context, the knowledge
   * base), two figures that the sources both state are no contradiction: the answer is reporting two facts ("the
   * stadium seats 65,000; the record crowd was 72,000").
   */
  check(response: string, sources: Partial<Pick<EvaluationInput, 'context' | 'knowledge'>> = {}): EvaluationResult {
    const all = answerSentences(response);
    // One sentence (or none): no pair to compare, so the verdict is known before any sentence is tokenised (words,
    // stems, numbers, names). The full path below returns the same for it; `fullScan` keeps it for the sameness test.
    if (all.length < 2 && !this.opts.fullScan) return this.single();
    let contextNumbers: Set<number> | undefined;
    /** Whether the sources state this value near these words (the context anywhere; the KB's passages about them). */
    const sourced = (v: number, about: Iterable<string>): boolean => {
      contextNumbers ??= new Set((sources.context ?? []).flatMap((c) => numberMentions(c).map((n) => n.value)));
      if (contextNumbers.has(v)) return true;
      const kb = sources.knowledge;
      if (!kb || kb.size === 0) return false;
      return kb.search([...about], 3).some((h) => numberMentions(h.doc.text).some((n) => n.value === v));
    };
    const mentions: Mention[] = [];
    const sents: SentenceInfo[] = all.slice(0, MAX_SENTENCES).map((s, i) => {
      const ws = words(s.text);
      const numbers = numberMentions(ws);
      const own = mentionsOf(s.text, ws, numbers, i);
      for (let k = 0; k < own.length && k < MAX_SENTENCE_FIGURES && mentions.length < MAX_FIGURES; k++)
        mentions.push(own[k] as Mention);
      const years = new Set<number>();
      let figures = false;
      for (const m of own)
        if (m.digits && m.kind === 'year') years.add(m.value);
        else figures = true;
      return {
        text: s.text,
        words: ws,
        // the full path (the shortcuts' sameness test) takes every sentence's stems, as before they were read lazily
        stems: this.opts.fullScan ? contentStems(ws) : null,
        negated: hasNegation(ws),
        years,
        figures,
        values: new Set(numbers.map((n) => n.value)),
        names: null,
      };
    });
    const claims: ClaimResult[] = [];
    const seen = new Set<string>();
    // Numbers: the same context given different values.
    for (let a = 0; a < mentions.length && claims.length < MAX_CLAIMS; a++)
      for (let b = a + 1; b < mentions.length && claims.length < MAX_CLAIMS; b++) {
        const x = mentions[a] as Mention;
        const y = mentions[b] as Mention;
        if (x.sentence === y.sentence || x.kind !== y.kind || x.value === y.value) continue;
        const shared = overlap(x.context, y.context);
        if (shared < 2) continue;
        const key = `${x.sentence}:${y.sentence}`;
        if (seen.has(key)) continue;
        const sx = sents[x.sentence] as SentenceInfo;
        const sy = sents[y.sentence] as SentenceInfo;
        if (differentYears(sx, sy) && (x.kind === 'number' || (sx.figures && sy.figures))) continue;
        // Not a contradiction: each sentence also states the other's value ("the 1988 and 1994 champion"); the two
        // are figures of different things (units "15 titles" / "21 wins"); the sentences name different things
        // (both name something, nothing in common); a sentence listing several years is a timeline, unless the other
        // says the same with one year changed.
        if (sx.values.has(y.value) || sy.values.has(x.value)) continue;
        if (x.unit && y.unit && x.unit !== y.unit) continue;
        const nx = namesIn(sx);
        if (nx.size > 0) {
          const ny = namesIn(sy);
          if (ny.size > 0 && overlap(nx, ny) === 0) continue;
        }
        if (x.kind === 'year' && (sx.years.size > 1 || sy.years.size > 1) && jaccard(stemsIn(sx), stemsIn(sy)) < 0.6)
          continue;
        if (sourced(x.value, [...x.context, ...stemsIn(sx)]) && sourced(y.value, [...y.context, ...stemsIn(sy)]))
          continue;
        seen.add(key);
        const evidence: Evidence[] = [
          { source: 'response', id: `sentence#${x.sentence}`, text: sx.text, note: `says ${x.value}` },
        ];
        claims.push({
          text: sy.text,
          status: 'contradicted',
          score: 0.9,
          evidence,
          reasons: [`number ${y.value} here, ${x.value} in an earlier sentence about the same thing`],
        });
      }
    // Negated repeats: near-identical statements with opposite polarity.
    for (let a = 0; a < sents.length && claims.length < MAX_CLAIMS; a++)
      for (let b = a + 1; b < sents.length && claims.length < MAX_CLAIMS; b++) {
        const x = sents[a] as SentenceInfo;
        const y = sents[b] as SentenceInfo;
        if (x.negated === y.negated || stemsIn(x).size < 3 || stemsIn(y).size < 3 || differentYears(x, y)) continue;
        if (jaccard(stemsIn(x), stemsIn(y)) < 0.6) continue;
        const key = `${a}:${b}`;
        if (seen.has(key)) continue;
        seen.add(key);
        claims.push({
          text: y.text,
          status: 'contradicted',
          score: 0.85,
          evidence: [
            {
              source: 'response',
              id: `sentence#${a}`,
              text: x.text,
              note: 'the same statement with the opposite polarity',
            },
          ],
          reasons: ['negates an earlier sentence'],
        });
      }
    let score = 0;
    for (const c of claims) score = Math.max(score, c.score);
    const checked =
      all.length > sents.length ? `the first ${sents.length} of ${all.length} sentences` : `${sents.length} sentences`;
    return {
      evaluator: this.name,
      verdict: sents.length < 2 ? 'unknown' : claims.length > 0 ? 'fail' : 'pass',
      score,
      evidence: claims.flatMap((c) => c.evidence).slice(0, 10),
      claims,
      explanation:
        sents.length < 2
          ? 'a single sentence cannot contradict itself'
          : claims.length === 0
            ? `no contradiction among ${checked}`
            : `${claims.length}${claims.length >= MAX_CLAIMS ? '+' : ''} contradiction(s) among ${checked}: ${claims
                .slice(0, 3)
                .map((c) => `"${c.text.slice(0, 80)}" (${(c.reasons ?? []).join('; ')})`)
                .join(', ')}`,
    };
  }

  /** The result for an answer of fewer than two sentences. */
  private single(): EvaluationResult {
    return {
      evaluator: this.name,
      verdict: 'unknown',
      score: 0,
      evidence: [],
      claims: [],
      explanation: 'a single sentence cannot contradict itself',
    };
  }
}
