// The gateway end to end: the official `openai` client through llmscope against the simulator, compared with
// the same calls made direct; measurements against the simulator's exact delays; cancellation; bad input.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FirstTokenRecord } from '../../src/simulator/index.js';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const clientFor = (baseURL: string, headers: Record<string, string> = {}) =>
  new OpenAI({ baseURL, apiKey: 'sk-test-not-a-real-key', maxRetries: 0, defaultHeaders: headers });

async function collect(stream: AsyncIterable<unknown>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const c of stream) out.push(c);
  return out;
}

/** Chunks without the fields that differ per call (ids, timestamps). */
const comparable = (chunks: unknown[]) =>
  chunks.map((c) => {
    const { id: _id, created: _created, ...rest } = c as Record<string, unknown>;
    return rest;
  });

describe('gateway with the openai client', () => {
  let s: Stack;
  let direct: OpenAI;
  let via: OpenAI;
  const exporter = new InMemorySpanExporter();

  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 5, tpotMs: 1, outputTokens: 12 }, app: { spanExporter: exporter } });
    direct = clientFor(s.sim.url);
    via = clientFor(`${s.base}/v1`);
  });
  afterAll(() => s.close());

  it('streams chat exactly as direct, without the usage chunk it asked for on the client’s behalf', async () => {
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Say hello' }],
      stream: true as const,
      seed: 3,
    };
    const a = await collect(await direct.chat.completions.create(body));
    const b = await collect(await via.chat.completions.create(body));
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.some((c) => 'usage' in (c as object))).toBe(false);
    // The simulator was asked for usage by llmscope.
    const calls = await s.waitForCalls(1);
    const call = calls.at(-1);
    expect(call?.tokenSource).toBe('usage');
    expect(call?.outputTokens).toBe(12);
  });

  it('passes the usage chunk through when the client asked for it', async () => {
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Count' }],
      stream: true as const,
      stream_options: { include_usage: true },
      seed: 4,
    };
    const a = await collect(await direct.chat.completions.create(body));
    const b = await collect(await via.chat.completions.create(body));
    expect(comparable(b)).toEqual(comparable(a));
    const last = b.at(-1) as { usage?: { completion_tokens: number }; choices: unknown[] };
    expect(last.choices).toEqual([]);
    expect(last.usage?.completion_tokens).toBe(12);
  });

  it('answers non-streaming chat, completions, embeddings and models like the upstream', async () => {
    const chatBody = { model: 'gpt-4o', messages: [{ role: 'user' as const, content: 'hi' }], seed: 5 };
    const [ca, cb] = [await direct.chat.completions.create(chatBody), await via.chat.completions.create(chatBody)];
    expect(cb.choices).toEqual(ca.choices);
    expect(cb.usage).toEqual(ca.usage);
    const compBody = { model: 'gpt-3.5-turbo-instruct', prompt: 'Once upon', seed: 6 };
    const [pa, pb] = [await direct.completions.create(compBody), await via.completions.create(compBody)];
    expect(pb.choices).toEqual(pa.choices);
    const embBody = { model: 'text-embedding-3-small', input: ['a', 'b'], dimensions: 8 };
    const [ea, eb] = [await direct.embeddings.create(embBody), await via.embeddings.create(embBody)];
    expect(eb.data).toEqual(ea.data);
    expect(eb.usage).toEqual(ea.usage);
    const models = await via.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o-mini');
  });

  it('returns x-request-id and x-llmscope-overhead-ms, continues traceparent to the upstream', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const seen = new Promise<Record<string, unknown>>((resolve) =>
      s.sim.events.once('request', (r) => resolve(r.headers as Record<string, unknown>)),
    );
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'my-req-1',
        traceparent: `00-${traceId}-00f067aa0ba902b7-01`,
        'x-llmscope-user': 'alice',
        'x-llmscope-feature': 'search',
      },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    });
    await r.body.json();
    expect(r.headers['x-request-id']).toBe('my-req-1');
    expect(Number(r.headers['x-llmscope-overhead-ms'])).toBeGreaterThanOrEqual(0);
    const upstreamHeaders = await seen;
    expect(String(upstreamHeaders.traceparent)).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    expect(upstreamHeaders['x-llmscope-user']).toBeUndefined();
    const calls = await s.waitForCalls(1);
    const call = calls.find((c) => c.requestId === 'my-req-1');
    expect(call).toMatchObject({ traceId, user: 'alice', feature: 'search', status: 'ok', httpStatus: 200 });
    // The call is in the ledger with its spans, and the spans went to the exporter.
    await s.app.ctx.recorder.flush();
    const detail = await request(`${s.base}/api/requests/my-req-1`);
    const json = (await detail.body.json()) as {
      trace_id: string;
      spans: { name: string; parent_span_id: string | null }[];
    };
    expect(json.trace_id).toBe(traceId);
    expect(json.spans.map((x) => x.name)).toEqual(
      expect.arrayContaining(['chat gpt-4o-mini', 'llmscope.route', 'llmscope.upstream.wait']),
    );
    expect(json.spans.find((x) => x.name === 'chat gpt-4o-mini')?.parent_span_id).toBe('00f067aa0ba902b7');
    const exported = exporter.getFinishedSpans().filter((sp) => sp.spanContext().traceId === traceId);
    expect(exported.find((sp) => sp.name === 'chat gpt-4o-mini')?.attributes['gen_ai.request.model']).toBe(
      'gpt-4o-mini',
    );
  });

  it('passes upstream errors through unchanged and records their status', async () => {
    const send = (base: string) =>
      request(`${base}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-simulator-fault': 'rate_limit', 'x-request-id': 'rl-1' },
        body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
      });
    const [a, b] = [await send(s.sim.url), await send(`${s.base}/v1`)];
    expect(b.statusCode).toBe(429);
    expect(b.headers['retry-after']).toBe(a.headers['retry-after']);
    expect(await b.body.json()).toEqual(await a.body.json());
    const calls = await s.waitForCalls(1);
    await s.app.ctx.recorder.flush();
    expect(calls.find((c) => c.requestId === 'rl-1')).toMatchObject({ status: 'rate_limited', httpStatus: 429 });
    const e500 = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-fault': 'server_error', 'x-request-id': 'e5-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(e500.statusCode).toBe(500);
    expect(((await e500.body.json()) as { error: { type: string } }).error.type).toBeTruthy();
    await s.app.ctx.recorder.flush();
    expect(s.calls.find((c) => c.requestId === 'e5-1')).toMatchObject({ status: 'upstream_error', httpStatus: 500 });
  });
});

describe('measurements against exact simulator delays', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 120, tpotMs: 15, outputTokens: 40 } });
  });
  afterAll(() => s.close());

  it('records TTFT and TPOT within 5 ms of the simulator and counts the call in /metrics', async () => {
    const client = clientFor(`${s.base}/v1`);
    // When the simulator actually wrote each stream's first token (llmscope sends its request id upstream): on a
    // loaded machine its timer fires late, and llmscope's TTFT is then measured against what was really sent.
    const firstSent = new Map<string, number>();
    const onFirst = (r: FirstTokenRecord) => firstSent.set(r.requestId, r.sentMs);
    s.sim.events.on('first-token', onFirst);
    // one warm-up call on another model: the first call through a fresh process also pays for JIT compilation and
    // the upstream connection, which is not what this measures
    await collect(
      await client.chat.completions.create({
        model: 'warm-up',
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    );
    for (const stream_options of [undefined, { include_usage: true }]) {
      const stream = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'Tell me a story' }],
        stream: true,
        ...(stream_options ? { stream_options } : {}),
      });
      await collect(stream);
    }
    const calls = (await s.waitForCalls(3)).filter((c) => c.model === 'gpt-4o-mini');
    expect(calls).toHaveLength(2);
    s.sim.events.off('first-token', onFirst);
    for (const c of calls) {
      expect(c.outputTokens).toBe(40);
      expect(c.ttftMs as number).toBeGreaterThanOrEqual(120);
      const sent = firstSent.get(c.requestId);
      expect(sent).toBeGreaterThanOrEqual(120);
      expect(Math.abs((c.ttftMs as number) - (sent as number))).toBeLessThan(5);
      expect(Math.abs((c.tpotMs as number) - 15)).toBeLessThan(5);
      expect(c.latencyMs).toBeGreaterThanOrEqual(120 + 39 * 15);
      expect(c.overheadMs).toBeLessThan(c.latencyMs);
    }
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    const labels = { provider: 'simulator', model: 'gpt-4o-mini' };
    expect(metricValue(m, 'llm_time_to_first_token_seconds_count', labels)).toBe(2);
    expect(metricValue(m, 'llm_time_per_output_token_seconds_count', labels)).toBe(2);
    expect(metricValue(m, 'llm_time_to_first_token_seconds_bucket', { ...labels, le: '0.1' })).toBe(0);
    expect(metricValue(m, 'llm_time_to_first_token_seconds_bucket', { ...labels, le: '0.25' })).toBe(2);
    expect(metricValue(m, 'llm_requests_total', { ...labels, status: 'ok' })).toBe(2);
    expect(metricValue(m, 'llm_tokens_total', { ...labels, type: 'output' })).toBe(80);
  });

  it('a client that disconnects mid-stream aborts the upstream within 100 ms and is recorded as cancelled', async () => {
    const ac = new AbortController();
    const cancelled = new Promise<{ at: number; requestId: string }>((resolve) => s.sim.events.once('cancel', resolve));
    const before = s.calls.length;
    const res = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'cancel-me' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'long' }], stream: true }),
      signal: ac.signal,
    });
    let text = '';
    let abortedAt = 0;
    try {
      for await (const chunk of res.body) {
        text += chunk.toString();
        // Leave after about 10 content tokens (first chunk + role chunk + 10 deltas).
        if ((text.match(/"content":"[^"]/g) ?? []).length >= 10) {
          abortedAt = performance.timeOrigin + performance.now();
          ac.abort();
        }
      }
    } catch {
      /* aborted */
    }
    const rec = await cancelled;
    expect(rec.requestId).toBe('cancel-me');
    expect(rec.at - abortedAt).toBeLessThan(100);
    const calls = await s.waitForCalls(before + 1);
    const call = calls.find((c) => c.requestId === 'cancel-me');
    expect(call?.status).toBe('cancelled');
    expect(call?.tokenSource).toBe('tokenizer');
    expect(call?.outputTokens).toBeGreaterThanOrEqual(10);
    expect(call?.outputTokens).toBeLessThan(40);
  });
});

describe('bounded cardinality, logs and failures', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0, outputTokens: 3 } });
  });
  afterAll(() => s.close());

  const chat = (headers: Record<string, string>, stream = false) =>
    request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream }),
    }).then(async (r) => {
      await r.body.text();
      return r.statusCode;
    });

  it('10,000 distinct users leave the /metrics series count unchanged, and promtool accepts the exposition', async () => {
    await chat({ 'x-llmscope-user': 'warmup' });
    await s.app.ctx.recorder.flush();
    const seriesCount = async () => {
      const text = await (await request(`${s.base}/metrics`)).body.text();
      return {
        text,
        n: text.split('\n').filter((l) => l && !l.startsWith('#') && !/^(process|nodejs)_/.test(l)).length,
      };
    };
    const before = await seriesCount();
    for (let i = 0; i < 10_000; i += 50)
      await Promise.all(Array.from({ length: 50 }, (_, j) => chat({ 'x-llmscope-user': `user-${i + j}@example.com` })));
    await s.app.ctx.recorder.flush();
    const after = await seriesCount();
    expect(after.n).toBe(before.n);
    expect(after.text).not.toContain('user-1');
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-metrics-'));
    writeFileSync(join(dir, 'm.txt'), after.text);
    // promtool exits non-zero on malformed exposition; lint warnings are printed but not errors.
    execFileSync('sh', ['-c', `promtool check metrics < ${join(dir, 'm.txt')}`], { stdio: 'pipe' });
  }, 120_000);

  it('every log line written while serving a request carries that request’s ids (no cross-talk)', async () => {
    s.logs.length = 0;
    const ids = Array.from({ length: 60 }, (_, i) => `log-${i}`);
    await Promise.all(ids.map((id, i) => chat({ 'x-request-id': id, 'x-llmscope-user': `u${i}` }, i % 2 === 0)));
    await s.app.ctx.recorder.flush();
    const completed = s.logs.filter((l) => l.event === 'request_completed' && String(l.request_id).startsWith('log-'));
    expect(completed).toHaveLength(60);
    const byId = new Map(s.calls.map((c) => [c.requestId, c]));
    for (const l of completed) {
      const c = byId.get(String(l.request_id));
      expect(l.trace_id).toBe(c?.traceId);
      expect(l.user).toBe(c?.user);
      expect(l).toMatchObject({ level: 'info', msg: 'request completed', provider: 'simulator', model: 'gpt-4o-mini' });
      expect(typeof l.time).toBe('string');
      expect(l.span_id).toMatch(/^[0-9a-f]{16}$/);
    }
    for (const l of s.logs) expect(JSON.stringify(l)).not.toContain('sk-test');
  });

  it('keeps serving when the store becomes unwritable, and counts every record it lost', async () => {
    const backend = s.app.ctx.store.backend;
    if (backend.kind !== 'sqlite') throw new Error('expected the SQLite store');
    const db = backend.db;
    const dropped = async () =>
      metricValue(
        parseMetrics(await (await request(`${s.base}/metrics`)).body.text()),
        'llmscope_recorder_dropped_total',
        {
          sink: 'store',
        },
      );
    const before = await dropped();
    db.pragma('query_only = ON');
    try {
      const statuses = await Promise.all(
        Array.from({ length: 40 }, (_, i) => chat({ 'x-request-id': `ro-${i}` }, i % 2 === 0)),
      );
      expect(statuses.every((st) => st === 200)).toBe(true);
      await s.app.ctx.recorder.flush();
      expect((await dropped()) - before).toBe(40);
    } finally {
      db.pragma('query_only = OFF');
    }
    await chat({ 'x-request-id': 'after-ro' });
    await s.app.ctx.recorder.flush();
    expect(await s.app.ctx.store.getCall('after-ro')).not.toBeNull();
    expect(await s.app.ctx.store.getCall('ro-0')).toBeNull();
  });
});

describe('bad input gets an OpenAI-shaped error that says what to fix', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      config: { server: { host: '127.0.0.1', port: 0, bodyLimit: 1024 } },
      sim: { ttftMs: 0, tpotMs: 0 },
    });
  });
  afterAll(() => s.close());

  const post = async (
    path: string,
    body: string | Buffer,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const r = await request(`${s.base}${path}`, { method: 'POST', headers, body });
    return {
      status: r.statusCode,
      json: (await r.body.json()) as { error: { message: string; type: string; code: string; param: string | null } },
    };
  };

  it.each([
    ['malformed JSON', '/v1/chat/completions', '{"model": "gpt-4o",', undefined, 400, 'invalid_json'],
    ['a non-object body', '/v1/chat/completions', '[1,2]', undefined, 400, 'invalid_body'],
    ['a missing model', '/v1/chat/completions', '{"messages": []}', undefined, 400, 'missing_model'],
    [
      'a body over the limit',
      '/v1/chat/completions',
      JSON.stringify({ model: 'm', pad: 'x'.repeat(5000) }),
      undefined,
      413,
      'request_too_large',
    ],
    [
      'a wrong content type',
      '/v1/chat/completions',
      'model=gpt-4o',
      { 'content-type': 'application/x-www-form-urlencoded' },
      415,
      'unsupported_media_type',
    ],
    ['an unknown route', '/v1/nothing', '{}', undefined, 404, 'not_found'],
  ])('%s', async (_name, path, body, headers, status, code) => {
    const r = await post(path, body, headers);
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message.length).toBeGreaterThan(10);
    expect(r.json.error.message).not.toMatch(/at .*\.ts:\d+/);
    expect(Object.keys(r.json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  });

  it('a page path that is not valid percent-encoding is a 400, not a server error', async () => {
    const r = await fetch(`${s.base}/%E0%A4%A`);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_query');
    expect(body.error.message).toContain('percent-encoding');
  });

  it('a model no provider serves is a 404 naming the model', async () => {
    const sOnly = await startStack({
      config: {
        server: { host: '127.0.0.1', port: 0 },
        providers: [{ name: 'p', baseUrl: 'http://127.0.0.1:9/v1', models: ['gpt-*'] }],
      },
    });
    try {
      const r = await request(`${sOnly.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'claude-9', messages: [] }),
      });
      expect(r.statusCode).toBe(404);
      const j = (await r.body.json()) as { error: { message: string; param: string } };
      expect(j.error.message).toContain('claude-9');
      expect(j.error.message).toContain('gpt-*');
      // And an unreachable upstream is a 502 with what to check.
      const u = await request(`${sOnly.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
      });
      expect(u.statusCode).toBe(502);
      expect(((await u.body.json()) as { error: { code: string } }).error.code).toBe('upstream_unreachable');
    } finally {
      await sOnly.close();
    }
  });

  it('survives garbage at the HTTP level', async () => {
    const net = await import('node:net');
    const url = new URL(s.base);
    await new Promise<void>((resolve) => {
      const sock = net.connect(Number(url.port), url.hostname, () => sock.end('NOT HTTP AT ALL\r\n\r\n'));
      sock.on('close', () => resolve());
      sock.on('error', () => resolve());
      sock.resume();
    });
    const ok = await request(`${s.base}/healthz`);
    expect(ok.statusCode).toBe(200);
    await ok.body.text();
  });
});
