// An evaluation without quotes, for when content capture is off (`telemetry.captureContent: false`): the stored
// result keeps verdicts, scores, statuses, evidence ids and counts, and drops every piece of the prompt, the answer
// or the sources (claim text, evidence text, reasons and explanations that quote them).
import type { ClaimResult, EvaluationResult, Evidence } from './types.js';

const evidenceIds = (e: Evidence): Evidence => ({
  source: e.source,
  ...(e.id === undefined ? {} : { id: e.id }),
  text: '',
  ...(e.score === undefined ? {} : { score: e.score }),
});

/** The same result with claims named `claim#N`, evidence by id, and an explanation made of counts and ids. */
export function withoutQuotes(r: EvaluationResult): EvaluationResult {
  if (r.evidence.length === 0 && !r.claims?.length) return bare(r);
  const claims: ClaimResult[] | undefined = r.claims?.map((c, i) => ({
    text: `claim#${i + 1}`,
    status: c.status,
    score: c.score,
    evidence: c.evidence.map(evidenceIds),
    reasons: c.reasons?.length ? [`${c.reasons.length} reason(s), text not kept (content capture is off)`] : [],
  }));
  const parts: string[] = [`verdict ${r.verdict}, score ${r.score}`];
  if (claims?.length) {
    const bad = claims.filter((c) => c.status !== 'supported');
    const contradicted = bad.filter((c) => c.status === 'contradicted').length;
    let worst = 0;
    for (let i = 1; i < claims.length; i++)
      if ((claims[i] as ClaimResult).score > (claims[worst] as ClaimResult).score) worst = i;
    const w = claims[worst] as ClaimResult;
    const ev = w.evidence[0];
    parts.push(
      `${claims.length} claim(s), ${bad.length} not supported (${contradicted} contradicted)`,
      `worst claim#${worst + 1} score ${w.score}, evidence ${ev ? (ev.id ?? ev.source) : 'none'}`,
    );
  }
  parts.push('text not kept (content capture is off)');
  return {
    evaluator: r.evaluator,
    verdict: r.verdict,
    score: r.score,
    evidence: r.evidence.map(evidenceIds),
    ...(claims ? { claims } : {}),
    explanation: parts.join('; '),
    ...(r.durationMs === undefined ? {} : { durationMs: r.durationMs }),
  };
}

const NOT_KEPT = 'text not kept (content capture is off)';
/** The explanation of a result with no claims, for the common verdicts at score 0 (`unknown`, `pass`). */
const BARE_ZERO = new Map(
  (['pass', 'fail', 'unknown', 'error'] as const).map((v) => [v, `verdict ${v}, score 0; ${NOT_KEPT}`]),
);

/** The explanation withoutQuotes gives a result with no claims and no evidence. */
export function bareExplanation(verdict: string, score: number): string {
  return (
    (score === 0 && BARE_ZERO.get(verdict as EvaluationResult['verdict'])) ||
    `verdict ${verdict}, score ${score}; ${NOT_KEPT}`
  );
}

/**
 * withoutQuotes of a result with no claims and no evidence (most `unknown` ones), from its parts: the same object,
 * keys in the same order, built without the general path's arrays and spreads. `claims`: whether the result had a
 * `claims` array (then an empty one is kept). The SQLite quality store rebuilds such results from these parts.
 */
export function bareResult(
  evaluator: string,
  verdict: EvaluationResult['verdict'],
  score: number,
  claims: boolean,
  durationMs: number | undefined,
): EvaluationResult {
  const explanation = bareExplanation(verdict, score);
  const out: EvaluationResult = claims
    ? { evaluator, verdict, score, evidence: [], claims: [], explanation }
    : { evaluator, verdict, score, evidence: [], explanation };
  if (durationMs !== undefined) out.durationMs = durationMs;
  return out;
}

function bare(r: EvaluationResult): EvaluationResult {
  return bareResult(r.evaluator, r.verdict, r.score, !!r.claims, r.durationMs);
}

/**
 * Whether `r` is exactly what `bareResult` builds from its own evaluator, verdict, score, claims (none, or an empty
 * array) and durationMs (none, or a finite number): nothing else on it, and the explanation withoutQuotes gives it.
 */
export function isBareResult(r: EvaluationResult): boolean {
  if (!Array.isArray(r.evidence) || r.evidence.length !== 0) return false;
  const c = r.claims;
  if (c !== undefined && !(Array.isArray(c) && c.length === 0)) return false;
  const d = r.durationMs;
  if (d !== undefined && !Number.isFinite(d)) return false;
  if (typeof r.evaluator !== 'string' || typeof r.verdict !== 'string') return false;
  if (typeof r.score !== 'number' || !Number.isFinite(r.score)) return false;
  if (r.explanation !== bareExplanation(r.verdict, r.score)) return false;
  let keys = 0;
  for (const _ in r) keys++;
  return keys === 5 + (c === undefined ? 0 : 1) + (d === undefined ? 0 : 1);
}
