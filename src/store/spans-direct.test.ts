// A gateway call's spans are left to be built where read (telemetry/spans.ts spansFor), and the SQLite row writes
// them in the gateway form straight from the call's marks (spans-codec.ts gatewayTupleOfCall). The column must be
// exactly what it was when the spans enricher built them and the codec checked its rebuild: compared here over the
// gateway's kinds of call and over calls whose fields and marks the direct form must refuse (then built and checked).
import { describe, expect, it } from 'vitest';
import type { CallInternals, LlmCall } from '../calls/index.js';
import { spanEnricher, spansFor, spansOf, withSpans } from '../telemetry/spans.js';
import { CALL_COLUMNS, type CallRow, callOfRow, callRowValues, POSTGRES_ROW, SQLITE_ROW } from './call-row.js';
import { gatewayTupleOfCall } from './spans-codec.js';
import { GATEWAY_CALL_KINDS, makeCall, withGatewayMarks } from './store.contract.js';

const SPANS = CALL_COLUMNS.findIndex(([c]) => c === 'spans');

/** A gateway call as the recorder has it after its enrichers: marks kept, spans left to be built. */
function deferred(i: number, over: Partial<LlmCall> = {}, marks: Partial<CallInternals> = {}): LlmCall {
  const c = withGatewayMarks(i, over, marks);
  spanEnricher.enrich(c);
  return c;
}

/** The same call as before this change: spans built by the enricher, no mark. */
function built(c: LlmCall): LlmCall {
  const internal = { ...(c.internal as CallInternals) };
  delete internal.spansDeferred;
  const b = { ...c, internal };
  try {
    b.spans = spansOf(b);
  } catch {
    // the enricher failed (counted as its error): no spans
  }
  return b;
}

const column = (c: LlmCall, d = SQLITE_ROW) => callRowValues(c, d)[SPANS];

/** Whether the direct form was taken (the column then came without building the spans). */
function direct(c: LlmCall): boolean {
  const v = callRowValues(c, SQLITE_ROW);
  const row = Object.fromEntries(CALL_COLUMNS.map(([col], k) => [col, v[k]])) as unknown as CallRow;
  // the row's columns as they read back (what the codec compares the call with)
  return gatewayTupleOfCall(c, callOfRow({ ...row, spans: '[]' })) !== null;
}

const kinds: [string, LlmCall][] = [
  ...GATEWAY_CALL_KINDS.map(([name, i, over, marks]): [string, LlmCall] => [name, deferred(i, over, marks)]),
  ['Anthropic messages', deferred(12, { endpoint: 'messages' as LlmCall['endpoint'] })],
];

describe('gateway spans written straight from the call', () => {
  it.each(kinds)('%s: the same column as when the spans were built, without building them', (_, c) => {
    expect(c.spans).toEqual([]);
    expect(c.internal?.spansDeferred).toBe(true);
    expect(direct(c)).toBe(true);
    const col = column(c) as string;
    expect(col.startsWith('[1,')).toBe(true);
    expect(col).toBe(column(built(c)));
    // PostgreSQL's plain array and every other reader get the spans built
    expect(column(c, POSTGRES_ROW)).toBe(column(built(c), POSTGRES_ROW));
    expect(spansFor(c)).toStrictEqual(built(c).spans);
    expect(c.spans).toEqual([]);
  });

  it('refuses what it cannot give back exactly, and the built spans are checked as before', () => {
    const odd: [string, LlmCall][] = [
      ['NaN tokens', deferred(2, { inputTokens: Number.NaN })],
      ['undefined tokens', deferred(2, { inputTokens: undefined as unknown as null })],
      ['NaN ttft', deferred(2, { ttftMs: Number.NaN })],
      ['lone surrogate in the model', deferred(2, { model: 'gpt\ud800' })],
      ['lone surrogate in the user', deferred(2, { user: 'u\udc00' })],
      ['stream not a boolean', deferred(2, { stream: 1 as unknown as boolean })],
      ['cached tokens undefined', deferred(2, { cachedInputTokens: undefined as unknown as null })],
      ['an undefined mark', deferred(2, {}, { routedAt: undefined as unknown as null })],
      ['an undefined headers mark', deferred(2, {}, { upstreamHeadersAt: undefined as unknown as null })],
      ['an undefined first token', deferred(2, {}, { firstContentAt: undefined as unknown as null })],
      ['a NaN mark', deferred(2, {}, { upstreamStartAt: Number.NaN })],
      ['a string mark', deferred(2, {}, { routedAt: '5' as unknown as number })],
      ['a parameter named model', deferred(2, {}, { params: { model: 1 } })],
      ['a parameter named stream', deferred(2, {}, { params: { stream: 1 } })],
      ['a NaN parameter', deferred(2, {}, { params: { seed: Number.NaN } })],
      ['an infinite parameter', deferred(2, {}, { params: { seed: Number.POSITIVE_INFINITY } })],
      ['a text parameter', deferred(2, {}, { params: { seed: 'x' as unknown as number } })],
      ['__proto__ as a parameter', deferred(2, {}, { params: JSON.parse('{"__proto__": 1, "seed": 2}') })],
      ['a numeric response model', deferred(2, {}, { responseModel: 5 as unknown as string })],
      ['a text server port', deferred(2, {}, { serverPort: '80' as unknown as number })],
      ['an undefined parent', deferred(2, {}, { parentSpanId: undefined as unknown as null })],
      ['a numeric span id', deferred(2, {}, { spanId: 7 as unknown as string })],
      // times the form's ms-after-start cannot give back exactly
      ['a mark far before the start', deferred(2, { startedAt: 0.1 }, { arrivalAt: 1e-17 })],
      ['marks near zero', deferred(2, { startedAt: 1e-9 }, { routedAt: 0.30000000000000004, arrivalAt: 0.1 })],
    ];
    let refused = 0;
    for (const [name, c] of odd) {
      if (!direct(c)) refused++;
      expect(column(c), name).toBe(column(built(c)));
      expect(column(c, POSTGRES_ROW), name).toBe(column(built(c), POSTGRES_ROW));
    }
    expect(refused).toBeGreaterThanOrEqual(odd.length - 2);
  });

  it('keeps what the old path kept for odd but exact values (empty texts, port 0, integer-like parameters)', () => {
    const fine: LlmCall[] = [
      deferred(2, {}, { responseModel: '', responseId: '', serverAddress: '', serverPort: 0 }),
      deferred(2, {}, { params: { 1: 2, seed: 3 } as Record<string, number> }),
      deferred(2, { cacheWriteInputTokens: undefined }),
      deferred(2, { cacheWriteInputTokens: 12, reasoningTokens: 4, cachedInputTokens: 3 }),
      deferred(2, { user: '', team: null, feature: 'f' }),
      deferred(2, {}, { upstreamEndAt: null }),
      deferred(2, { status: 'cancelled' }, { upstreamHeadersAt: null }),
    ];
    for (const c of fine) {
      expect(direct(c)).toBe(true);
      expect(column(c)).toBe(column(built(c)));
    }
  });

  it('over many varied calls, the column is always what it was', () => {
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
    let directs = 0;
    for (let i = 0; i < 2000; i++) {
      const stream = rnd() < 0.5;
      const c = deferred(
        i,
        {
          stream,
          status: pick(['ok', 'ok', 'cancelled', 'upstream_error', 'client_error'] as const),
          inputTokens: pick([null, 0, 17, 1234]),
          outputTokens: pick([null, 0, 5, 999]),
          cachedInputTokens: pick([null, 0, 4]),
          ttftMs: pick([null, 0, 12.5, 0.1 + 0.2]),
          tpotMs: pick([null, 3.25]),
          user: pick([null, '', 'alice']),
          endpoint: pick(['chat.completions', 'embeddings', 'responses', 'messages'] as LlmCall['endpoint'][]),
        },
        {
          routedAt: pick([null, 0.01]),
          upstreamStartAt: pick([null, 0.05]),
          upstreamHeadersAt: pick([null, 17.6]),
          upstreamEndAt: pick([null, 200.3]),
          firstContentAt: pick([null, 18.25]),
          params: pick<Record<string, number>>([{}, { max_tokens: 5 }, { seed: 1, top_p: 0.9 }]),
        },
      );
      // marks as offsets: place them at the call's start
      const m = c.internal as CallInternals;
      for (const k of ['routedAt', 'upstreamStartAt', 'upstreamHeadersAt', 'upstreamEndAt', 'firstContentAt'] as const)
        if (m[k] !== null) m[k] = c.startedAt + (m[k] as number) * rnd();
      if (direct(c)) directs++;
      expect(column(c), `call ${i}`).toBe(column(built(c)));
    }
    expect(directs).toBe(2000);
  });

  it('sinks given to the app get the spans built, on copies; the call keeps none', async () => {
    const c = deferred(2);
    const seen: LlmCall[] = [];
    await withSpans({ name: 'test', write: (b) => void seen.push(...b) }).write([c, makeCall(3)]);
    expect(seen[0]?.spans).toStrictEqual(built(c).spans);
    expect(seen[0]).not.toBe(c);
    expect(c.spans).toEqual([]);
    expect(seen[1]?.spans).toHaveLength(1);
  });
});
