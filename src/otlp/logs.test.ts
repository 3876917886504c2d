import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { decodeLogsJson, decodeLogsProtobuf, encodeLogsProtobuf, type OtlpLogRecord } from './logs-decode.js';
import { eventNameOf, logToOutcome } from './logs-map.js';
import { OtlpLogsReceiver } from './logs-receiver.js';
import { MalformedOtlpError } from './model.js';

type Attr = string | number | boolean;
const kv = (attrs: Record<string, Attr>) =>
  Object.entries(attrs).map(([key, v]) => ({
    key,
    value:
      typeof v === 'string'
        ? { stringValue: v }
        : typeof v === 'boolean'
          ? { boolValue: v }
          : Number.isInteger(v)
            ? { intValue: String(v) }
            : { doubleValue: v },
  }));

function exportOf(
  records: { attrs: Record<string, Attr>; body?: string; timeNs?: string; eventName?: string }[],
  resource: Record<string, Attr> = { 'service.name': 'claude-code' },
) {
  return {
    resourceLogs: [
      {
        resource: { attributes: kv(resource) },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.0.14' },
            logRecords: records.map((r) => ({
              ...(r.timeNs === undefined ? {} : { timeUnixNano: r.timeNs }),
              ...(r.eventName ? { eventName: r.eventName } : {}),
              ...(r.body ? { body: { stringValue: r.body } } : {}),
              attributes: kv(r.attrs),
            })),
          },
        ],
      },
    ],
  };
}

const one = (r: Parameters<typeof exportOf>[0][number], resource?: Record<string, Attr>): OtlpLogRecord =>
  decodeLogsJson(exportOf([r], resource))[0] as OtlpLogRecord;

const CLAUDE = {
  'event.name': 'api_request',
  'session.id': 's-1',
  'user.email': 'a@example.com',
  'user.account_uuid': 'acct-1',
  model: 'claude-sonnet-4-5',
  input_tokens: '10',
  output_tokens: '5',
  cache_read_tokens: '100',
  cache_creation_tokens: '20',
  duration_ms: '1500',
  cost_usd: 0.0012,
};
const T = '1700000000000000000';
const noStart = () => undefined;

describe('OTLP logs: decoding', () => {
  it('protobuf and JSON give the same records (ids hex, 64-bit times exact, values typed)', () => {
    const json = exportOf([
      { attrs: { ...CLAUDE, n: 3, ok: true, f: 1.5 }, body: 'claude_code.api_request', timeNs: T },
    ]);
    const viaJson = decodeLogsJson(json);
    const withIds = structuredClone(json) as Record<string, unknown>;
    const rec = (withIds as { resourceLogs: { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[] })
      .resourceLogs[0]?.scopeLogs[0]?.logRecords[0] as Record<string, unknown>;
    rec['traceId'] = Buffer.from('ab'.repeat(16), 'hex').toString('base64');
    const viaProto = decodeLogsProtobuf(encodeLogsProtobuf(withIds));
    expect(viaProto).toEqual([{ ...viaJson[0], traceId: 'ab'.repeat(16) }]);
    expect(viaJson[0]?.timeNs).toBe(1_700_000_000_000_000_000n);
    expect(viaJson[0]?.attributes).toMatchObject({ n: 3, ok: true, f: 1.5, input_tokens: '10' });
  });

  it('a body that is not an export is malformed, whichever encoding', () => {
    expect(() => decodeLogsProtobuf(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f]))).toThrow(MalformedOtlpError);
    expect(() => decodeLogsJson([])).toThrow(MalformedOtlpError);
    expect(() => decodeLogsJson({ resourceLogs: {} })).toThrow(/resourceLogs is not an array/);
    expect(() =>
      decodeLogsJson({ resourceLogs: [{ scopeLogs: [{ logRecords: [{ timeUnixNano: 'soon' }] }] }] }),
    ).toThrow(/timeUnixNano is not a time/);
  });
});

describe('OTLP logs: which records are calls', () => {
  it("names: Claude Code's short event.name with the full name in the body, the event_name field, Codex's full names", () => {
    expect(eventNameOf(one({ attrs: { 'event.name': 'api_request' }, body: 'claude_code.api_request' }))).toBe(
      'claude_code.api_request',
    );
    // no body: Claude Code's service or scope says whose short name it is
    expect(eventNameOf(one({ attrs: { 'event.name': 'api_error' } }))).toBe('claude_code.api_error');
    expect(eventNameOf(one({ attrs: {}, eventName: 'codex.sse_event' }, { 'service.name': 'x' }))).toBe(
      'codex.sse_event',
    );
    expect(eventNameOf(one({ attrs: { 'event.name': 'codex.api_request' } }, { 'service.name': 'x' }))).toBe(
      'codex.api_request',
    );
  });

  it('Claude Code api_request: whole prompt as input tokens, cache split, latency ending at the event time, never the email', () => {
    const o = logToOutcome(one({ attrs: CLAUDE, body: 'claude_code.api_request', timeNs: T }), noStart);
    expect(o.kind).toBe('call');
    const c = (o as { call: LlmCall }).call;
    expect(c).toMatchObject({
      provider: 'anthropic',
      endpoint: 'messages',
      model: 'claude-sonnet-4-5',
      inputTokens: 130,
      outputTokens: 5,
      cachedInputTokens: 100,
      cacheWriteInputTokens: 20,
      latencyMs: 1500,
      endedAt: 1_700_000_000_000,
      startedAt: 1_700_000_000_000 - 1500,
      user: 'acct-1',
      session: 's-1',
      feature: 'claude-code',
      costUsd: null,
      status: 'ok',
    });
    expect(JSON.stringify(c)).not.toContain('a@example.com');
    expect(c.requestId).toMatch(/^otlp-log-[0-9a-f]{32}$/);
    // the same record gives the same id; another time another
    const again = logToOutcome(one({ attrs: CLAUDE, body: 'claude_code.api_request', timeNs: T }), noStart);
    expect((again as { call: LlmCall }).call.requestId).toBe(c.requestId);
    const later = logToOutcome(one({ attrs: CLAUDE, timeNs: '1700000000000000001' }), noStart);
    expect((later as { call: LlmCall }).call.requestId).not.toBe(c.requestId);
  });

  it('Claude Code api_error: a failed call with its status, error and duration, no tokens', () => {
    const o = logToOutcome(
      one({
        attrs: {
          'event.name': 'api_error',
          model: 'm',
          error: 'Request timed out',
          status_code: 'undefined',
          duration_ms: 30,
        },
        timeNs: T,
      }),
      noStart,
    );
    expect((o as { call: LlmCall }).call).toMatchObject({
      status: 'upstream_error',
      httpStatus: 500,
      errorMessage: 'Request timed out',
      inputTokens: null,
      latencyMs: 30,
    });
    const limited = logToOutcome(one({ attrs: { 'event.name': 'api_error', status_code: 429 }, timeNs: T }), noStart);
    expect((limited as { call: LlmCall }).call.status).toBe('rate_limited');
  });

  it('Codex: response.completed is the call; a failed item parse or a successful request is not; a failed stream is', () => {
    const codex = { 'service.name': 'codex_cli_rs' };
    const base = { 'conversation.id': 'conv-1', model: 'gpt-5', 'user.account_id': 'acct-c', 'user.email': 'c@x.io' };
    const start = logToOutcome(
      one(
        {
          attrs: { ...base, 'event.name': 'codex.api_request', duration_ms: '200', 'http.response.status_code': 200 },
          timeNs: T,
        },
        codex,
      ),
      noStart,
    );
    expect(start).toEqual({ kind: 'request', conversation: 'conv-1', startedAt: 1_700_000_000_000 - 200 });
    const done = logToOutcome(
      one(
        {
          attrs: {
            ...base,
            'event.name': 'codex.sse_event',
            'event.kind': 'response.completed',
            input_token_count: '1000',
            output_token_count: '50',
            cached_token_count: 800,
            reasoning_token_count: 30,
          },
          timeNs: '1700000003000000000',
        },
        codex,
      ),
      (conv) => (conv === 'conv-1' ? 1_700_000_000_000 - 200 : undefined),
    );
    expect((done as { call: LlmCall }).call).toMatchObject({
      provider: 'openai',
      endpoint: 'responses',
      inputTokens: 1000,
      outputTokens: 50,
      cachedInputTokens: 800,
      reasoningTokens: 30,
      latencyMs: 3200,
      user: 'acct-c',
      session: 'conv-1',
      feature: 'codex_cli_rs',
    });
    const sse = (attrs: Record<string, Attr>) =>
      logToOutcome(one({ attrs: { ...base, 'event.name': 'codex.sse_event', ...attrs }, timeNs: T }, codex), noStart)
        .kind;
    expect(sse({ 'event.kind': 'response.output_text.delta' })).toBe('unrecognised');
    expect(sse({ 'event.kind': 'response.output_item.done', 'error.message': 'failed to parse' })).toBe('unrecognised');
    expect(sse({ 'event.kind': 'response.failed', 'error.message': 'rate limited' })).toBe('call');
    expect(sse({ 'error.message': 'idle timeout waiting for SSE' })).toBe('call');
  });

  it('rejected: no time at all, a token count past 2^53, metadata over the rules; other records unrecognised', () => {
    expect(logToOutcome(one({ attrs: CLAUDE }), noStart)).toMatchObject({ kind: 'rejected', why: /time/ });
    expect(
      logToOutcome(one({ attrs: { ...CLAUDE, 'event.timestamp': '2026-01-02T03:04:05.678Z' } }), noStart),
    ).toMatchObject({ kind: 'call', call: { endedAt: Date.parse('2026-01-02T03:04:05.678Z') } });
    expect(logToOutcome(one({ attrs: { ...CLAUDE, output_tokens: '1e300' }, timeNs: T }), noStart)).toMatchObject({
      kind: 'rejected',
      why: /output_tokens/,
    });
    expect(
      logToOutcome(one({ attrs: { ...CLAUDE, 'llmscope.meta.k': 'x'.repeat(300) }, timeNs: T }), noStart).kind,
    ).toBe('rejected');
    expect(logToOutcome(one({ attrs: { 'event.name': 'user_prompt' }, timeNs: T }), noStart).kind).toBe('unrecognised');
    expect(
      logToOutcome(one({ attrs: { msg: 'GET /health 200' }, timeNs: T }, { 'service.name': 'web' }), noStart).kind,
    ).toBe('unrecognised');
  });
});

/** One Codex log record of conversation `conversation` at `ms`, as its exporter sends it (model gpt-5). */
const codexExport = (conversation: string, ms: number, attrs: Record<string, Attr>) =>
  decodeLogsJson(
    exportOf(
      [
        {
          attrs: { 'conversation.id': conversation, model: 'gpt-5', 'user.account_id': 'acct-9', ...attrs },
          timeNs: `${BigInt(ms) * 1_000_000n}`,
        },
      ],
      { 'service.name': 'codex_cli_rs' },
    ),
  );

/** Codex's response.completed of conversation `conversation` at `ms`, with its token counts. */
const codexCompleted = (conversation: string, ms: number, input: number, output: number) =>
  codexExport(conversation, ms, {
    'event.name': 'codex.sse_event',
    'event.kind': 'response.completed',
    input_token_count: input,
    output_token_count: output,
  });

describe('OTLP logs receiver', () => {
  it('records each call once however often the export comes, counts every record, names rejects', async () => {
    const recorded: LlmCall[] = [];
    const stored = new Set<string>();
    const registry = new Registry();
    const r = new OtlpLogsReceiver({
      recorder: { record: (c) => recorded.push(c) },
      store: { knownIds: async (ids) => new Set(ids.filter((id) => stored.has(id))) },
      registry,
      bodyLimit: 1 << 20,
    });
    const records = decodeLogsJson(
      exportOf([
        { attrs: CLAUDE, body: 'claude_code.api_request', timeNs: T },
        { attrs: { 'event.name': 'tool_result' }, timeNs: T },
        { attrs: CLAUDE },
      ]),
    );
    const first = await r.accept(records);
    expect(first.counts).toEqual({ call: 1, duplicate: 0, unrecognised: 1, rejected: 1 });
    expect(first.rejectedMessage).toMatch(/^1 log record: time/);
    expect((await r.accept(records)).counts).toMatchObject({ call: 0, duplicate: 1 });
    // remembered by the store only (another process, a restart): still once
    for (const c of recorded) stored.add(c.requestId);
    const fresh = new OtlpLogsReceiver({
      recorder: { record: (c) => recorded.push(c) },
      store: { knownIds: async (ids) => new Set(ids.filter((id) => stored.has(id))) },
      registry: new Registry(),
      bodyLimit: 1 << 20,
    });
    expect((await fresh.accept(records)).counts).toMatchObject({ call: 0, duplicate: 1 });
    expect(recorded).toHaveLength(1);
    const metrics = await registry.getSingleMetricAsString('llmscope_otlp_logs_total');
    expect(metrics).toContain('llmscope_otlp_logs_total{result="call"} 1');
    expect(metrics).toContain('llmscope_otlp_logs_total{result="duplicate"} 1');
  });

  it("Codex: a response whose request event comes in a later export (concurrent batches) waits for it and gets its latency; one whose request never comes is recorded with latency 0; a request's start serves one response", async () => {
    const recorded: LlmCall[] = [];
    const r = new OtlpLogsReceiver({
      recorder: { record: (c) => recorded.push(c) },
      store: { knownIds: async () => new Set<string>() },
      registry: new Registry(),
      bodyLimit: 1 << 20,
      requestWaitMs: 60_000,
    });
    const request = (ms: number, duration: number) =>
      codexExport('conv-9', ms, { 'event.name': 'codex.api_request', duration_ms: String(duration) });
    const completed = (ms: number, output: number) => codexCompleted('conv-9', ms, 100, output);
    const t0 = 1_700_000_000_000;
    // the response's batch is taken first: counted, not recorded yet
    expect((await r.accept(completed(t0 + 3_000, 7))).counts).toMatchObject({ call: 1 });
    expect(recorded).toHaveLength(0);
    expect(r.waitingCalls).toBe(1);
    // its request's batch, a moment later: recorded once, with the latency from the request's start
    expect((await r.accept(request(t0 + 400, 400))).counts).toMatchObject({ unrecognised: 1, call: 0 });
    expect(recorded.map((c) => [c.outputTokens, c.latencyMs, c.startedAt])).toEqual([[7, 3_000, t0]]);
    expect(r.waitingCalls).toBe(0);
    // in order: the request's start serves its response, and only it
    await r.accept(request(t0 + 5_500, 500));
    await r.accept(completed(t0 + 6_000, 8));
    expect(recorded.at(-1)).toMatchObject({ outputTokens: 8, latencyMs: 1_000 });
    // a second response with no request of its own does not take the first one's start: it waits
    await r.accept(completed(t0 + 9_000, 9));
    expect(recorded).toHaveLength(2);
    expect(r.waitingCalls).toBe(1);
    // a re-sent export of the waiting response counts as a duplicate
    expect((await r.accept(completed(t0 + 9_000, 9))).counts).toMatchObject({ call: 0, duplicate: 1 });
    // shutdown: recorded as it is, latency 0
    r.releaseWaiting();
    expect(recorded.at(-1)).toMatchObject({ outputTokens: 9, latencyMs: 0 });
    expect(recorded).toHaveLength(3);
  });

  it('Codex: a response whose request event never comes is recorded after the wait, latency 0', async () => {
    const recorded: LlmCall[] = [];
    const r = new OtlpLogsReceiver({
      recorder: { record: (c) => recorded.push(c) },
      store: { knownIds: async () => new Set<string>() },
      registry: new Registry(),
      bodyLimit: 1 << 20,
      requestWaitMs: 20,
    });
    const records = codexCompleted('conv-x', Number(BigInt(T) / 1_000_000n), 10, 2);
    await r.accept(records);
    expect(recorded).toHaveLength(0);
    await vi.waitFor(() => expect(recorded).toHaveLength(1), { timeout: 5_000 });
    expect(recorded[0]).toMatchObject({ outputTokens: 2, latencyMs: 0 });
    expect(r.waitingCalls).toBe(0);
  });
});
