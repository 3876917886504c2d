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

/**
 * withoutQuotes of a result with no claims and no evidence (most `unknown` ones): the same object, keys in the same
 * order, built without the general path's arrays and spreads.
 */
function bare(r: EvaluationResult): EvaluationResult {
  const explanation =
    (r.score === 0 && BARE_ZERO.get(r.verdict)) || `verdict ${r.verdict}, score ${r.score}; ${NOT_KEPT}`;
  const out: EvaluationResult = r.claims
    ? { evaluator: r.evaluator, verdict: r.verdict, score: r.score, evidence: [], claims: [], explanation }
    : { evaluator: r.evaluator, verdict: r.verdict, score: r.score, evidence: [], explanation };
  if (r.durationMs !== undefined) out.durationMs = r.durationMs;
  return out;
}
