import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { requestContext } from './context.js';
import { createLogger } from './logging.js';
import { failedCall, formatMs, LOG_PIECE_CHARS, requestLineOf, requestLogSink } from './request-log.js';

const base: LlmCall = {
  requestId: 'req-1',
  traceId: '0af7651916cd43dd8448eb211c80319c',
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_000_123.5,
  provider: 'openai',
  model: 'gpt-4o-mini',
  endpoint: 'chat.completions',
  stream: true,
  status: 'ok',
  httpStatus: 200,
  errorType: null,
  user: null,
  team: null,
  feature: null,
  session: null,
  apiKeyId: null,
  inputTokens: 12,
  outputTokens: 40,
  cachedInputTokens: 0,
  reasoningTokens: 0,
  tokenSource: 'usage',
  ttftMs: 120.12345,
  tpotMs: 15.0004,
  latencyMs: 705.98765,
  overheadMs: 0.1234567,
  costUsd: 0.0000123,
  price: null,
  finishReason: 'stop',
  refusal: false,
  requestBytes: 100,
  responseBytes: 1000,
  source: 'gateway',
  spans: [],
  events: [],
  content: null,
  internal: { spanId: 'b7ad6b7169203331' } as LlmCall['internal'],
};

const calls: LlmCall[] = [
  base,
  {
    ...base,
    requestId: 'req-"2"\n',
    traceId: null,
    stream: false,
    status: 'upstream_error',
    httpStatus: 502,
    errorType: 'upstream_stream_cut',
    user: 'ünïcode "user"',
    team: 'team-a',
    feature: '',
    inputTokens: null,
    outputTokens: null,
    tokenSource: null,
    ttftMs: null,
    tpotMs: null,
    latencyMs: Number.NaN,
    costUsd: null,
    internal: undefined,
  },
];

/** What pino itself writes for the line, inside the call's request context (the reference). */
function viaPino(c: LlmCall, format: 'json' | 'ecs'): Record<string, unknown> {
  const lines: string[] = [];
  const logger = createLogger({ format, destination: { write: (l: string) => void lines.push(l) } });
  const ctx = {
    request_id: c.requestId,
    trace_id: c.traceId ?? undefined,
    span_id: c.internal?.spanId,
    provider: c.provider,
    model: c.model,
  };
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  // a failed call's line is a warning (failedCall)
  const log = failedCall(c) ? logger.warn.bind(logger) : logger.info.bind(logger);
  requestContext.run(ctx, () =>
    log(
      {
        event: 'request_completed',
        endpoint: c.endpoint,
        stream: c.stream,
        status: c.status,
        http_status: c.httpStatus,
        error_type: c.errorType ?? undefined,
        input_tokens: c.inputTokens,
        output_tokens: c.outputTokens,
        token_source: c.tokenSource,
        ttft_ms: c.ttftMs === null ? null : r3(c.ttftMs),
        tpot_ms: c.tpotMs === null ? null : r3(c.tpotMs),
        latency_ms: r3(c.latencyMs),
        overhead_ms: r3(c.overheadMs),
        cost_usd: c.costUsd,
        user: c.user ?? undefined,
        team: c.team ?? undefined,
        feature: c.feature ?? undefined,
      },
      'request completed',
    ),
  );
  return JSON.parse(lines[0] as string);
}

describe('request log sink', () => {
  it.each(['json', 'ecs'] as const)(
    'writes, per call, the line pino writes in the request context (%s), a batch per write',
    async (format) => {
      const writes: string[] = [];
      const logger = createLogger({ format, destination: { write: (l: string) => void writes.push(l) } });
      await requestLogSink(logger, format).write(calls);
      expect(writes).toHaveLength(1);
      const lines = (writes[0] as string).split('\n');
      expect(lines.pop()).toBe('');
      expect(lines).toHaveLength(calls.length);
      calls.forEach((c, i) => {
        const got = JSON.parse(lines[i] as string);
        const want = viaPino(c, format);
        const timeKey = format === 'ecs' ? '@timestamp' : 'time';
        expect(typeof got[timeKey]).toBe('string');
        expect(Math.abs(Date.parse(got[timeKey]) - Date.parse(want[timeKey] as string))).toBeLessThan(5000);
        delete got[timeKey];
        delete want[timeKey];
        // Same fields, same values, same order.
        expect(Object.entries(got)).toEqual(Object.entries(want));
      });
    },
  );

  it.each(['json', 'ecs'] as const)(
    'gives an OTLP call without internals the span id of its own span, as the call detail shows its line (%s, QA48)',
    async (format) => {
      // An app's span with usage and no text: recorded with no internals, its span the one it came in
      const span: LlmCall['spans'][number] = {
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId: 'eee19b7ec3c1b174',
        parentSpanId: '00f067aa0ba902b7',
        name: 'chat gpt-4o',
        kind: 'client',
        startTime: base.startedAt,
        endTime: base.endedAt,
        status: 'ok',
        attributes: {},
        events: [],
      };
      const otlp: LlmCall = {
        ...base,
        requestId: 'otlp-1',
        traceId: span.traceId,
        source: 'ingest',
        spans: [span],
        internal: undefined,
      };
      const writes: string[] = [];
      const logger = createLogger({ format, destination: { write: (l: string) => void writes.push(l) } });
      await requestLogSink(logger, format).write([otlp]);
      const written = JSON.parse((writes[0] as string).split('\n')[0] as string);
      const key = format === 'ecs' ? 'span.id' : 'span_id';
      expect(written[key]).toBe('eee19b7ec3c1b174');
      expect(JSON.parse(requestLineOf(logger, format, otlp) as string)[key]).toBe('eee19b7ec3c1b174');
    },
  );

  it('writes each string field exactly as JSON.stringify does (escapes, controls, DEL, unicode, lone surrogates)', async () => {
    const tricky = [
      'plain-1',
      'a"b',
      'back\\slash',
      'tab\there',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
      '\u2028',
      '\ud800',
      'x\udfffy',
      '😀',
      '',
    ];
    const writes: string[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void writes.push(l) } });
    const batch = tricky.map((v) => ({
      ...base,
      requestId: v || 'r',
      provider: v,
      model: v,
      user: v,
      team: v,
      feature: v,
    }));
    await requestLogSink(logger).write(batch);
    const lines = (writes[0] as string).split('\n');
    tricky.forEach((v, i) => {
      const line = lines[i] as string;
      for (const field of ['provider', 'model', 'user', 'team', 'feature'])
        expect(line).toContain(`"${field}":${JSON.stringify(v)}`);
      expect(JSON.parse(line).user).toBe(v);
    });
  });

  it('writes milliseconds as String(Math.round(v * 1000) / 1000) does, at every magnitude', () => {
    const reference = (v: number): string => {
      const x = Math.round(v * 1000) / 1000;
      return Number.isFinite(x) ? String(x) : 'null';
    };
    let seed = 21;
    const rand = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const values = [
      0,
      -0,
      0.0004,
      0.0005,
      -0.0005,
      0.001,
      0.01,
      0.1,
      1,
      1.5,
      2.675,
      999.9995,
      1e6,
      1e9 - 0.0001,
      1e9,
      1e12,
    ];
    values.push(Number.NaN, Number.POSITIVE_INFINITY, -1e300, 1e300, 123456789.123456, -705.98765);
    for (let i = 0; i < 100_000; i++) {
      const scale = 10 ** Math.floor(rand() * 16 - 4);
      values.push((rand() - 0.1) * scale, Math.round(rand() * 1e6) / 1000, Math.floor(rand() * 1e9) / 1000 + 0.0005);
    }
    for (const v of values) expect(formatMs(v), String(v)).toBe(reference(v));
    expect(formatMs(null)).toBe('null');
  });

  it('writes each line as pino does when consecutive calls share or change provider, model, endpoint, stream, status, http status or error type', async () => {
    // The fields from provider to error_type are the previous line's text when the call's values are the same.
    const changes: Partial<LlmCall>[] = [
      {},
      {},
      { provider: 'anthropic' },
      { model: 'gpt-4o' },
      { endpoint: 'completions' },
      { stream: false },
      { status: 'upstream_error', httpStatus: 502, errorType: 'http_502' },
      { errorType: 'upstream_stream_cut' },
      { httpStatus: 503 },
      { errorType: null },
      { httpStatus: Number.NaN },
      { model: 'm"odel\u2028' },
      {},
    ];
    const batch: LlmCall[] = [];
    let c = base;
    for (const [i, d] of changes.entries()) {
      c = { ...c, ...d, requestId: `req-${i}` };
      batch.push(c, c);
    }
    batch.push(base);
    const writes: string[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void writes.push(l) } });
    await requestLogSink(logger).write(batch);
    const lines = writes.join('').split('\n');
    expect(lines.pop()).toBe('');
    batch.forEach((call, i) => {
      const got = JSON.parse(lines[i] as string);
      const want = viaPino(call, 'json');
      delete got.time;
      delete want.time;
      expect(Object.entries(got)).toEqual(Object.entries(want));
    });
  });

  it('writes a large batch in pieces of whole lines, each at most LOG_PIECE_CHARS and a line, in order', async () => {
    const writes: string[] = [];
    const logger = createLogger({ destination: { write: (l: string) => void writes.push(l) } });
    const many = Array.from({ length: 200 }, (_, i) => ({ ...base, requestId: `req-${i}`, user: 'u'.repeat(i * 3) }));
    await requestLogSink(logger).write(many);
    const one: string[] = [];
    const reference = createLogger({ destination: { write: (l: string) => void one.push(l) } });
    for (const c of many) await requestLogSink(reference).write([c]);
    const lines = writes.join('').split('\n');
    expect(lines.pop()).toBe('');
    const strip = (l: string) => l.replace(/"time":"[^"]*"/, '');
    expect(lines.map(strip)).toEqual(one.map((l) => strip(l.slice(0, -1))));
    expect(writes.length).toBeGreaterThan(1);
    const longest = Math.max(...lines.map((l) => l.length + 1));
    for (const w of writes) {
      expect(w.endsWith('\n')).toBe(true);
      expect(w.length).toBeLessThan(LOG_PIECE_CHARS + longest);
    }
  });

  it('writes failed calls at warn: at logLevel warn only theirs, at error none', async () => {
    expect(calls.map(failedCall)).toEqual([false, true]);
    const writes: string[] = [];
    const logger = createLogger({ level: 'warn', destination: { write: (l: string) => void writes.push(l) } });
    await requestLogSink(logger).write(calls);
    expect(writes).toHaveLength(1);
    const lines = (writes[0] as string).trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      expect.objectContaining({ level: 'warn', event: 'request_completed', status: 'upstream_error' }),
    ]);
    // the call detail's line of a stored call follows the same levels
    expect(requestLineOf(logger, 'json', calls[0] as LlmCall)).toBeNull();
    expect(JSON.parse(requestLineOf(logger, 'json', calls[1] as LlmCall) as string)).toMatchObject({ level: 'warn' });
    const quiet: string[] = [];
    const errorsOnly = createLogger({ level: 'error', destination: { write: (l: string) => void quiet.push(l) } });
    await requestLogSink(errorsOnly).write(calls);
    expect(quiet).toEqual([]);
  });

  it.each([
    ['ok', 200, false],
    ['client_error', 400, false],
    ['rate_limited', 429, false],
    ['cancelled', 499, false],
    ['upstream_error', 502, true],
    ['upstream_error', 200, true],
    ['timeout', 504, true],
    ['client_error', 503, true],
  ] as const)('a call %s with HTTP %d is logged at warn: %s', (status, httpStatus, warn) => {
    expect(failedCall({ ...base, status, httpStatus })).toBe(warn);
  });
});
