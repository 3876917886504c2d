import { describe, expect, it } from 'vitest';
import type { SpanRecord } from '../calls/index.js';
import { decodeSpans, encodeSpans } from './spans-codec.js';

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

  it('reads rows written before the compact form', () => {
    const old = [span()];
    expect(decodeSpans(JSON.stringify(old))).toStrictEqual(old);
  });
});
