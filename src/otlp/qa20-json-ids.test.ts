// OTLP/JSON ids in base64. OTLP's JSON encoding writes trace and span ids in hex, but a sender that runs protobuf's
// standard JSON mapping over OTLP's messages (Go's protojson, Python's google.protobuf.json_format: hand-rolled
// exporters and relays) writes them in base64, and every span of its exports was rejected ("trace_id is not 16
// non-zero bytes"). An id that is base64 of exactly the id's bytes is now taken as those bytes; anything else is
// rejected as before. The same for /v1/logs' JSON records.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeJson } from './json.js';
import { decodeLogsJson } from './logs-decode.js';
import { OtlpReceiver } from './receiver.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALL = '00f067aa0ba902b7';
const PARENT = 'b7ad6b7169203331';
const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const str = (key: string, v: string) => ({ key, value: { stringValue: v } });

function exportOf(traceId: string, spanId: string, parentSpanId: string, otherSpanId: string) {
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'relay')] },
        scopeSpans: [
          {
            scope: { name: 'handmade' },
            spans: [
              {
                traceId,
                spanId,
                parentSpanId,
                name: 'chat gpt-4o-mini',
                kind: 'SPAN_KIND_CLIENT',
                startTimeUnixNano: '1760000000000000000',
                endTimeUnixNano: '1760000000800000000',
                attributes: [
                  str('gen_ai.operation.name', 'chat'),
                  str('gen_ai.provider.name', 'openai'),
                  str('gen_ai.request.model', 'gpt-4o-mini'),
                  { key: 'gen_ai.usage.input_tokens', value: { intValue: '11' } },
                  { key: 'gen_ai.usage.output_tokens', value: { intValue: '3' } },
                ],
              },
              {
                traceId,
                spanId: otherSpanId,
                name: 'invoke_agent helper',
                kind: 'SPAN_KIND_INTERNAL',
                startTimeUnixNano: '1759999999900000000',
                endTimeUnixNano: '1760000000900000000',
                attributes: [str('gen_ai.operation.name', 'invoke_agent')],
              },
            ],
          },
        ],
      },
    ],
  };
}

async function accept(body: unknown) {
  const calls: LlmCall[] = [];
  const r = new OtlpReceiver({
    recorder: { record: (c: LlmCall) => void calls.push(c) },
    store: { knownIds: async () => new Set() },
    registry: new Registry(),
    bodyLimit: 16 << 20,
  });
  const outcome = await r.accept(decodeJson(body));
  return { calls, ...outcome };
}

describe('OTLP/JSON ids in base64 (protobuf JSON mapping)', () => {
  it('a call with base64 ids is taken with the same hex ids as the hex export, its trace span with it', async () => {
    const hex = await accept(exportOf(TRACE, CALL, PARENT, PARENT));
    const base64 = await accept(exportOf(b64(TRACE), b64(CALL), b64(PARENT), b64(PARENT)));
    expect(b64(TRACE)).toBe('S/kvNXezTaajzpKdDg5HNg==');
    expect(base64.counts).toEqual(hex.counts);
    expect(base64.counts.rejected).toBe(0);
    expect(base64.calls[0]).toMatchObject({ traceId: TRACE, inputTokens: 11, outputTokens: 3 });
    expect(base64.calls[0]?.requestId).toBe(hex.calls[0]?.requestId);
    expect(base64.calls[0]?.spans.map((s) => [s.spanId, s.parentSpanId])).toEqual([
      [CALL, PARENT],
      [PARENT, null],
    ]);
  });

  it('URL-safe base64 without padding too; an id that is neither hex nor base64 of the right length is rejected as before', async () => {
    const urlSafe = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
    const ok = await accept(exportOf(urlSafe('fbf92f3577b34da6a3ce929d0e0e47ff'), urlSafe(CALL), '', urlSafe(PARENT)));
    expect(ok.calls[0]?.traceId).toBe('fbf92f3577b34da6a3ce929d0e0e47ff');
    const bad = await accept(exportOf('not-an-id', CALL, '', PARENT));
    expect(bad.counts.rejected).toBe(2);
    expect(bad.rejectedMessage).toContain('trace_id is not 16 non-zero bytes');
    // 12 base64 characters are 9 bytes, not a span id's 8
    const short = await accept(exportOf(TRACE, 'AAECAwQFBgcI', '', PARENT));
    expect(short.counts.rejected).toBe(1);
  });

  it('/v1/logs JSON records: base64 trace and span ids read as hex', () => {
    const records = decodeLogsJson({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1760000000000000000',
                  traceId: b64(TRACE),
                  spanId: b64(CALL),
                  body: { stringValue: 'x' },
                },
                { timeUnixNano: '1760000000000000000', traceId: TRACE, spanId: CALL, body: { stringValue: 'y' } },
              ],
            },
          ],
        },
      ],
    });
    expect(records.map((r) => [r.traceId, r.spanId])).toEqual([
      [TRACE, CALL],
      [TRACE, CALL],
    ]);
  });
});
