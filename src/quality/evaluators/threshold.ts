// The grounding evaluator's shipped threshold, apart from the evaluator: `llmscope quality score --help` names it as
// --threshold's default without loading the evaluator and its model (grounding.ts re-exports it).

/**
 * The shipped threshold: the score at or above which a response fails. With the learned model (the default) the
 * score is a calibrated probability of hallucination, so 0.5 means the same on every set (see bench/RESULTS.md).
 */
export const DEFAULT_GROUNDING_THRESHOLD = 0.5;
