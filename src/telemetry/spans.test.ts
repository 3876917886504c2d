// Each span of a call has its own id, and each event is recorded once (issue 18: 3 of 600 calls had two spans
// sharing an id; the first token was listed twice).
import { describe, expect, it } from 'vitest';
import type { CallInternals, LlmCall } from '../calls/index.js';
import { seedCalls } from '../seed/generate.js';
import { derivedSpanId, spansOf } from './spans.js';

const END = Date.UTC(2026, 0, 15, 12, 0, 0);

function seeded(n: number): LlmCall[] {
  return [...seedCalls({ calls: n, days: 1, end: END, seed: 4, users: 20 }, n, { spansFrom: 0 })].flat();
}

describe('spans of a call', () => {
  it('have distinct span ids in 5,000 calls, and the first token is one event', () => {
    let streamed = 0;
    for (const c of seeded(5000)) {
      const ids = c.spans.map((s) => s.spanId);
      expect(new Set(ids).size, c.requestId).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{16}$/);
      const firstTokens = c.spans.flatMap((s) => s.events).filter((e) => e.name === 'gen_ai.first_token');
      expect(firstTokens.length).toBeLessThanOrEqual(1);
      if (c.stream && c.ttftMs !== null) {
        expect(firstTokens).toHaveLength(1);
        streamed++;
      }
    }
    expect(streamed).toBeGreaterThan(100);
  });

  it('keeps ids apart when the minted ids end in the bytes children used to take (01, 02)', () => {
    const call = seeded(50).find((c) => c.stream && c.status === 'ok') as LlmCall;
    const t = call.startedAt;
    const internal: CallInternals = {
      arrivalAt: t,
      routedAt: t + 1,
      upstreamStartAt: t + 2,
      upstreamHeadersAt: t + 50,
      firstContentAt: t + 60,
      lastContentAt: t + 200,
      upstreamEndAt: t + 210,
      spanId: 'aaaaaaaaaaaaaa01',
      upstreamSpanId: 'bbbbbbbbbbbbbb02',
      parentSpanId: null,
      params: {},
      serverAddress: null,
      serverPort: null,
      responseModel: null,
      responseId: null,
      promptText: null,
      outputText: null,
    };
    const spans = spansOf({ ...call, internal });
    expect(spans.map((s) => s.name)).toEqual([
      expect.stringContaining(call.model),
      'llmscope.route',
      'llmscope.upstream.wait',
      'llmscope.stream',
    ]);
    expect(new Set(spans.map((s) => s.spanId)).size).toBe(4);
    // children point at the spans that exist
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans.slice(1)) expect(ids.has(s.parentSpanId as string)).toBe(true);
  });

  // The OpenTelemetry GenAI conventions name each endpoint's operation (shared/REFERENCE.md): a Gemini
  // generateContent call is `generate_content`, as Google's own instrumentation and llmscope's OTLP receiver read it;
  // its span was `chat gemini-2.0-flash` (QA33).
  it.each([
    ['chat.completions', 'gpt-4o', 'chat'],
    ['completions', 'gpt-3.5-turbo-instruct', 'text_completion'],
    ['embeddings', 'text-embedding-3-small', 'embeddings'],
    ['messages', 'claude-sonnet-4', 'chat'],
    ['responses', 'gpt-4o', 'chat'],
    ['generate_content', 'gemini-2.0-flash', 'generate_content'],
    ['realtime', 'gpt-realtime', 'chat'],
  ] as const)("names a %s call's operation as the GenAI conventions do", (endpoint, model, op) => {
    const call = seeded(50).find((c) => c.status === 'ok') as LlmCall;
    const t = call.startedAt;
    const internal: CallInternals = {
      arrivalAt: t,
      routedAt: t + 1,
      upstreamStartAt: t + 2,
      upstreamHeadersAt: t + 50,
      firstContentAt: null,
      lastContentAt: null,
      upstreamEndAt: t + 210,
      spanId: 'aaaaaaaaaaaaaa01',
      upstreamSpanId: 'bbbbbbbbbbbbbb02',
      parentSpanId: null,
      params: {},
      serverAddress: null,
      serverPort: null,
      responseModel: null,
      responseId: null,
      promptText: null,
      outputText: null,
    };
    const spans = spansOf({ ...call, traceId: 'ab'.repeat(16), endpoint, model, internal });
    const [root] = spans;
    expect(root?.name).toBe(`${op} ${model}`);
    expect(root?.attributes['gen_ai.operation.name']).toBe(op);
    // the request sent upstream: a Realtime session's is a WebSocket upgrade (GET), the others POST (QA39)
    expect(spans.find((s) => s.name === 'llmscope.upstream.wait')?.attributes['http.request.method']).toBe(
      endpoint === 'realtime' ? 'GET' : 'POST',
    );
  });

  it('derives ids that differ from their source and are never all zeros', () => {
    expect(derivedSpanId('00000000000000ff', 1)).toBe('00000000000000fe');
    expect(derivedSpanId('0000000000000001', 1)).not.toMatch(/^0+$/);
    for (const id of ['0123456789abcdef', 'ffffffffffffffff', '0000000000000002'])
      for (const n of [1, 2]) expect(derivedSpanId(id, n)).not.toBe(id);
  });
});

describe('derivedSpanId', () => {
  /** As first written: parse, XOR, format, and a regex over the whole id for the all-zero case. */
  const reference = (id: string, n: number): string => {
    const last = Number.parseInt(id.slice(-2), 16) ^ n;
    const out = `${id.slice(0, -2)}${last.toString(16).padStart(2, '0')}`;
    return /^0+$/.test(out) ? reference(id, n | 0x80) : out;
  };

  it('derives the same id as before for every last byte and flip, all-zero prefixes included', () => {
    for (const head of ['00f067aa0ba902', '00000000000000', '', '0', 'ffffffffffffff'])
      for (let b = 0; b < 256; b++)
        for (const n of [1, 2, 3, 0x40, 0x7f]) {
          const id = `${head}${b.toString(16).padStart(2, '0')}`;
          expect(derivedSpanId(id, n), `${id} ^ ${n}`).toBe(reference(id, n));
        }
    for (const odd of ['abc-1', 'zz', 'x', '0000000000000001'])
      for (const n of [1, 2, 300]) expect(derivedSpanId(odd, n)).toBe(reference(odd, n));
  });
});
