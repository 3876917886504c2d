// Request context: every log line written while serving a gateway call picks up its request_id, trace_id, span_id,
// provider and model (the logger's mixin reads `currentRequest()`), without anyone passing them by hand.
//
// It is not carried by AsyncLocalStorage: on Node 20 that turns on async hooks for every promise and callback of the
// process (measured at 3–12% of a gateway call's CPU). The context is current while the call's own code runs:
// `requestContext.run` for its synchronous start, and the gateway resumes it after each of its awaits and leaves it
// before each (src/gateway/proxy.ts), so code that runs between them — the call's, and the hooks and recorder it
// calls — sees it, and nothing else does. A hook that awaits something of its own and logs after that await must name
// the call itself (`admission.requestId`); none does today.
export interface RequestContext {
  request_id: string;
  trace_id?: string;
  span_id?: string;
  provider?: string;
  model?: string;
}

let current: RequestContext | undefined;

export const requestContext = {
  /** Runs `fn` with `ctx` current; the one current before is again when `fn` returns or throws. */
  run<T>(ctx: RequestContext, fn: () => T): T {
    const before = current;
    current = ctx;
    try {
      return fn();
    } finally {
      current = before;
    }
  },
  /** The current request's context, or undefined outside one. */
  getStore(): RequestContext | undefined {
    return current;
  },
};

/** Makes `ctx` current again after an await in a call's code (until `leaveRequest`). */
export function resumeRequest(ctx: RequestContext): void {
  current = ctx;
}

/** Leaves the call's context before an await (or when its code ends): what runs next is not the call's. */
export function leaveRequest(): void {
  current = undefined;
}

/** The current request's context, or undefined outside a request. Mutating it updates later log lines. */
export function currentRequest(): RequestContext | undefined {
  return current;
}
