// Offline hallucination scoring: one `{id, context?, question?, response}` record in, the same record out with
// `hallucination_score`, `verdict`, `claims` (each with its evidence) and the per-evaluator results. The model-free
// evaluators run (grounding, source attribution, self-consistency); the combined score is the grounding score,
// raised to any other evaluator's score when that evaluator fails.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import type { Writable } from 'node:stream';
import { z } from 'zod';
import { missingIsRequired } from '../errors.js';
import { SourceAttributionEvaluator } from './evaluators/attribution.js';
import { SelfConsistencyEvaluator } from './evaluators/consistency.js';
import { DEFAULT_GROUNDING_THRESHOLD, GroundingEvaluator } from './evaluators/grounding.js';
import type { ClaimResult, EvaluationResult, Evaluator, Verdict } from './evaluators/types.js';
import type { KnowledgeBase } from './knowledge.js';
import { classifyRefusal } from './refusal.js';

export const scoreInputSchema = z
  .object({
    id: z.union([z.string(), z.number()]).optional(),
    context: z.union([z.string(), z.array(z.string())]).optional(),
    question: z.string().optional(),
    response: z.string(),
  })
  .loose();

export type ScoreInput = z.infer<typeof scoreInputSchema>;

export interface ScoreOutput extends Record<string, unknown> {
  hallucination_score: number;
  verdict: Verdict;
  claims: ClaimResult[];
  explanation: string;
  evaluations: Record<string, { verdict: Verdict; score: number; explanation: string }>;
}

export interface Scorer {
  score(input: ScoreInput): ScoreOutput | Promise<ScoreOutput>;
  /** With `limits`: how many responses and contexts were cut to them so far. */
  readonly cut: { response: number; context: number };
}

/** The recorder's text limits (`quality.maxChars`, `quality.maxContextChars`), applied by `quality score --config`. */
export interface ScoreLimits {
  maxChars: number;
  maxContextChars: number;
}

/** The context's passages cut to `max` characters in all (the recorder cuts the prompt text it flattens them to). */
function cutPassages(context: readonly string[], max: number): string[] {
  const out: string[] = [];
  let left = max;
  for (const c of context) {
    if (left <= 0) break;
    out.push(c.length > left ? c.slice(0, left) : c);
    left -= c.length;
  }
  return out;
}

/**
 * Builds the offline scorer: the model-free evaluators (grounding with the learned scorer, attribution,
 * consistency), synchronous; with `nli` (a loaded NLI model) the NLI evaluator runs too, asynchronously. With
 * `limits`, each line is checked on the first `maxChars` characters of its response and `maxContextChars` of its
 * context, as the recorder checks a call (the record written out keeps its text whole).
 */
export function createScorer(
  opts: { knowledge?: KnowledgeBase; threshold?: number; nli?: Evaluator; limits?: ScoreLimits } = {},
): Scorer {
  const grounding = new GroundingEvaluator({ threshold: opts.threshold ?? DEFAULT_GROUNDING_THRESHOLD });
  const attribution = new SourceAttributionEvaluator();
  const consistency = new SelfConsistencyEvaluator();
  const limits = opts.limits;
  const cut = { response: 0, context: 0 };
  return {
    cut,
    score(input) {
      // A refusal states nothing to check: as on live traffic, it is not checked for hallucination (verdict unknown).
      const declined = classifyRefusal(input.response);
      if (declined.refusal)
        return {
          ...input,
          hallucination_score: 0,
          verdict: 'unknown',
          claims: [],
          explanation: `refusal (${declined.rule}: "${declined.match}"): not checked for hallucination`,
          evaluations: {},
          refusal: true,
        };
      let context = input.context === undefined ? [] : Array.isArray(input.context) ? input.context : [input.context];
      let response = input.response;
      if (limits) {
        if (response.length > limits.maxChars) {
          response = response.slice(0, limits.maxChars);
          cut.response++;
        }
        if (context.reduce((n, c) => n + c.length, 0) > limits.maxContextChars) {
          context = cutPassages(context, limits.maxContextChars);
          cut.context++;
        }
      }
      const ev = { context, question: input.question, response, knowledge: opts.knowledge };
      const results = [grounding.check(ev), attribution.check(ev), consistency.check(response, ev)];
      if (!opts.nli) return { ...combine(input, results), refusal: false };
      return opts.nli.evaluate(ev).then((r) => ({ ...combine(input, [...results, r]), refusal: false }));
    },
  };
}

/**
 * Evaluators whose pass says the answer was checked against something outside it (knowledge, a judge). A pass of
 * the others (no self-contradiction, no broken citation) says nothing about whether the answer is true, so on its
 * own it leaves an otherwise unverifiable answer `unknown`.
 */
const VERIFYING = new Set(['grounding', 'judge', 'nli']);

/** One result from several evaluators: failures raise the score; verdict is the worst decisive one. */
export function combine(input: Record<string, unknown>, results: readonly EvaluationResult[]): ScoreOutput {
  const [first] = results;
  let score = first?.verdict === 'unknown' || first?.verdict === 'error' ? 0 : (first?.score ?? 0);
  let verdict: Verdict = first?.verdict ?? 'unknown';
  const claims: ClaimResult[] = [];
  const explanations: string[] = [];
  const evaluations: ScoreOutput['evaluations'] = {};
  for (const r of results) {
    evaluations[r.evaluator] = { verdict: r.verdict, score: r.score, explanation: r.explanation };
    if (r.verdict === 'fail') {
      score = Math.max(score, r.score);
      verdict = 'fail';
    } else if (r.verdict === 'pass' && verdict === 'unknown' && VERIFYING.has(r.evaluator)) verdict = 'pass';
    for (const c of r.claims ?? []) if (r === first || c.status !== 'supported') claims.push(c);
    if (r.verdict === 'fail' || r === first) explanations.push(`${r.evaluator}: ${r.explanation}`);
  }
  return {
    ...input,
    hallucination_score: Math.round(score * 1000) / 1000,
    verdict,
    claims,
    explanation: explanations.join(' | '),
    evaluations,
  };
}

export interface ScoreFileResult {
  scored: number;
  failed: number;
  bad: { line: number; error: string }[];
}

/**
 * Scores a JSONL file line by line (streaming, so any size fits in memory). Bad lines are reported with their line
 * number and skipped; `onProgress` gets bytes read so far and the file size.
 */
export async function scoreFile(
  path: string,
  out: Writable,
  scorer: Scorer,
  opts: { onProgress?: (bytes: number, total: number) => void; onBadLine?: (line: number, error: string) => void } = {},
): Promise<ScoreFileResult> {
  const total = (await stat(path)).size;
  const rl = createInterface({
    input: createReadStream(path, { encoding: 'utf8' }),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  const result: ScoreFileResult = { scored: 0, failed: 0, bad: [] };
  let line = 0;
  let bytes = 0;
  const bad = (error: string): void => {
    result.bad.push({ line, error });
    opts.onBadLine?.(line, error);
  };
  for await (const raw of rl) {
    line++;
    bytes += Buffer.byteLength(raw) + 1;
    if (line % 50 === 0) opts.onProgress?.(Math.min(bytes, total), total);
    if (!raw.trim()) continue;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch (err) {
      bad(`not valid JSON (${(err as Error).message})`);
      continue;
    }
    const parsed = scoreInputSchema.safeParse(json, { error: missingIsRequired });
    if (!parsed.success) {
      bad(parsed.error.issues.map((i) => `${i.path.join('.') || '(record)'}: ${i.message}`).join('; '));
      continue;
    }
    let o: ScoreOutput;
    try {
      o = await scorer.score(parsed.data);
    } catch (err) {
      bad(`scoring failed: ${(err as Error).message}`);
      continue;
    }
    result.scored++;
    if (o.verdict === 'fail') result.failed++;
    if (!out.write(`${JSON.stringify(o)}\n`)) await new Promise((r) => out.once('drain', r));
  }
  opts.onProgress?.(total, total);
  return result;
}
