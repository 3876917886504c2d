// POST /v1/traces end to end, with real instrumentations and the real OTLP exporters: small apps (test/e2e/otlp-apps)
// call the simulator with the official `openai` client (instrumented by @opentelemetry/instrumentation-openai, or by
// OpenInference) or the Vercel AI SDK, and export their spans to llmscope in protobuf or JSON. Every call must show
// up in /api/requests with its tokens, cost and trace id, the agent's other spans in its trace, once however often
// a batch is sent; a malformed body gets 400 and nothing is stored.
import { execFile } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { decodeProtobufResponse } from '../../src/otlp/index.js';
import { decodeStatus } from '../../src/otlp/status.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { getJson, metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

interface AppRun {
  traceId: string;
  rootSpanId: string;
  usages: Record<string, number>[];
  exports: number[];
}

function runApp(app: string, env: Record<string, string>): Promise<AppRun> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [`test/e2e/otlp-apps/${app}`],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`${app} failed: ${err.message}\n${stderr}`));
        const last = stdout.trim().split('\n').pop() ?? '';
        try {
          resolve(JSON.parse(last) as AppRun);
        } catch {
          reject(new Error(`${app} printed no result: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

interface Wire {
  request_id: string;
  trace_id: string | null;
  model: string;
  provider: string;
  stream: boolean;
  status: string;
  input_tokens: number | null;
  output_tokens: number | null;
  token_source: string | null;
  latency_ms: number;
  cost_usd: number | null;
  price: { input: number; output: number; cached_input: number } | null;
  ttft_ms: number | null;
  user: string | null;
  team: string | null;
  feature: string | null;
  source: string;
}

async function callsOfTrace(s: Stack, traceId: string, n: number): Promise<Wire[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await s.app.ctx.recorder.flush();
    const page = await getJson<{ data: Wire[] }>(`${s.base}/api/requests?q=${traceId}&limit=50`);
    const mine = page.data.filter((c) => c.trace_id === traceId);
    if (mine.length >= n || Date.now() > deadline) return mine;
    await new Promise((r) => setTimeout(r, 50));
  }
}

const otlpSpans = async (s: Stack, result: string) =>
  metricValue(parseMetrics(await (await fetch(`${s.base}/metrics`)).text()), 'llmscope_otlp_spans_total', { result });

/** The cost the catalog's prices give these tokens (the call's own applied price). */
const expectedCost = (c: Wire) =>
  (c.input_tokens ?? 0) * (c.price?.input ?? Number.NaN) + (c.output_tokens ?? 0) * (c.price?.output ?? Number.NaN);

/** A retrieval span before its trace's call, the call, then the tool and root spans after it (sent twice). */
async function lateSpansScenario(s: Stack): Promise<void> {
  const traceId = 'dd'.repeat(16);
  const rootId = '1000000000000001';
  const t0 = 1_700_000_100_000_000_000n;
  const kv = (key: string, v: string | number) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
  });
  const exportOf = (spans: Record<string, unknown>[]) =>
    fetch(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ resource: { attributes: [kv('service.name', 'late-agent')] }, scopeSpans: [{ spans }] }],
      }),
    });
  const at = (ms: number) => String(t0 + BigInt(ms) * 1_000_000n);
  // 1. a retrieval step, exported while the model call still runs: pending
  const retrieval = {
    traceId,
    spanId: '1000000000000002',
    parentSpanId: rootId,
    name: 'retrieve docs',
    kind: 1,
    startTimeUnixNano: at(0),
    endTimeUnixNano: at(40),
    attributes: [kv('openinference.span.kind', 'RETRIEVER')],
  };
  expect((await exportOf([retrieval])).status).toBe(200);
  // 2. the model call
  const llm = {
    traceId,
    spanId: '1000000000000003',
    parentSpanId: rootId,
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixNano: at(50),
    endTimeUnixNano: at(850),
    attributes: [
      kv('gen_ai.operation.name', 'chat'),
      kv('gen_ai.provider.name', 'openai'),
      kv('gen_ai.request.model', 'gpt-4o-mini'),
      kv('gen_ai.usage.input_tokens', 200),
      kv('gen_ai.usage.output_tokens', 20),
    ],
  };
  expect((await exportOf([llm])).status).toBe(200);
  // 3. the agent's root span, which ends last, and a tool step after the call
  const tool = {
    traceId,
    spanId: '1000000000000004',
    parentSpanId: rootId,
    name: 'tool.search',
    kind: 1,
    startTimeUnixNano: at(860),
    endTimeUnixNano: at(900),
    attributes: [kv('gen_ai.operation.name', 'execute_tool')],
  };
  const root = {
    traceId,
    spanId: rootId,
    name: 'agent.run',
    kind: 1,
    startTimeUnixNano: at(0),
    endTimeUnixNano: at(1000),
    attributes: [],
  };
  expect((await exportOf([tool, root])).status).toBe(200);
  // re-sent: nothing twice
  expect((await exportOf([tool, root])).status).toBe(200);
  const calls = await callsOfTrace(s, traceId, 1);
  expect(calls).toHaveLength(1);
  expect(calls[0]).toMatchObject({ feature: 'late-agent', input_tokens: 200, latency_ms: 800 });
  const t = await getJson<{ calls: { spans: { name: string; span_id: string }[] }[] }>(
    `${s.base}/api/traces/${traceId}`,
  );
  const names = t.calls.flatMap((c) => c.spans.map((x) => x.name)).sort();
  expect(names).toEqual(['agent.run', 'chat gpt-4o-mini', 'retrieve docs', 'tool.search']);
  const detail = await getJson<{ spans: { name: string }[] }>(`${s.base}/api/requests/${calls[0]?.request_id}`);
  expect(detail.spans.map((x) => x.name).sort()).toEqual(names);
  expect(await otlpSpans(s, 'pending')).toBeGreaterThanOrEqual(1);
}

describe('OTLP receiver with real instrumentations and exporters', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      app: { modules: [createCostModule] },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', bodyLimit: 4 * 1024 * 1024 } },
    });
  });
  afterAll(async () => {
    await s?.close();
  });
  const env = () => ({ LLMSCOPE_URL: s.base, SIM_URL: s.sim.url });

  it('@opentelemetry/instrumentation-openai, protobuf exporter, each batch sent twice: every call once, with tokens, cost, trace and its agent spans', async () => {
    const before = await otlpSpans(s, 'duplicate');
    const run = await runApp('openai-otel.cjs', { ...env(), OTLP_FORMAT: 'protobuf', RESEND: '2' });
    expect(run.exports.every((code) => code === 0)).toBe(true);
    expect(run.exports.length).toBeGreaterThanOrEqual(2);
    const calls = await callsOfTrace(s, run.traceId, 2);
    expect(calls).toHaveLength(2);
    const sent = run.usages.map((u) => [u['prompt_tokens'], u['completion_tokens']]).sort();
    expect(calls.map((c) => [c.input_tokens, c.output_tokens]).sort()).toEqual(sent);
    for (const c of calls) {
      expect(c).toMatchObject({
        trace_id: run.traceId,
        provider: 'openai',
        model: 'gpt-4o-mini',
        status: 'ok',
        source: 'ingest',
        team: 'platform',
        feature: 'otel-openai-app',
      });
      expect(c.cost_usd).toBeGreaterThan(0);
      expect(c.cost_usd).toBeCloseTo(expectedCost(c), 12);
    }
    // the re-sent batch counted once: its spans are duplicates, the store holds two calls
    expect(await otlpSpans(s, 'duplicate')).toBe(before + 2);
    const t = await getJson<{ calls: { spans: { name: string; span_id: string; parent_span_id: string | null }[] }[] }>(
      `${s.base}/api/traces/${run.traceId}`,
    );
    expect(t.calls).toHaveLength(2);
    const spans = t.calls.flatMap((c) => c.spans);
    const names = spans.map((x) => x.name);
    expect(names).toContain('agent.run');
    expect(names).toContain('tool.search');
    expect(new Set(spans.map((x) => x.span_id)).size).toBe(spans.length);
    const root = spans.find((x) => x.name === 'agent.run');
    expect(root?.span_id).toBe(run.rootSpanId);
    // the model calls hang under the agent span
    expect(spans.filter((x) => x.parent_span_id === run.rootSpanId).length).toBeGreaterThanOrEqual(3);
  }, 90_000);

  it('OpenInference instrumentation, JSON exporter (gzip): both calls with tokens, cost and trace id', async () => {
    const run = await runApp('openai-openinference.cjs', { ...env(), OTLP_FORMAT: 'json', OTLP_GZIP: '1' });
    const calls = await callsOfTrace(s, run.traceId, 2);
    expect(calls).toHaveLength(2);
    const sent = run.usages.map((u) => [u['prompt_tokens'], u['completion_tokens']]).sort();
    expect(calls.map((c) => [c.input_tokens, c.output_tokens]).sort()).toEqual(sent);
    for (const c of calls) {
      // finish_reason from OpenInference's llm.finish_reason
      expect(c).toMatchObject({ trace_id: run.traceId, provider: 'openai', team: 'research', finish_reason: 'stop' });
      expect(c.model).toMatch(/^gpt-4o-mini/);
      expect(c.cost_usd).toBeCloseTo(expectedCost(c), 12);
      expect(c.cost_usd).toBeGreaterThan(0);
    }
    const t = await getJson<{ calls: { spans: { name: string }[] }[] }>(`${s.base}/api/traces/${run.traceId}`);
    expect(t.calls.flatMap((c) => c.spans.map((x) => x.name))).toEqual(
      expect.arrayContaining(['agent.run', 'tool.search']),
    );
  }, 90_000);

  it('Vercel AI SDK (experimental_telemetry): doGenerate/doStream become calls with ai.* usage, TTFT and metadata; the outer spans do not', async () => {
    const run = await runApp('vercel-ai.cjs', { ...env(), OTLP_FORMAT: 'protobuf' });
    const calls = await callsOfTrace(s, run.traceId, 2);
    // the outer ai.generateText / ai.streamText spans carry the same usage, but are not calls
    expect(calls).toHaveLength(2);
    const sent = run.usages.map((u) => [u['inputTokens'], u['outputTokens']]).sort();
    expect(calls.map((c) => [c.input_tokens, c.output_tokens]).sort()).toEqual(sent);
    for (const c of calls)
      expect(c).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', user: 'vera', feature: 'ai-sdk-demo' });
    const streamed = calls.find((c) => c.stream);
    expect(streamed?.ttft_ms).toBeGreaterThan(0);
    const t = await getJson<{ calls: { spans: { name: string }[] }[] }>(`${s.base}/api/traces/${run.traceId}`);
    expect(t.calls.flatMap((c) => c.spans.map((x) => x.name))).toEqual(
      expect.arrayContaining(['agent.run', 'ai.generateText', 'ai.streamText']),
    );
  }, 90_000);

  it("Vercel AI SDK: a provider's error takes the status of the doGenerate span's HTTP client child, else stays 500", async () => {
    const run = await runApp('vercel-ai-errors.cjs', { ...env(), OTLP_FORMAT: 'protobuf' });
    expect((run as AppRun & { statuses: number[] }).statuses).toEqual([429, 400, 429]);
    const calls = (await callsOfTrace(s, run.traceId, 3)) as (Wire & Record<string, unknown>)[];
    // ids sort in the order the calls started: traced 429, traced 400, then one without the fetch span
    calls.sort((a, b) => (a.request_id < b.request_id ? -1 : 1));
    expect(calls.map((c) => [c.status, c['http_status'], c['error_type']])).toEqual([
      ['rate_limited', 429, 'AI_APICallError'],
      ['client_error', 400, 'AI_APICallError'],
      ['upstream_error', 500, 'AI_APICallError'],
    ]);
  }, 90_000);

  it('spans of the trace exported before and after its call (separate batches) still join its waterfall', () =>
    lateSpansScenario(s));

  it('a span with the prompt and answer but no usage: tokens estimated from the chat prompt and priced; no text stored', async () => {
    const traceId = 'ee'.repeat(16);
    const kv = (key: string, v: string) => ({ key, value: { stringValue: v } });
    const r = await fetch(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId,
                    spanId: 'ee'.repeat(8),
                    name: 'chat gpt-4o-mini',
                    kind: 3,
                    startTimeUnixNano: '1700000200000000000',
                    endTimeUnixNano: '1700000200900000000',
                    attributes: [
                      kv('gen_ai.operation.name', 'chat'),
                      kv('gen_ai.provider.name', 'openai'),
                      kv('gen_ai.request.model', 'gpt-4o-mini'),
                      kv(
                        'gen_ai.input.messages',
                        '[{"role":"user","parts":[{"type":"text","content":"Name three rivers in Europe, please."}]}]',
                      ),
                      kv(
                        'gen_ai.output.messages',
                        '[{"role":"assistant","parts":[{"type":"text","content":"The Rhine, the Danube and the Seine."}]}]',
                      ),
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(r.status).toBe(200);
    const [c] = await callsOfTrace(s, traceId, 1);
    // a chat prompt without usage is counted whole, chat framing included (3 + 3 + "user" + 8 of text)
    expect(c).toMatchObject({ token_source: 'estimate', status: 'ok', input_tokens: 15 });
    expect(c?.output_tokens).toBeGreaterThan(5);
    expect(c?.cost_usd).toBeCloseTo(expectedCost(c as Wire), 12);
    const detail = await (await fetch(`${s.base}/api/requests/${c?.request_id}`)).text();
    expect(detail).not.toMatch(/Danube|rivers/);
  });

  it('a malformed body gets 400 and nothing is stored; partial success names the spans rejected', async () => {
    await s.app.ctx.recorder.flush();
    const count = async () => (await getJson<{ data: unknown[] }>(`${s.base}/api/requests?limit=500`)).data.length;
    const before = await count();
    const post = (body: Buffer | string, headers: Record<string, string>) =>
      fetch(`${s.base}/v1/traces`, {
        method: 'POST',
        body: typeof body === 'string' ? body : new Uint8Array(body),
        headers,
      });
    const garbage = await post(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]), {
      'content-type': 'application/x-protobuf',
    });
    expect(garbage.status).toBe(400);
    // As the OTLP spec has it: the error body is a google.rpc.Status in the request's encoding.
    expect(garbage.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeStatus(new Uint8Array(await garbage.arrayBuffer()))).toMatchObject({
      code: 3,
      message: expect.stringMatching(/nothing was stored/),
    });
    const seven = await post('{"resourceSpans": 7}', { 'content-type': 'application/json' });
    expect(seven.status).toBe(400);
    expect(seven.headers.get('content-type')).toBe('application/json');
    expect(await seven.json()).toEqual({ code: 3, message: expect.stringMatching(/nothing was stored/) });
    expect((await post('{not json', { 'content-type': 'application/json' })).status).toBe(400);
    expect(
      (await post(Buffer.from('not gzip'), { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status,
    ).toBe(400);
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    // a body that is valid up to one bad span: nothing of it is stored
    const half = {
      resourceSpans: [
        {
          scopeSpans: [
            {
              spans: [
                {
                  traceId: 'aa'.repeat(16),
                  spanId: 'bb'.repeat(8),
                  name: 'chat gpt-4o-mini',
                  startTimeUnixNano: '1700000000000000000',
                  endTimeUnixNano: '1700000001000000000',
                  attributes: [{ key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } }],
                },
                { traceId: 'cc'.repeat(16), spanId: 5 },
              ],
            },
          ],
        },
      ],
    };
    expect((await post(JSON.stringify(half), { 'content-type': 'application/json' })).status).toBe(400);
    // too large once decompressed
    const big = gzipSync(Buffer.alloc(5 * 1024 * 1024, 0x20));
    expect((await post(big, { 'content-type': 'application/json', 'content-encoding': 'gzip' })).status).toBe(413);
    await s.app.ctx.recorder.flush();
    expect(await count()).toBe(before);

    // one good call and one span with a zero trace id: 200 with partial_success (protobuf answer to a JSON body? no:
    // JSON here, protobuf below)
    const mixed = structuredClone(half);
    const spans = mixed.resourceSpans[0]?.scopeSpans[0]?.spans as Record<string, unknown>[];
    spans[0] = {
      ...spans[0],
      attributes: [
        { key: 'gen_ai.operation.name', value: { stringValue: 'chat' } },
        { key: 'gen_ai.system', value: { stringValue: 'openai' } },
        { key: 'gen_ai.request.model', value: { stringValue: 'gpt-4o-mini' } },
        { key: 'gen_ai.usage.input_tokens', value: { intValue: '1000' } },
        { key: 'gen_ai.usage.output_tokens', value: { intValue: 10 } },
      ],
    };
    spans[1] = { ...spans[0], traceId: '0'.repeat(32) };
    const ok = await post(JSON.stringify(mixed), { 'content-type': 'application/json' });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({
      partialSuccess: { rejectedSpans: '1', errorMessage: expect.stringMatching(/trace_id/) },
    });
    const stored = await callsOfTrace(s, 'aa'.repeat(16), 1);
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({
      input_tokens: 1000,
      output_tokens: 10,
      // led by the span's start (1700000000000 ms, in hex), then its trace and span ids
      request_id: `otlp-018bcfe56800-${'aa'.repeat(16)}-${'bb'.repeat(8)}`,
    });
    expect(stored[0]?.cost_usd).toBeCloseTo(1000 * 0.15e-6 + 10 * 0.6e-6, 12);
    // an empty protobuf export is a valid one: 200 with an empty ExportTraceServiceResponse
    const empty = await post(Buffer.alloc(0), { 'content-type': 'application/x-protobuf' });
    expect(empty.status).toBe(200);
    expect(empty.headers.get('content-type')).toBe('application/x-protobuf');
    expect(decodeProtobufResponse(new Uint8Array(await empty.arrayBuffer()))).toBeNull();
  }, 60_000);
});

describe('OTLP receiver off loopback', () => {
  it('takes the admin token, as /api/ingest does', async () => {
    const s = await startStack({
      config: { server: { host: '0.0.0.0', port: 0, shutdownGrace: '5s', adminToken: 'admin-token-0123456789' } },
    });
    try {
      const url = s.base.replace('0.0.0.0', '127.0.0.1');
      const post = (headers: Record<string, string>) =>
        fetch(`${url}/v1/traces`, {
          method: 'POST',
          body: '{}',
          headers: { 'content-type': 'application/json', ...headers },
        });
      const bare = await post({});
      expect(bare.status).toBe(401);
      expect(await bare.json()).toEqual({ code: 16, message: expect.any(String) });
      expect((await post({ authorization: 'Bearer wrong' })).status).toBe(401);
      const r = await post({ authorization: 'Bearer admin-token-0123456789' });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({});
      // server.bodyLimit is 50 MiB here; OTLP bodies stop at 20 MiB (the Collector's default), decompressed too
      const big = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        body: new Uint8Array(gzipSync(Buffer.alloc(21 * 1024 * 1024, 0x20))),
        headers: {
          'content-type': 'application/json',
          'content-encoding': 'gzip',
          authorization: 'Bearer admin-token-0123456789',
        },
      });
      expect(big.status).toBe(413);
      // as sent: the answer says what helps (smaller batches), not to raise server.bodyLimit, which is already past it
      const raw = await fetch(`${url}/v1/traces`, {
        method: 'POST',
        body: new Uint8Array(Buffer.alloc(21 * 1024 * 1024, 0x20)),
        headers: { 'content-type': 'application/json', authorization: 'Bearer admin-token-0123456789' },
      });
      expect(raw.status).toBe(413);
      const message = (await raw.json()) as { message: string; code: number };
      expect(message.code).toBe(3);
      expect(message.message).toMatch(/20971520 bytes.*maxExportBatchSize/);
      expect(message.message).not.toMatch(/raise server\.bodyLimit/);
    } finally {
      await s.close();
    }
  });
});

describe('OTLP receiver on PostgreSQL', () => {
  let pg: TestPostgres;
  let s: Stack;
  beforeAll(async () => {
    pg = await startPostgres();
    s = await startStack({
      app: { modules: [createCostModule] },
      config: { storage: { url: await pg.freshSchemaUrl() } },
    });
  }, 60_000);
  afterAll(async () => {
    await s?.close();
    await pg?.stop();
  });

  it('spans before and after the call join its waterfall, a re-sent batch counts once', () => lateSpansScenario(s));
});
