// Privacy on every path: personal data and secrets planted in prompts and answers never reach the store (any row of
// any table), the logs, the spans sent over OTLP (captured by a test receiver), the LLM judge's requests, or what the
// API hands out (request detail and list, trace, session and user pages, the review queue, quality detail, the audit
// log); spans an instrumented app sends to /v1/traces are redacted the same way; each kind is redacted and counted in
// llmscope_redactions_total{kind}. With privacy.maskUpstream the provider itself never receives them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import type { StoreBackend } from '../../src/store/index.js';
import { metricValue, parseMetrics, type Stack, startStack } from './helpers.js';

const PII = {
  email: 'jane.doe@example.org',
  card: '4111 1111 1111 1111',
  phone: '+1 (415) 555-0132',
  iban: 'GB82 WEST 1234 5698 7654 32',
  national_id: '123-45-6789',
  ip: '203.0.113.77',
  secret: 'sk-live-abcdefghijklmnopqrstuv',
};
const planted = Object.values(PII).join(', ');
/** Distinct fragments of each planted value: none may appear anywhere. */
const LEAKS = ['jane.doe', '4111 1111', '555-0132', 'WEST 1234', '123-45-6789', '203.0.113', 'sk-live-abc'];

/** Every row of every table of the store's database, as JSON text. */
function everyRow(b: StoreBackend): string {
  if (b.kind !== 'sqlite') throw new Error('this test runs on SQLite');
  const tables = b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map(({ name }) => `${name}: ${JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all())}`)
    .join('\n');
}

/** A server that keeps every request body it gets and answers with `reply`. */
async function capture(reply: (path: string) => string): Promise<{ server: Server; url: string; bodies: string[] }> {
  const bodies: string[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(parts).toString('latin1'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(reply(req.url ?? '/'));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies };
}

describe('privacy on every path', () => {
  let s: Stack;
  let judge: Awaited<ReturnType<typeof capture>>;
  let otlp: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    judge = await capture(() =>
      JSON.stringify({
        id: 'j',
        object: 'chat.completion',
        model: 'judge-model',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: '{"verdict":"fail","score":0.8,"reason":"unsupported"}' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      }),
    );
    otlp = await capture(() => '{}');
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 8 },
      config: {
        telemetry: { logLevel: 'debug', captureContent: true, otlpEndpoint: otlp.url },
        quality: {
          reviewRate: 1,
          sampling: { judge: 1 },
          judge: { baseUrl: `${judge.url}/v1`, model: 'judge-model' },
        },
      } as never,
      app: { modules: builtinModules() },
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const c of [judge, otlp]) await new Promise((r) => c?.server.close(r));
  });

  it('redacts planted PII in prompts and answers everywhere, and counts each kind', async () => {
    const ids = ['pii-1', 'pii-2'];
    for (const [k, id] of ids.entries()) {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-request-id': id,
          'x-llmscope-session': 'pii-session',
          'x-simulator-reply': `Sure. I have noted ${planted}.`,
        },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          user: 'pii-user',
          stream: k === 1,
          messages: [
            { role: 'system', content: `Context: the customer's details are ${planted}.` },
            { role: 'user', content: `Please remember ${planted} for me.` },
          ],
        }),
      });
      // The client itself gets the upstream's answer untouched: redaction is about what llmscope keeps and sends on.
      const body = await r.body.text();
      if (k === 0) expect(body).toContain('jane.doe');
    }
    // An instrumented app's own span, sent over OTLP: personal data in its attributes and an exception event.
    const kv = (key: string, v: string | number) => ({
      key,
      value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
    });
    const t0 = BigInt(Date.now()) * 1_000_000n;
    const otlpIn = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            resource: { attributes: [kv('service.name', 'pii-app')] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'ee'.repeat(16),
                    spanId: '2000000000000001',
                    name: 'chat gpt-4o-mini',
                    kind: 3,
                    startTimeUnixNano: String(t0),
                    endTimeUnixNano: String(t0 + 500_000_000n),
                    attributes: [
                      kv('gen_ai.operation.name', 'chat'),
                      kv('gen_ai.system', 'openai'),
                      kv('gen_ai.request.model', 'gpt-4o-mini'),
                      kv('gen_ai.usage.input_tokens', 12),
                      kv('gen_ai.usage.output_tokens', 3),
                      // The user id is attribution, kept as sent (per-user spend, erase): apps send a pseudonymous one.
                      kv('enduser.id', 'otlp-user-1'),
                      kv('app.customer_email', PII.email),
                      kv('app.note', `customer said ${planted}`),
                    ],
                    events: [
                      {
                        name: 'exception',
                        timeUnixNano: String(t0),
                        attributes: [kv('exception.message', `bad ${PII.card}`)],
                      },
                    ],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(otlpIn.statusCode).toBe(200);
    await otlpIn.body.dump();
    await s.waitForCalls(3);
    await s.app.ctx.recorder.flush();
    // A later export of the same trace: a retrieval span, kept beside the call it belongs to.
    const later = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [
          {
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: 'ee'.repeat(16),
                    spanId: '2000000000000002',
                    parentSpanId: '2000000000000001',
                    name: 'retrieve customer',
                    kind: 1,
                    startTimeUnixNano: String(t0 + 600_000_000n),
                    endTimeUnixNano: String(t0 + 700_000_000n),
                    attributes: [kv('openinference.span.kind', 'RETRIEVER'), kv('db.query.text', `find ${planted}`)],
                  },
                ],
              },
            ],
          },
        ],
      }),
    });
    expect(later.statusCode).toBe(200);
    await later.body.dump();
    for (let i = 0; i < 100 && judge.bodies.length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    await s.app.ctx.recorder.flush();
    await new Promise((r) => setTimeout(r, 500));
    await s.app.ctx.recorder.flush();

    // What people write about a call is free text too: a thumbs-down comment and a reviewer's notes.
    const post = async (path: string, body: unknown) => {
      const r = await request(`${s.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(r.statusCode, path).toBeLessThan(300);
      await r.body.dump();
    };
    await post('/api/feedback', { request_id: 'pii-1', rating: 'down', comment: `it repeated ${planted}` });
    await post('/api/quality/review', { request_id: 'pii-2', hallucination: false, notes: `customer: ${planted}` });
    const text = async (path: string) => (await request(`${s.base}${path}`)).body.text();
    const call = await s.app.ctx.store.getCall('pii-1');
    const received = (await s.app.ctx.store.listCalls({ text: 'ee'.repeat(16) })).items;
    expect(received).toHaveLength(1);
    const places: Record<string, string> = {
      store: JSON.stringify(await Promise.all(ids.map((id) => s.app.ctx.store.getCall(id)))),
      tables: everyRow(s.app.ctx.store.backend),
      trace: await text(`/api/traces/${call?.traceId}`),
      otlpTrace: await text(`/api/traces/${'ee'.repeat(16)}`),
      session: await text('/api/sessions/pii-session'),
      user: await text('/api/users/pii-user'),
      quality: (await Promise.all(ids.map((id) => text(`/api/quality/requests/${id}`)))).join(),
      audit: await text('/api/audit'),
      logs: JSON.stringify(s.logs),
      otlp: otlp.bodies.join('\n'),
      judge: judge.bodies.join('\n'),
      detail: (
        await Promise.all(ids.map(async (id) => (await request(`${s.base}/api/requests/${id}`)).body.text()))
      ).join(),
      list: await (await request(`${s.base}/api/requests?limit=10`)).body.text(),
      review: await (await request(`${s.base}/api/quality/review?limit=50`)).body.text(),
    };
    // The paths were really taken: content stored, spans exported, the judge asked, the calls in review.
    expect(places.store).toContain('[redacted-email]');
    expect(places.judge).toContain('[redacted-card]');
    expect(otlp.bodies.length).toBeGreaterThan(0);
    expect(places.review).toContain('pii-');
    expect(places.session).toContain('pii-1');
    expect(places.otlpTrace).toContain('[redacted-email]');
    expect(places.otlpTrace).toContain('retrieve customer');
    for (const [where, text] of Object.entries(places))
      for (const leak of LEAKS) expect(text, `${leak} in ${where}`).not.toContain(leak);

    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    // Each call: 2 in the prompt (system + user) and 1 in the answer, for each kind.
    for (const kind of Object.keys(PII))
      expect(metricValue(m, 'llmscope_redactions_total', { kind }), kind).toBeGreaterThanOrEqual(6);
  }, 60_000);
});

describe('privacy.maskUpstream', () => {
  let s: Stack;
  let upstream: Awaited<ReturnType<typeof capture>>;
  beforeAll(async () => {
    upstream = await capture(() =>
      JSON.stringify({
        id: 'u',
        object: 'chat.completion',
        model: 'gpt-4o-mini',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Noted.' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 30, completion_tokens: 2, total_tokens: 32 },
      }),
    );
    s = await startStack({
      config: {
        providers: [{ name: 'captured', baseUrl: `${upstream.url}/v1` }],
        privacy: { maskUpstream: true },
      } as never,
    });
  });
  afterAll(async () => {
    await s?.close();
    await new Promise((r) => upstream?.server.close(r));
  });

  it('redacts the prompt before the provider gets it, counting each kind, and leaves a clean prompt as sent', async () => {
    const send = async (content: string) => {
      const r = await request(`${s.base}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'gpt-4o-mini',
          messages: [
            { role: 'system', content: 'You are a helpful assistant.' },
            { role: 'user', content },
          ],
        }),
      });
      expect(r.statusCode).toBe(200);
      return r.body.json() as Promise<{ choices: { message: { content: string } }[] }>;
    };
    const answer = await send(`Please remember ${planted} for me.`);
    expect(answer.choices[0]?.message.content).toBe('Noted.');
    expect(upstream.bodies).toHaveLength(1);
    const sent = JSON.parse(upstream.bodies[0] as string) as { model: string; messages: { content: string }[] };
    for (const leak of LEAKS) expect(upstream.bodies[0], leak).not.toContain(leak);
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.messages[1]?.content).toContain('[redacted-email]');
    expect(sent.messages[0]?.content).toBe('You are a helpful assistant.');

    const clean = '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"what is 2 + 2?"}]}';
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: clean,
    });
    await r.body.dump();
    // Nothing to mask: the client's bytes go upstream as they came.
    expect(upstream.bodies[1]).toBe(clean);

    await s.waitForCalls(2);
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    for (const kind of Object.keys(PII)) expect(metricValue(m, 'llmscope_redactions_total', { kind }), kind).toBe(1);
  });
});
