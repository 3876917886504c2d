// The spans of an OTLP call that a team-scoped principal sees (docs/security.md). Besides its own span, an OTLP call
// carries the other spans of its trace that came in its export or waited for it, and its detail shows those kept
// beside it when it is its trace's anchor (src/otlp/storage): the agent steps, tools and wrappers around every call
// of the trace. A distributed trace can cross teams (red's service calling blue's, one trace id), so those spans can
// be another team's (its agent span naming its user, its attributes). A scoped principal sees them only when every
// call recorded of the trace is in its scope; otherwise only the call's own span. A span naming a team or feature
// (`llmscope.team`, `llmscope.feature`) outside the scope is left out in any case.
import type { LlmCall } from '../calls/index.js';
import { type CallScope, callInScope, type Store } from '../store/index.js';

/** Calls of a trace read at most to tell whether all are in scope; past it the trace counts as crossing scopes. */
const MAX_TRACE_SCAN = 20_000;
const PAGE = 500;

const isOtlp = (c: LlmCall): boolean => c.requestId.startsWith('otlp-') && c.traceId !== null;

/** Whether the trace has a recorded call outside `scope` (read from the whole store; true when too many to read). */
async function crossesScope(store: Store, scope: CallScope, traceId: string): Promise<boolean> {
  let cursor: string | undefined;
  let scanned = 0;
  for (;;) {
    const page = await store.listCalls({ text: traceId, limit: PAGE, cursor });
    for (const c of page.items)
      if (c.traceId === traceId && !callInScope(scope, c.team ?? null, c.feature ?? null)) return true;
    scanned += page.items.length;
    if (!page.nextCursor) return false;
    if (scanned >= MAX_TRACE_SCAN) return true;
    cursor = page.nextCursor;
  }
}

function namesOutside(scope: CallScope, span: { attributes?: unknown }): boolean {
  const a = (span.attributes ?? {}) as Record<string, unknown>;
  const team = a['llmscope.team'];
  const feature = a['llmscope.feature'];
  if (scope.teams && typeof team === 'string' && !scope.teams.includes(team)) return true;
  if (scope.features && typeof feature === 'string' && !scope.features.includes(feature)) return true;
  return false;
}

/**
 * Narrows the wire `spans` of each OTLP call's detail (`bodies[i]` is `calls[i]`'s) for a scoped principal, in place:
 * the call's own span always; the trace's other spans only when the trace has no call outside the scope, and never a
 * span naming a team or feature outside it. Unscoped principals and gateway calls (their spans are llmscope's own)
 * are left as they are.
 */
export async function narrowTraceSpans(
  store: Store,
  scope: CallScope | null | undefined,
  calls: readonly LlmCall[],
  bodies: readonly Record<string, unknown>[],
): Promise<void> {
  if (!scope || (!scope.teams && !scope.features)) return;
  const crossing = new Map<string, Promise<boolean>>();
  await Promise.all(
    calls.map(async (c, i) => {
      const body = bodies[i];
      if (!body || !isOtlp(c) || !Array.isArray(body['spans'])) return;
      const traceId = c.traceId as string;
      let crosses = crossing.get(traceId);
      if (crosses === undefined) {
        crosses = crossesScope(store, scope, traceId);
        crossing.set(traceId, crosses);
      }
      const own = c.spans[0]?.spanId;
      const all = await crosses;
      body['spans'] = (body['spans'] as { span_id?: unknown; attributes?: unknown }[]).filter(
        (s) => s.span_id === own || (!all && !namesOutside(scope, s)),
      );
    }),
  );
}
