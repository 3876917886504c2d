// How a WebSocket session (the Realtime relay, the Responses API's WebSocket mode) records a response it metered: as an
// HTTP call's Flight.finish does (src/gateway/proxy.ts), the call is settled with its admission's hooks, then recorded.
import type { Logger } from 'pino';
import type { LlmCall, Recorder } from '../calls/index.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';

/**
 * Builds the call (`build`), settles it with `a`'s hooks when it was admitted, and records it. A failure is logged
 * as a warning (`event`, its message, then `fields`) and the response goes unrecorded: never thrown into the relay.
 */
export function recordSettled(
  d: { hooks: readonly GatewayHook[]; recorder: Recorder; logger: Logger },
  a: Admission | null,
  build: () => LlmCall,
  failed: { event: string; message: string; fields?: Record<string, unknown> },
): void {
  try {
    const call = build();
    if (a) {
      call.internal!.hooks = a.state;
      for (const h of d.hooks) h.settle?.(a, call);
    }
    d.recorder.record(call);
  } catch (err) {
    d.logger.warn({ event: failed.event, err: (err as Error)?.message, ...failed.fields }, failed.message);
  }
}
