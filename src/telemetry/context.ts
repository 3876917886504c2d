// Request context carried through async work by AsyncLocalStorage: every log line written while serving a
// request picks up its request_id, trace_id, span_id, provider and model without anyone passing them by hand.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestContext {
  request_id: string;
  trace_id?: string;
  span_id?: string;
  provider?: string;
  model?: string;
}

export const requestContext = new AsyncLocalStorage<RequestContext>();

/** The current request's context, or undefined outside a request. Mutating it updates later log lines. */
export function currentRequest(): RequestContext | undefined {
  return requestContext.getStore();
}
