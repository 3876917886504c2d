// Public face of the evaluators: one signature, one result shape, four checks.
export { SourceAttributionEvaluator } from './attribution.js';
export { type ConsistencyOptions, SelfConsistencyEvaluator } from './consistency.js';
export { claimsOf, GroundingEvaluator, type GroundingOptions } from './grounding.js';
export { JUDGE_RUBRIC, type JudgeOptions, type JudgeVerdict, LlmJudgeEvaluator, parseJudgeReply } from './judge.js';
export { withoutQuotes } from './redact.js';
export * from './types.js';
