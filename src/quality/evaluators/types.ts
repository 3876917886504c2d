// The one Evaluator signature and its uniform result. Every hallucination check (grounding, self-consistency,
// source attribution, LLM judge) takes the same input and returns the same shape, so they are stored, counted,
// reviewed and compared the same way. Evaluators report failure as a result with verdict `error`; they never throw.
import type { KnowledgeBase } from '../knowledge.js';

export type Verdict = 'pass' | 'fail' | 'unknown' | 'error';
export type ClaimStatus = 'supported' | 'unsupported' | 'contradicted';

/** A piece of evidence: where it came from and the text that supports, contradicts or is missing. */
export interface Evidence {
  /** `context` (the request's own messages), `kb` (the knowledge base), `response` (the answer itself), `judge`. */
  source: 'context' | 'kb' | 'response' | 'judge';
  /** Passage or document id (`context#3`, `handbook.md#2`). */
  id?: string;
  text: string;
  /** What this evidence shows, in words (e.g. `number 1846 in evidence, 1850 in claim`). */
  note?: string;
  /** Retrieval/support score of this evidence, 0..1. */
  score?: number;
}

export interface ClaimResult {
  text: string;
  status: ClaimStatus;
  evidence: Evidence[];
  /** 0..1, higher = more likely hallucinated. */
  score: number;
  /** Short machine-readable reasons (`missing: velocity, rotation`, `number_mismatch`, `negation_mismatch`). */
  reasons?: string[];
}

export interface EvaluationResult {
  evaluator: string;
  verdict: Verdict;
  /** 0..1, higher = more likely hallucinated. */
  score: number;
  evidence: Evidence[];
  claims?: ClaimResult[];
  explanation: string;
  /** Wall time the evaluator took, ms. */
  durationMs?: number;
}

export interface EvaluationInput {
  question?: string;
  /** Passages the answer should rest on (RAG context, system prompt, prior turns). */
  context: string[];
  response: string;
  knowledge?: KnowledgeBase;
}

export interface Evaluator {
  readonly name: string;
  evaluate(input: EvaluationInput): Promise<EvaluationResult>;
  /**
   * The same result as `evaluate`, returned as it is when the evaluator has it at once (no wait, no yield to the
   * event loop), else a promise of it. The quality service uses it so that a check decided at once costs no promise
   * and no turn of the event loop.
   */
  evaluateNow?(input: EvaluationInput): EvaluationResult | Promise<EvaluationResult>;
}

/** An `error` result for an evaluator that failed (so failures are recorded and counted, never thrown). */
export function errorResult(evaluator: string, err: unknown, durationMs?: number): EvaluationResult {
  const msg = err instanceof Error ? err.message : String(err);
  return { evaluator, verdict: 'error', score: 0, evidence: [], explanation: `evaluator failed: ${msg}`, durationMs };
}
