// The gateway's clock for call timings: epoch milliseconds with sub-millisecond precision (monotonic within a process).
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** Epoch milliseconds with sub-millisecond precision. */
export const now = (): number => origin + performance.now();
