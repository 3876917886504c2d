// POST /v1/logs end to end with the real OTLP log exporters (@opentelemetry/exporter-logs-otlp-proto and -http): the
// model-call events Claude Code and Codex export, in the shapes they send them (Claude Code: event.name `api_request`
// with the full name in the body, values as strings; Codex: `codex.api_request` then `codex.sse_event`
// response.completed with its token counts), become calls in /api/requests with tokens, cost from the catalog,
// user and session; a re-sent batch counts once; a malformed body gets 400 and nothing is stored.

import { gzipSync } from 'node:zlib';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPLogExporter as ProtoLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  InMemoryLogRecordExporter,
  LoggerProvider,
  type LogRecordExporter,
  type ReadableLogRecord,
  SimpleLogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { decodeStatus } from '../../src/otlp/status.js';
import { getJson, metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

interface Wire {
  request_id: string;
  provider: string;
  model: string;
  endpoint: string;
  status: string;
  http_status: number;
  error_message: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  reasoning_tokens: number | null;
  latency_ms: number;
  started_at: string;
  cost_usd: number | null;
  price: { input: number; output: number; cached_input: number; cache_write?: number } | null;
  user: string | null;
  session: string | null;
  team: string | null;
  feature: string | null;
  source: string;
}

async function callsOfSession(s: Stack, session: string, n: number): Promise<Wire[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await s.app.ctx.recorder.flush();
    const page = await getJson<{ data: Wire[] }>(`${s.base}/api/requests?limit=200`);
    const mine = page.data.filter((c) => c.session === session);
    if (mine.length >= n || Date.now() > deadline) return mine;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const logsTotal = async (s: Stack, result: string) =>
  metricValue(parseMetrics(await (await fetch(`${s.base}/metrics`)).text()), 'llmscope_otlp_logs_total', { result });
const refused = async (s: Stack, reason: string) =>
  metricValue(
    parseMetrics(await (await fetch(`${s.base}/metrics`)).text()),
    'llmscope_otlp_log_exports_refused_total',
    {
      reason,
    },
  );

/** A logger exporting each record through `exporter` at once, keeping a copy of what it exported for a re-send. */
/**
 * A logger exporting to `exporter`, each record at once (Simple), or in batches (Batch, as Codex's exporter does: its
 * records reach llmscope in the order they happened, which one export request per record in flight at once does not
 * keep), and keeping a copy of each.
 */
function loggerOf(exporter: LogRecordExporter, resource: Record<string, string>, scope: string, batched = false) {
  const kept = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes(resource),
    processors: [
      batched
        ? new BatchLogRecordProcessor({ exporter, scheduledDelayMillis: 60_000 })
        : new SimpleLogRecordProcessor({ exporter }),
      new SimpleLogRecordProcessor({ exporter: kept }),
    ],
  });
  return { logger: provider.getLogger(scope, '2.0.14'), provider, kept };
}

function exportAgain(exporter: LogRecordExporter, records: ReadableLogRecord[]): Promise<number> {
  return new Promise((resolve) => exporter.export(records, (r) => resolve(r.code)));
}

const cost = (c: Wire) => {
  const p = c.price;
  if (!p) return Number.NaN;
  const cached = c.cached_input_tokens ?? 0;
  const write = c.cache_write_input_tokens ?? 0;
  return (
    ((c.input_tokens ?? 0) - cached - write) * p.input +
    cached * p.cached_input +
    write * (p.cache_write ?? p.input) +
    (c.output_tokens ?? 0) * p.output
  );
};

describe('OTLP logs receiver (POST /v1/logs) with the real log exporters', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      app: { modules: [createCostModule] },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' } },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  it("Claude Code's api_request and api_error events, protobuf exporter, sent twice: each call once, with tokens, catalog cost, user and session; its other events only counted", async () => {
    const exporter = new ProtoLogExporter({ url: `${s.base}/v1/logs` });
    const { logger, provider, kept } = loggerOf(
      exporter,
      { 'service.name': 'claude-code', 'service.version': '2.0.14', 'os.type': 'linux' },
      'com.anthropic.claude_code.events',
    );
    const session = 'cc-session-5f0e3a';
    const common = {
      'user.id': 'b6f2d4c1e0a9',
      'session.id': session,
      'organization.id': 'org-7d1e',
      'user.email': 'dev@example.com',
      'user.account_uuid': 'acct-3c9b',
      'terminal.type': 'vscode',
      'prompt.id': 'p-1',
    };
    const at = Date.now() - 60_000;
    const emit = (name: string, attributes: Record<string, string | number>, ms: number) =>
      logger.emit({
        body: `claude_code.${name}`,
        timestamp: new Date(at + ms),
        severityNumber: SeverityNumber.INFO,
        attributes: {
          ...common,
          'event.name': name,
          'event.timestamp': new Date(at + ms).toISOString(),
          ...attributes,
        },
      });
    const before = { dup: await logsTotal(s, 'duplicate'), other: await logsTotal(s, 'unrecognised') };
    emit('user_prompt', { 'event.sequence': 1, prompt_length: '42', prompt: '<REDACTED>' }, 0);
    emit(
      'api_request',
      {
        'event.sequence': 2,
        model: 'claude-sonnet-4-5-20250929',
        cost_usd: '0.0231',
        duration_ms: '2450',
        input_tokens: '120',
        output_tokens: '480',
        cache_read_tokens: '20000',
        cache_creation_tokens: '1500',
      },
      2500,
    );
    emit('tool_result', { 'event.sequence': 3, tool_name: 'Read', success: 'true', duration_ms: '12' }, 2600);
    emit(
      'api_error',
      {
        'event.sequence': 4,
        model: 'claude-sonnet-4-5-20250929',
        error: 'Overloaded',
        status_code: '529',
        duration_ms: '900',
        attempt: '1',
      },
      4000,
    );
    await provider.forceFlush();
    const calls = await callsOfSession(s, session, 2);
    expect(calls).toHaveLength(2);
    const ok = calls.find((c) => c.status === 'ok') as Wire;
    expect(ok).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5-20250929',
      endpoint: 'messages',
      input_tokens: 120 + 20_000 + 1500,
      output_tokens: 480,
      cached_input_tokens: 20_000,
      cache_write_input_tokens: 1500,
      latency_ms: 2450,
      user: 'acct-3c9b',
      session,
      feature: 'claude-code',
      source: 'ingest',
    });
    expect(new Date(ok.started_at).getTime()).toBe(at + 2500 - 2450);
    expect(ok.cost_usd).toBeGreaterThan(0);
    expect(ok.cost_usd).toBeCloseTo(cost(ok), 9);
    const failed = calls.find((c) => c.status !== 'ok') as Wire;
    expect(failed).toMatchObject({
      status: 'upstream_error',
      http_status: 529,
      error_message: 'Overloaded',
      latency_ms: 900,
      input_tokens: null,
      user: 'acct-3c9b',
    });
    // user.email is personal data: not the user, and kept nowhere in the record
    const detail = await (await fetch(`${s.base}/api/requests/${ok.request_id}`)).text();
    expect(detail).not.toContain('dev@example.com');
    expect(await logsTotal(s, 'unrecognised')).toBe(before.other + 2);

    // the exporter's retry of the same batch: counted as duplicates, no call twice
    expect(await exportAgain(exporter, kept.getFinishedLogRecords())).toBe(0);
    expect(await logsTotal(s, 'duplicate')).toBe(before.dup + 2);
    expect(await callsOfSession(s, session, 0)).toHaveLength(2);
    await provider.shutdown();
  });

  it("Codex's api_request then sse_event response.completed, JSON exporter with gzip: one call with its tokens and latency; a 429 request is a failed call", async () => {
    const exporter = new HttpLogExporter({ url: `${s.base}/v1/logs`, compression: 'gzip' as never });
    const { logger, provider, kept } = loggerOf(
      exporter,
      { 'service.name': 'codex_cli_rs', 'service.version': '0.46.0', env: 'dev' },
      'codex_otel',
      true,
    );
    const conversation = '0199a1b2-c3d4-7e5f-8a9b-codex000001';
    const common = {
      'conversation.id': conversation,
      'app.version': '0.46.0',
      auth_mode: 'ApiKey',
      'user.account_id': 'acct-codex-42',
      'user.email': 'coder@example.com',
      'terminal.type': 'iTerm.app',
      model: 'gpt-5',
      slug: 'gpt-5',
    };
    const dupBefore = await logsTotal(s, 'duplicate');
    const at = Date.now() - 30_000;
    const emit = (attributes: Record<string, string | number>, ms: number) =>
      logger.emit({
        timestamp: new Date(at + ms),
        severityNumber: SeverityNumber.INFO,
        attributes: { 'event.timestamp': new Date(at + ms).toISOString(), ...common, ...attributes },
      });
    emit({ 'event.name': 'codex.api_request', duration_ms: '300', 'http.response.status_code': 200, attempt: 1 }, 300);
    emit({ 'event.name': 'codex.sse_event', 'event.kind': 'response.created', duration_ms: '5' }, 400);
    emit(
      {
        'event.name': 'codex.sse_event',
        'event.kind': 'response.completed',
        input_token_count: '5400',
        output_token_count: '900',
        cached_token_count: 4096,
        reasoning_token_count: 640,
        tool_token_count: '0',
      },
      2300,
    );
    emit(
      {
        'event.name': 'codex.api_request',
        duration_ms: '80',
        'http.response.status_code': 429,
        'error.message': 'http 429 Too Many Requests',
        attempt: 1,
      },
      5000,
    );
    await provider.forceFlush();
    const calls = await callsOfSession(s, conversation, 2);
    expect(calls).toHaveLength(2);
    const ok = calls.find((c) => c.status === 'ok') as Wire;
    expect(ok).toMatchObject({
      provider: 'openai',
      model: 'gpt-5',
      endpoint: 'responses',
      input_tokens: 5400,
      output_tokens: 900,
      cached_input_tokens: 4096,
      reasoning_tokens: 640,
      latency_ms: 2300,
      user: 'acct-codex-42',
      session: conversation,
      feature: 'codex_cli_rs',
    });
    expect(ok.cost_usd).toBeGreaterThan(0);
    expect(ok.cost_usd).toBeCloseTo(cost(ok), 9);
    expect(calls.find((c) => c.status !== 'ok')).toMatchObject({
      status: 'rate_limited',
      http_status: 429,
      error_message: 'http 429 Too Many Requests',
      latency_ms: 80,
    });
    const detail = await (await fetch(`${s.base}/api/requests/${ok.request_id}`)).text();
    expect(detail).not.toContain('coder@example.com');
    // re-sent: once
    expect(await exportAgain(exporter, kept.getFinishedLogRecords())).toBe(0);
    expect(await logsTotal(s, 'duplicate')).toBe(dupBefore + 2);
    expect(await callsOfSession(s, conversation, 0)).toHaveLength(2);
    await provider.shutdown();
  });

  it('a malformed body gets 400 and nothing is stored, counted as refused; JSON and gzip by hand; /api/otlp/v1/logs too; wrong type 415', async () => {
    await s.app.ctx.recorder.flush();
    const invalidBefore = await refused(s, 'invalid_body');
    expect(await refused(s, 'unsupported_media_type')).toBe(0);
    const before = (await getJson<{ data: Wire[] }>(`${s.base}/api/requests?limit=200`)).data.length;
    const post = (path: string, body: string | Buffer, headers: Record<string, string>) =>
      fetch(`${s.base}${path}`, {
        method: 'POST',
        headers,
        body: typeof body === 'string' ? body : new Uint8Array(body),
      });
    const garbage = await post('/v1/logs', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(400);
    // As the OTLP spec has it: a google.rpc.Status in the request's encoding (here protobuf), which a Collector logs.
    expect(garbage.headers.get('content-type')).toBe('application/x-protobuf');
    const status = decodeStatus(new Uint8Array(await garbage.arrayBuffer()));
    expect(status.code).toBe(3);
    expect(status.message).toMatch(/nothing was stored/);
    const record = (tokens: unknown) => ({
      resourceLogs: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }] },
          scopeLogs: [
            {
              logRecords: [
                { timeUnixNano: '1700000000000000000', body: { stringValue: 'a plain log line' } },
                {
                  timeUnixNano: '1700000001000000000',
                  body: { stringValue: 'claude_code.api_request' },
                  attributes: [
                    { key: 'event.name', value: { stringValue: 'api_request' } },
                    { key: 'session.id', value: { stringValue: 'bad-body-session' } },
                    { key: 'model', value: { stringValue: 'claude-haiku-4-5' } },
                    { key: 'input_tokens', value: tokens },
                  ],
                },
              ],
            },
          ],
        },
      ],
    });
    // the first record is fine, the second's value is of the wrong type: the whole body is refused
    const wrongType = await post('/v1/logs', JSON.stringify(record({ intValue: 'many' })), {
      'content-type': 'application/json',
    });
    expect(wrongType.status).toBe(400);
    expect((await post('/v1/logs', '{"resourceLogs": [', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await post('/v1/logs', 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    // each export refused whole is counted: the exporter does not retry a 400 or 415, so its records are lost
    expect(await refused(s, 'invalid_body')).toBe(invalidBefore + 3);
    expect(await refused(s, 'unsupported_media_type')).toBe(1);
    await s.app.ctx.recorder.flush();
    expect((await getJson<{ data: Wire[] }>(`${s.base}/api/requests?limit=200`)).data.length).toBe(before);
    // the same body, well formed and gzipped, at the /api path: one call (the other record is no call)
    const good = await post('/api/otlp/v1/logs', gzipSync(JSON.stringify(record({ intValue: '77' }))), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(good.status).toBe(200);
    expect(await good.json()).toEqual({});
    const calls = await callsOfSession(s, 'bad-body-session', 1);
    expect(calls).toMatchObject([{ input_tokens: 77, model: 'claude-haiku-4-5', feature: 'claude-code' }]);
  });
});

describe('/v1/logs needs the ingest credential off loopback, as /v1/traces', () => {
  const TOKEN = 'logs-admin-token-0123456789';
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      app: { modules: [createCostModule] },
      config: { server: { host: '0.0.0.0', port: 0, shutdownGrace: '5s', adminToken: TOKEN } },
    });
  });
  afterAll(() => s?.close());

  it('an exporter without the header gets 401 and nothing is stored; with OTEL_EXPORTER_OTLP_HEADERS its calls are taken', async () => {
    const url = `${s.base}/v1/logs`;
    const session = 'auth-session-1';
    const records = () => {
      const kept = new InMemoryLogRecordExporter();
      const provider = new LoggerProvider({
        resource: resourceFromAttributes({ 'service.name': 'claude-code' }),
        processors: [new SimpleLogRecordProcessor({ exporter: kept })],
      });
      provider.getLogger('com.anthropic.claude_code.events').emit({
        body: 'claude_code.api_request',
        attributes: {
          'event.name': 'api_request',
          'session.id': session,
          model: 'claude-haiku-4-5',
          input_tokens: '40',
          output_tokens: '8',
          duration_ms: '700',
        },
      });
      return kept.getFinishedLogRecords();
    };
    const exportWith = (exporter: LogRecordExporter) =>
      new Promise<{ code: number; error?: Error & { code?: number } }>((resolve) =>
        exporter.export(records(), (r) => resolve(r as never)),
      );
    const bare = await exportWith(new ProtoLogExporter({ url }));
    expect(bare.code).toBe(1);
    expect(bare.error?.code).toBe(401);
    const wrong = await exportWith(new ProtoLogExporter({ url, headers: { authorization: 'Bearer nope' } }));
    expect(wrong.error?.code).toBe(401);
    const auth = { authorization: `Bearer ${TOKEN}` };
    await s.app.ctx.recorder.flush();
    const none = await fetch(`${s.base}/api/requests?limit=50`, { headers: auth });
    expect(((await none.json()) as { data: Wire[] }).data.filter((c) => c.session === session)).toHaveLength(0);
    expect((await exportWith(new ProtoLogExporter({ url, headers: auth }))).code).toBe(0);
    await s.app.ctx.recorder.flush();
    const page = await fetch(`${s.base}/api/requests?limit=50`, { headers: auth });
    const mine = ((await page.json()) as { data: Wire[] }).data.filter((c) => c.session === session);
    expect(mine).toMatchObject([{ input_tokens: 40, output_tokens: 8, latency_ms: 700, model: 'claude-haiku-4-5' }]);
  });
});
