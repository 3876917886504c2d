// A span whose end time was left out (a relay or hand-written exporter writing a span that never ended: OTLP/JSON
// without endTimeUnixNano, or 0) was rejected as 'end_time_unix_nano is before start_time_unix_nano', which sends the
// sender looking for clock skew. It is rejected as before, saying the end time is missing.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { decodeJson } from './json.js';
import { OtlpReceiver } from './receiver.js';

describe('a span without an end time', () => {
  it('is rejected as missing its end time; one that ends before it starts as before', async () => {
    const r = new OtlpReceiver({
      recorder: { record: () => {} },
      store: { knownIds: async () => new Set() },
      registry: new Registry(),
      bodyLimit: 16 << 20,
    });
    const span = (spanId: string, end: string | undefined) => ({
      traceId: '5c1a3f2c9d8e7f6a5b4c3d2e1f0a9b80',
      spanId,
      name: 'chat gpt-4o',
      kind: 3,
      startTimeUnixNano: '1760000000000000000',
      ...(end === undefined ? {} : { endTimeUnixNano: end }),
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o' } },
      ],
    });
    const out = await r.accept(
      decodeJson({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  span('4444444444444441', undefined),
                  span('4444444444444442', '0'),
                  span('4444444444444443', '1759999999000000000'),
                ],
              },
            ],
          },
        ],
      }),
    );
    expect(out.counts.rejected).toBe(3);
    expect(out.rejectedMessage).toBe(
      '2 spans: end_time_unix_nano is missing; 1 span: end_time_unix_nano is before start_time_unix_nano',
    );
  });
});
