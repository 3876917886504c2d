// Deterministic sampling by request id: the same call is always in or out of a sample (replicas agree, reruns agree),
// and each sampler (review, grounding, judge, ...) draws independently through its own salt.
import { unitHash } from './text.js';

/** True when `requestId` falls in the `rate` share (0..1) of ids for this salt. */
export function sampled(requestId: string, rate: number, salt: string): boolean {
  if (rate <= 0) return false;
  if (rate >= 1) return true;
  return unitHash(requestId, salt) < rate;
}
