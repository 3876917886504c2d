// Gemini's `?key=` query parameter is how a Gemini client authenticates: the gateway passes it upstream with the rest
// of the query (alt=sse), and keeps it out of everything else: the stored call (every row of every table), the API's
// request list and detail, trace and user pages, the logs (at debug), the spans exported over OTLP, the metrics and
// llmscope's own error answers; on success, on the stream, on an upstream error and on llmscope's own refusals.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreBackend } from '../../src/store/index.js';
import { type Stack, startStack } from './helpers.js';

const KEY = 'AIzaSyT3st-g3mini-qu3ry-k3y-7f3a9c';
const BAD_KEY = 'AIzaSyB4d-g3mini-qu3ry-k3y-0e1d2c';
const MODEL = 'gemini-2.5-flash';

/** Every row of every table of the store's database, as JSON text. */
function everyRow(b: StoreBackend): string {
  if (b.kind !== 'sqlite') throw new Error('this test runs on SQLite');
  const tables = b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map(({ name }) => `${name}: ${JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all())}`)
    .join('\n');
}

interface Seen {
  url: string;
  body: string;
}

/** A server that keeps every request's URL and body and answers with `reply`. */
async function capture(
  reply: (url: string) => { status: number; type: string; body: string },
): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c) => parts.push(c));
    req.on('end', () => {
      seen.push({ url: req.url ?? '/', body: Buffer.concat(parts).toString('latin1') });
      const r = reply(req.url ?? '/');
      res.writeHead(r.status, { 'content-type': r.type });
      res.end(r.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const answer = (text: string, finish?: string) => ({
  candidates: [
    { content: { parts: [{ text }], role: 'model' }, index: 0, ...(finish ? { finishReason: finish } : {}) },
  ],
  usageMetadata: { promptTokenCount: 4, candidatesTokenCount: 2, totalTokenCount: 6 },
  modelVersion: MODEL,
});

/** Google's answers: an invalid key is a 400 INVALID_ARGUMENT (as the real API says it), otherwise text. */
function gemini(url: string): { status: number; type: string; body: string } {
  if (url.includes(`key=${BAD_KEY}`))
    return {
      status: 400,
      type: 'application/json',
      body: JSON.stringify({
        error: { code: 400, message: 'API key not valid. Please pass a valid API key.', status: 'INVALID_ARGUMENT' },
      }),
    };
  if (url.includes(':streamGenerateContent'))
    return {
      status: 200,
      type: 'text/event-stream',
      body: `data: ${JSON.stringify(answer('Hello'))}\r\n\r\ndata: ${JSON.stringify(answer(' there', 'STOP'))}\r\n\r\n`,
    };
  return { status: 200, type: 'application/json', body: JSON.stringify(answer('Hello there', 'STOP')) };
}

describe('gateway: Gemini ?key=', () => {
  let s: Stack;
  let upstream: Awaited<ReturnType<typeof capture>>;
  let otlp: Awaited<ReturnType<typeof capture>>;

  beforeAll(async () => {
    upstream = await capture(gemini);
    otlp = await capture(() => ({ status: 200, type: 'application/json', body: '{}' }));
    s = await startStack({
      config: {
        providers: [
          { name: 'openai-sim', baseUrl: 'http://127.0.0.1:1/v1' },
          { name: 'google', type: 'gemini', baseUrl: `${upstream.url}/v1beta`, models: ['gemini-*'] },
        ],
        telemetry: { logLevel: 'debug', captureContent: true, otlpEndpoint: otlp.url },
      } as never,
    });
  });
  afterAll(async () => {
    await s?.close();
    for (const c of [upstream, otlp]) await new Promise((r) => c?.server.close(r));
  });

  it('passes the key upstream and stores, logs, exports and answers it nowhere', async () => {
    const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }] });
    const send = async (id: string, path: string, init: { method?: string; body?: string } = {}) => {
      const r = await request(`${s.base}${path}`, {
        method: (init.method ?? 'POST') as 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': id, 'x-llmscope-user': 'gem-user' },
        body: init.method === 'GET' ? undefined : (init.body ?? body),
      });
      return { status: r.statusCode, text: await r.body.text() };
    };
    const plain = await send('gem-key-1', `/v1beta/models/${MODEL}:generateContent?key=${KEY}`);
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.text).candidates[0].content.parts[0].text).toBe('Hello there');
    const stream = await send('gem-key-2', `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse&key=${KEY}`);
    expect(stream.status).toBe(200);
    expect(stream.text).toContain('there');
    const refused = await send('gem-key-3', `/v1beta/models/${MODEL}:generateContent?key=${BAD_KEY}`);
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('API key not valid');
    // llmscope's own refusals: no provider for the model, a body that is not JSON, a GET
    const own = [
      await send('gem-key-4', `/v1beta/models/claude-x:generateContent?key=${KEY}`),
      await send('gem-key-5', `/v1beta/models/${MODEL}:generateContent?key=${KEY}`, { body: '{not json' }),
      await send('gem-key-6', `/v1beta/models/${MODEL}:generateContent?key=${KEY}`, { method: 'GET' }),
    ];
    expect(own.map((r) => r.status)).toEqual([404, 400, 405]);

    // Upstream got the key, in the query the client sent it in, with alt=sse kept for the stream.
    expect(upstream.seen.map((r) => r.url)).toEqual([
      `/v1beta/models/${MODEL}:generateContent?key=${KEY}`,
      `/v1beta/models/${MODEL}:streamGenerateContent?alt=sse&key=${KEY}`,
      `/v1beta/models/${MODEL}:generateContent?key=${BAD_KEY}`,
    ]);

    const calls = await s.waitForCalls(3);
    expect(await s.app.ctx.recorder.flush()).toBe(true);
    for (let t = 0; t < 200 && otlp.seen.length === 0; t++) await new Promise((r) => setTimeout(r, 25));
    const byId = (id: string) => calls.find((c) => c.requestId === id);
    expect(byId('gem-key-1')).toMatchObject({ provider: 'google', model: MODEL, status: 'ok', stream: false });
    expect(byId('gem-key-2')).toMatchObject({ status: 'ok', stream: true });
    expect(byId('gem-key-3')).toMatchObject({ status: 'client_error', httpStatus: 400 });
    const text = async (path: string) => (await request(`${s.base}${path}`)).body.text();
    const ids = calls.map((c) => c.requestId);
    const places: Record<string, string> = {
      calls: JSON.stringify(calls),
      tables: everyRow(s.app.ctx.store.backend),
      list: await text('/api/requests?limit=50'),
      detail: (await Promise.all(ids.map((id) => text(`/api/requests/${id}`)))).join('\n'),
      trace: await text(`/api/traces/${byId('gem-key-1')?.traceId}`),
      user: await text('/api/users/gem-user'),
      logs: JSON.stringify(s.logs),
      otlp: otlp.seen.map((r) => r.body).join('\n'),
      metrics: await text('/metrics'),
      answers: [plain, stream, refused, ...own].map((r) => r.text).join('\n'),
    };
    // The paths were really taken: the calls stored and listed, spans exported, logs written.
    expect(places.tables).toContain('gem-key-1');
    expect(places.list).toContain('gem-key-2');
    expect(places.user).toContain('gem-key-1');
    expect(places.otlp).toContain(MODEL);
    expect(s.logs.length).toBeGreaterThan(0);
    for (const [where, t] of Object.entries(places))
      for (const secret of [KEY, BAD_KEY]) expect(t, `the key in ${where}`).not.toContain(secret.slice(6));
  }, 60_000);
});
