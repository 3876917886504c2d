// The quality module's per-call part: refusal detection and capturing the text of calls sampled for evaluation. Both
// read only the config and the call, so with `serve --workers` they run in each gateway worker (ctx.perCall), and
// the recorder process gets each call flagged, with its sampled text in `internal.hooks`, for the quality sink.
import type { CallPart } from '../app-context.js';
import type { Enricher } from '../calls/index.js';
import { type QualityConfig, qualityConfigSchema } from './config.js';
import { refusalEnricher } from './refusal.js';
import { EVALUATOR_NAMES, type EvaluatorName, textCaptureEnricher } from './service.js';

/**
 * The evaluators a call may be sampled for by the config alone: those with a sampling rate above 0 whose config is
 * there (the judge's, NLI's). The module itself knows more (an NLI model that failed to load is off there); a text
 * captured for an evaluator it does not have is passed over by the quality sink.
 */
export function configuredEvaluators(cfg: QualityConfig): EvaluatorName[] {
  const s = cfg.sampling;
  return EVALUATOR_NAMES.filter(
    (n) => s[n] > 0 && (n !== 'nli' || cfg.evaluators.nli !== undefined) && (n !== 'judge' || cfg.judge !== undefined),
  );
}

/** The enrichers in the order they must run: a refusal is not evaluated, so refusals are flagged first. */
export function qualityEnrichers(cfg: QualityConfig, names: readonly EvaluatorName[]): Enricher[] {
  return [...(cfg.refusals ? [refusalEnricher()] : []), textCaptureEnricher(cfg, names)];
}

/** Built from the config alone, as a gateway worker does; the module passes the evaluators it has instead. */
export const qualityCallPart: CallPart = {
  name: 'quality',
  build: (ctx) => {
    const cfg = qualityConfigSchema.parse((ctx.config as { quality?: unknown }).quality ?? {});
    return qualityEnrichers(cfg, configuredEvaluators(cfg));
  },
};
