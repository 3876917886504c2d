// A large OTLP export (thousands of spans) is parsed, decoded and recorded with the event loop handed back between
// turns, so other clients are served meanwhile; the same spans and calls as decoding it in one go.
import type { Server } from 'node:http';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { Turns } from '../http/json-stream.js';
import { serveHandler, ticksDuring, turnCounter } from '../http/testing.js';
import { decodeJson, decodeJsonInTurns } from './json.js';
import { decodeProtobuf, decodeProtobufInTurns } from './proto.js';
import { OtlpReceiver } from './receiver.js';
import { encodeExportRequest } from './testing.js';

const N = 3000;
const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const str = (key: string, v: string) => ({ key, value: { stringValue: v } });
const int = (key: string, v: number) => ({ key, value: { intValue: v } });

/** An export of N LLM spans, each its own trace, in the protobufjs object form (`ids` as hex or as bytes). */
function exportOf(bytes: boolean): Record<string, unknown> {
  const id = (n: number, len: number) => (bytes ? Buffer.from(hex(n, len), 'hex') : hex(n, len));
  const spans = Array.from({ length: N }, (_, i) => ({
    traceId: id(0xabc000 + i, 32),
    spanId: id(i + 1, 16),
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixNano: `${1_700_000_000_000 + i}000000`,
    endTimeUnixNano: `${1_700_000_000_500 + i}000000`,
    attributes: [
      str('gen_ai.operation.name', 'chat'),
      str('gen_ai.provider.name', 'openai'),
      str('gen_ai.request.model', 'gpt-4o-mini'),
      int('gen_ai.usage.input_tokens', 100 + i),
      int('gen_ai.usage.output_tokens', 20),
      str('user.id', `user-${i % 50}`),
    ],
    status: { code: 1 },
  }));
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'app')] },
        scopeSpans: [{ scope: { name: 'instr', version: '1' }, spans }],
      },
    ],
  };
}

describe('decoding a large export in turns', () => {
  it('protobuf: the spans decodeProtobuf gives, with other work run between turns; the same error for a cut body', async () => {
    const body = encodeExportRequest(exportOf(true));
    const { value, ticks } = await ticksDuring(() => decodeProtobufInTurns(body, new Turns(0)));
    expect(value).toEqual(decodeProtobuf(body));
    expect(value).toHaveLength(N);
    expect(ticks).toBeGreaterThan(50);
    const cut = body.subarray(0, body.length - 7);
    const sync = (() => {
      try {
        decodeProtobuf(cut);
      } catch (err) {
        return err as Error;
      }
    })();
    await expect(decodeProtobufInTurns(cut, new Turns(0))).rejects.toThrow(sync?.message as string);
  });

  it('JSON: the spans decodeJson gives, with other work run between turns; the same error for a bad span', async () => {
    const body = exportOf(false);
    const { value, ticks } = await ticksDuring(() => decodeJsonInTurns(structuredClone(body), new Turns(0)));
    expect(value).toEqual(decodeJson(structuredClone(body)));
    expect(ticks).toBeGreaterThan(50);
    const bad = structuredClone(body) as { resourceSpans: { scopeSpans: { spans: { kind: unknown }[] }[] }[] };
    (bad.resourceSpans[0]?.scopeSpans[0]?.spans[2000] as { kind: unknown }).kind = 'sideways';
    const message = (() => {
      try {
        decodeJson(structuredClone(bad));
      } catch (err) {
        return (err as Error).message;
      }
    })();
    expect(message).toMatch(/spans\[2000\]\.kind/);
    await expect(decodeJsonInTurns(bad, new Turns(0))).rejects.toThrow(message as string);
  });
});

describe('POST /v1/traces with a large export', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());
  /** POST /v1/traces on a server of its own: a receiver recording into `record`, no id stored before. */
  const tracesUrl = async (record: (c: LlmCall) => void) => {
    const r = new OtlpReceiver({
      recorder: { record },
      store: { knownIds: async () => new Set() },
      registry: new Registry(),
      bodyLimit: 16 << 20,
    });
    const s = await serveHandler((req, res) => r.handle(req, res));
    server = s.server;
    return s.url('/v1/traces');
  };

  for (const format of ['json', 'protobuf'] as const)
    it(`${format}: other work runs before the 256th of its ${N} calls is recorded; each call recorded once`, async () => {
      const recorded: LlmCall[] = [];
      const turns = turnCounter();
      const url = await tracesUrl((c) => {
        recorded.push(c);
        turns.recorded();
      });
      const body =
        format === 'json' ? JSON.stringify(exportOf(false)) : Buffer.from(encodeExportRequest(exportOf(true)));
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': format === 'json' ? 'application/json' : 'application/x-protobuf' },
        body,
      });
      turns.stop();
      expect(res.status).toBe(200);
      expect(recorded).toHaveLength(N);
      expect(new Set(recorded.map((c) => c.requestId)).size).toBe(N);
      expect(recorded.reduce((n, c) => n + (c.inputTokens ?? 0), 0)).toBe(N * 100 + (N * (N - 1)) / 2);
      // before, every call of the export was recorded in one turn of the event loop
      expect(turns.otherWorkRanAt).not.toBeNull();
      expect(turns.otherWorkRanAt).toBeLessThanOrEqual(256);
    });

  it('calls with much prompt text are recorded fewer a turn: at most 128 Ki characters the privacy enricher scans', async () => {
    const turns = turnCounter();
    const url = await tracesUrl(() => turns.recorded());
    // 600 spans, each with a prompt of ~8,000 characters (gen_ai.input.messages)
    const messages = JSON.stringify([{ role: 'user', parts: [{ type: 'text', content: 'word '.repeat(1600) }] }]);
    const body = exportOf(false) as { resourceSpans: { scopeSpans: { spans: { attributes: unknown[] }[] }[] }[] };
    const spans = body.resourceSpans[0]?.scopeSpans[0]?.spans.slice(0, 600) ?? [];
    for (const s of spans) s.attributes.push(str('gen_ai.input.messages', messages));
    (body.resourceSpans[0]?.scopeSpans[0] as { spans: unknown[] }).spans = spans;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    turns.stop();
    expect(res.status).toBe(200);
    expect(turns.count).toBe(600);
    // before, 255 of them were recorded in a turn (and redacted in the next, all at once): ~2 M characters
    expect(Math.max(...turns.perTurn)).toBeLessThanOrEqual(Math.ceil((128 * 1024) / 8000) + 1);
  });
});
