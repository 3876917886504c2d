// The `quality` config section: knowledge base, per-evaluator sampling, the LLM judge, review sampling.
// Self-contained (no import from config/) because config/schema.ts imports this file. Every key is optional.
import { z } from 'zod';

const rate = z.number().min(0).max(1);

export const judgeConfigSchema = z
  .object({
    /** Name of a configured provider (`providers[].name`) to take baseUrl / apiKeyEnv / headers from. */
    provider: z.string().min(1).optional(),
    /** OpenAI-compatible base URL (with /v1), when not taken from `provider`. */
    baseUrl: z
      .url({ protocol: /^https?$/, message: 'an absolute http(s) URL such as https://api.openai.com/v1' })
      .optional(),
    model: z.string().min(1).default('gpt-4o-mini'),
    /** Environment variable holding the judge's API key (the key never sits in config). */
    apiKeyEnv: z.string().optional(),
    /** Extra headers sent to the judge (not secrets). */
    headers: z.record(z.string(), z.string()).default({}),
    /** Retries after a malformed verdict (then the evaluation is recorded as `error`). */
    maxRetries: z.number().int().min(0).max(5).default(2),
    timeoutMs: z.number().int().positive().default(30_000),
    temperature: z.number().min(0).max(2).default(0),
  })
  .strict();

/** `quality.evaluators.nli`: a user-supplied ONNX NLI cross-encoder (see docs/quality.md for exporting one). */
export const nliConfigSchema = z
  .object({
    /** Path of the .onnx file. */
    model: z.string().min(1),
    /** Its tokenizer.json (default: tokenizer.json beside the model). */
    tokenizer: z.string().min(1).optional(),
    /** Which logit means entailment for a 3-label model (default: from config.json's id2label beside the model). */
    entailmentIndex: z.number().int().min(0).max(2).optional(),
    maxLength: z.number().int().min(16).max(4096).default(512),
    batchSize: z.number().int().min(1).max(256).default(8),
    /** Longest one evaluation may take; past it the verdict is `unknown`. */
    budgetMs: z.number().int().positive().default(2000),
    /** Score (1 − best entailment of the weakest sentence) at or above which the verdict is `fail`. */
    threshold: rate.default(0.5),
    maxChunks: z.number().int().min(1).max(64).default(8),
  })
  .strict();

export const qualityConfigSchema = z
  .object({
    /** Detect refusals (phrase classifier) on every response. */
    refusals: z.boolean().default(true),
    /** Folder of .txt / .md / .jsonl documents the grounding and attribution checks also search. */
    knowledgeBase: z.string().min(1).optional(),
    /** Share of responses each evaluator runs on (deterministic by request id). The judge costs money: keep it low. */
    sampling: z
      .object({
        grounding: rate.default(1),
        consistency: rate.default(1),
        attribution: rate.default(1),
        judge: rate.default(0),
        /** Share of consistency checks that also fetch extra samples from the upstream (costed as llmscope-eval). */
        consistencySamples: rate.default(0),
        /** The NLI model, when `evaluators.nli` is configured (it costs CPU: lower it for heavy traffic). */
        nli: rate.default(1),
      })
      .strict()
      .prefault({}),
    /** Extra samples per checked response when consistencySamples picks it. */
    consistencySampleCount: z.number().int().min(1).max(5).default(2),
    /**
     * Longest wait for each extra sample (for its answer's headers, then between its pieces), whatever the provider's
     * own `timeout` (600 s by default): a slow upstream holds a place on the queue the judge shares for this long.
     */
    consistencyTimeoutMs: z.number().int().positive().default(30_000),
    /**
     * Grounding score at or above which a response is flagged. The score is the learned scorer's calibrated
     * probability that the answer is not supported, so 0.5 means the same on every labelled set.
     */
    groundingThreshold: rate.default(0.5),
    /**
     * Without a knowledge base, a prompt with fewer distinct content words than this carries no sources (a bare
     * question, "write a poem"): grounding and attribution say `unknown` rather than flag every claim.
     */
    minContextWords: z.number().int().min(0).default(20),
    judge: judgeConfigSchema.optional(),
    /** Model-backed evaluators; each is off until configured. */
    evaluators: z.object({ nli: nliConfigSchema.optional() }).strict().prefault({}),
    /** Share of all calls sent to human review (deterministic by request id); thumbs-down and flags always go. */
    reviewRate: rate.default(0.02),
    /** Evaluations running at once; beyond `maxPending` waiting, new ones are dropped and counted. */
    concurrency: z.number().int().min(1).max(64).default(4),
    maxPending: z.number().int().min(1).default(1000),
    /** Longest response text evaluated (characters); longer ones are cut. */
    maxChars: z.number().int().positive().default(50_000),
    /**
     * Longest prompt text (the context the answer is checked against) evaluated, in characters; longer ones are cut
     * to their first maxContextChars. Default: four times maxChars. With maxChars, it bounds each evaluator's work
     * per call (docs/quality.md, "Work per call"); a cut is counted in llmscope_quality_truncated_total{part}.
     */
    maxContextChars: z.number().int().positive().optional(),
  })
  .strict();

export type QualityConfig = z.infer<typeof qualityConfigSchema>;
export type JudgeConfig = z.infer<typeof judgeConfigSchema>;
export type NliConfig = z.infer<typeof nliConfigSchema>;
