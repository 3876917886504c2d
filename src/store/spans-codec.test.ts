import { describe, expect, it } from 'vitest';
import type { CallInternals, LlmCall, SpanRecord } from '../calls/index.js';
import { spansOf } from '../telemetry/spans.js';
import { CALL_COLUMNS, type CallRow, callOfRow, callRowValues, POSTGRES_ROW, SQLITE_ROW } from './call-row.js';
import { decodeSpans, encodeSpans } from './spans-codec.js';
import { GATEWAY_CALL_KINDS, makeCall, withGatewayMarks } from './store.contract.js';

const span = (over: Partial<SpanRecord> = {}): SpanRecord => ({
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  parentSpanId: null,
  name: 'chat gpt-4o-mini',
  kind: 'server',
  startTime: 1_795_874_619_409.0176,
  endTime: 1_795_874_619_410.2534,
  status: 'ok',
  attributes: { 'gen_ai.request.model': 'gpt-4o-mini', 'gen_ai.request.stream': true, 'server.port': 8080 },
  events: [
    { name: 'gen_ai.first_token', time: 1_795_874_619_409.5, attributes: { 'llmscope.ttft_ms': 0.48 } },
    { name: 'llmscope.client_cancelled', time: 1_795_874_619_410.25 },
  ],
  ...over,
});

describe('spans column codec', () => {
  it('round-trips a call’s spans exactly, in fewer bytes', () => {
    const spans = [
      span(),
      span({
        spanId: 'b7ad6b7169203301',
        parentSpanId: 'b7ad6b7169203331',
        kind: 'internal',
        status: 'unset',
        events: [],
      }),
      span({
        spanId: '00f067aa0ba902b7',
        parentSpanId: 'b7ad6b7169203331',
        kind: 'client',
        status: 'error',
        attributes: {},
      }),
    ];
    const text = encodeSpans(spans);
    expect(decodeSpans(text)).toStrictEqual(spans);
    expect(text.length).toBeLessThan(JSON.stringify(spans).length * 0.75);
  });

  it('keeps spans of several traces, and no spans, as plain JSON', () => {
    const mixed = [span(), span({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' })];
    expect(encodeSpans(mixed)).toBe(JSON.stringify(mixed));
    expect(decodeSpans(encodeSpans(mixed))).toStrictEqual(mixed);
    expect(encodeSpans([])).toBe('[]');
    expect(encodeSpans(undefined)).toBe('[]');
    expect(decodeSpans('[]')).toEqual([]);
  });

  it('writes attribute names it knows as numbers, in their order, and reads rows that kept the attributes object', () => {
    const attributes = {
      'gen_ai.request.model': 'gpt-4o-mini',
      'app.custom': 'x',
      'gen_ai.usage.input_tokens': 200,
      '7': 'integer-like names come first in any object',
      'user.id': 'user-1',
      nothing: undefined as unknown as string,
      notANumber: Number.NaN,
    };
    const spans = [span({ attributes, events: [] })];
    const text = encodeSpans(spans);
    expect(text).toContain(
      '["7","integer-like names come first in any object",3,"gpt-4o-mini","app.custom","x",14,200,36,',
    );
    expect(text).not.toContain('gen_ai.');
    // what the object form gave back (JSON: undefined left out, NaN as null)
    const viaJson = JSON.parse(JSON.stringify(spans)) as SpanRecord[];
    expect(decodeSpans(text)).toStrictEqual(viaJson);
    expect(Object.keys((decodeSpans(text)[0] as SpanRecord).attributes)).toEqual(
      Object.keys(viaJson[0]?.attributes ?? {}),
    );
    // a row of the compact form with its attributes as an object (before the pairs)
    const before = JSON.stringify([
      0,
      span().traceId,
      ['b7ad6b7169203331', null, 'x', 'server', 1, 2, 'ok', { 'user.id': 'u', n: 1 }, []],
    ]);
    expect(decodeSpans(before)[0]?.attributes).toStrictEqual({ 'user.id': 'u', n: 1 });
    // an attribute named __proto__ would not come back as one by assignment: that span keeps the object
    const proto = JSON.parse('{"__proto__":"p","a":1}') as SpanRecord['attributes'];
    const odd = encodeSpans([span({ attributes: proto })]);
    expect(Object.keys((decodeSpans(odd)[0] as SpanRecord).attributes)).toEqual(['__proto__', 'a']);
  });

  it('reads rows written before the compact form', () => {
    const old = [span()];
    expect(decodeSpans(JSON.stringify(old))).toStrictEqual(old);
  });
});

/** A gateway call as the gateway records it: internals from its timing marks, spans built by telemetry's spansOf. */
function gatewayCall(i: number, over: Partial<LlmCall> = {}, marks: Partial<CallInternals> = {}) {
  const c = withGatewayMarks(i, over, marks);
  c.spans = spansOf(c);
  delete c.internal;
  return c;
}

/** The row SQLite stores for the call, as its driver returns it (SELECT *). */
function rowOf(c: LlmCall, d = SQLITE_ROW): CallRow {
  const v = callRowValues(c, d);
  return Object.fromEntries(CALL_COLUMNS.map(([col], k) => [col, v[k]])) as unknown as CallRow;
}

/** The spans column as the compact form (the one before the gateway form) wrote it. */
const compact = (c: LlmCall) => encodeSpans(c.spans);

describe('the gateway spans form', () => {
  const cases: [string, LlmCall][] = GATEWAY_CALL_KINDS.map(([name, i, over, marks]) => [
    name,
    gatewayCall(i, over, marks),
  ]);

  it.each(cases)('%s: stored in the gateway form, read back exactly as the compact form reads', (_, c) => {
    const row = rowOf(c);
    expect(row.spans.startsWith('[1,')).toBe(true);
    const read = callOfRow(row);
    expect(read.spans).toStrictEqual(c.spans);
    // the same call stored before this form: every field the same, spans included
    expect(read).toStrictEqual(callOfRow({ ...row, spans: compact(c) }));
    expect(row.spans.length).toBeLessThan(compact(c).length / 2);
  });

  it('keeps the compact form when the row does not rebuild the spans', () => {
    const changed = (f: (c: LlmCall) => void) => {
      const c = gatewayCall(2);
      f(c);
      return c;
    };
    const others: LlmCall[] = [
      // a column changed after the spans were built (an enricher), or an attribute after
      changed((c) => {
        c.user = 'someone-else';
      }),
      changed((c) => {
        (c.spans[0] as SpanRecord).attributes['gen_ai.request.seed'] = 'not a number' as unknown as number;
      }),
      changed((c) => {
        (c.spans[2] as SpanRecord).attributes.extra = 1;
      }),
      changed((c) => {
        (c.spans[1] as SpanRecord).startTime += 1;
      }),
      changed((c) => {
        c.spans.push({ ...(c.spans[1] as SpanRecord), spanId: '1111111111111111' });
      }),
      changed((c) => {
        (c.spans[0] as SpanRecord).events[0] = { name: 'gen_ai.first_token', time: 1, attributes: undefined };
      }),
      // a token count that is not a number stores as unknown, where the span said NaN
      changed((c) => {
        c.inputTokens = Number.NaN;
        (c.spans[0] as SpanRecord).attributes['gen_ai.usage.input_tokens'] = Number.NaN;
      }),
      // SQLite keeps UTF-8: a lone surrogate in a column reads back as U+FFFD, the spans' JSON kept it
      changed((c) => {
        c.model = 'gpt\ud800';
      }),
      // OTLP calls' spans: made by the app, not rebuilt from the row
      makeCall(3),
    ];
    for (const c of others) {
      const row = rowOf(c);
      expect(row.spans.slice(0, 3), String(others.indexOf(c))).toBe('[0,');
      expect(callOfRow(row).spans).toStrictEqual(decodeSpans(compact(c)));
    }
  });

  it('is SQLite only: PostgreSQL keeps the plain JSON array (older replicas read it during a rolling upgrade)', () => {
    const c = gatewayCall(2);
    const row = rowOf(c, POSTGRES_ROW);
    expect(row.spans).toBe(JSON.stringify(c.spans));
    expect(callOfRow(row).spans).toStrictEqual(c.spans);
  });

  it('needs the row to be read', () => {
    expect(() => decodeSpans(rowOf(gatewayCall(1)).spans)).toThrow(/needs the call/);
  });
});
