import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { Router, sendError, sendJson } from '../http/index.js';
import { createStore, type Store } from '../store/index.js';
import { makeBareCall, makeCall, T0 } from '../store/store.contract.js';
import { type DetailExtra, registerRequestRoutes } from './requests.js';

let store: Store;
let server: Server;
let base: string;
const extras: DetailExtra[] = [];
const extraErrors: unknown[] = [];
const calls: LlmCall[] = Array.from({ length: 120 }, (_, i) => makeCall(i));

beforeAll(async () => {
  store = createStore('sqlite::memory:');
  await store.migrate();
  await store.insertCalls([...calls, makeBareCall(500), makeCall(501, { requestId: 'id with/slash' })]);
  const router = new Router();
  registerRequestRoutes(router, store, { detailExtras: extras, onExtraError: (e) => extraErrors.push(e) });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const m = router.match(req.method ?? 'GET', url.pathname);
    if (!m || m === 'method') return sendJson(res, 404, { error: { message: 'no route' } });
    Promise.resolve(m.handler({ req, res, url, params: m.params })).catch((err) => sendError(res, err));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await store.close();
});

interface Body {
  data: Record<string, unknown>[];
  next_cursor: string | null;
  error: { message: string; type: string; code: string; param: string };
  [field: string]: unknown;
}

async function get(path: string): Promise<{ status: number; body: Body }> {
  const res = await fetch(base + path);
  return { status: res.status, body: (await res.json()) as Body };
}

const ids = (body: Body) => body.data.map((c) => String(c['request_id']));

describe('GET /api/requests', () => {
  it('lists calls newest first in wire form, 50 per page by default', async () => {
    const { status, body } = await get('/api/requests');
    expect(status).toBe(200);
    expect(body.data).toHaveLength(50);
    expect(body.data[0]?.request_id).toBe('id with/slash');
    expect(body.data[1]?.request_id).toBe('req-00500');
    expect(body.data[2]).toMatchObject({
      request_id: 'req-00119',
      started_at: new Date(calls[119]!.startedAt).toISOString(),
      cached_input_tokens: calls[119]!.cachedInputTokens,
      price: { input: 2.5e-6, cached_input: 1.25e-6, output: 1e-5 },
    });
    expect(body.data[2]).not.toHaveProperty('spans');
    expect(typeof body.next_cursor).toBe('string');
  });

  it('pages with next_cursor to the end without repeats or gaps', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const qs: string = `limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const { status, body }: { status: number; body: Body } = await get(`/api/requests?${qs}`);
      expect(status).toBe(200);
      seen.push(...ids(body));
      cursor = body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(122);
    expect(new Set(seen).size).toBe(122);
  });

  it('filters by every parameter, with from/to as ISO 8601 or epoch ms', async () => {
    const from = T0 + 10_000;
    const to = T0 + 20_000;
    const window = calls
      .filter((c) => c.startedAt >= from && c.startedAt < to)
      .map((c) => c.requestId)
      .reverse();
    expect(ids((await get(`/api/requests?from=${from}&to=${to}`)).body)).toEqual(window);
    const isoFrom = new Date(from).toISOString();
    const isoTo = new Date(to).toISOString().replace('Z', '+00:00');
    expect(ids((await get(`/api/requests?from=${isoFrom}&to=${encodeURIComponent(isoTo)}`)).body)).toEqual(window);

    const check = async (qs: string, pred: (c: LlmCall) => boolean) => {
      const want = calls
        .filter(pred)
        .map((c) => c.requestId)
        .reverse();
      expect(want.length).toBeGreaterThan(0);
      expect(ids((await get(`/api/requests?limit=500&to=${T0 + 200_000}&${qs}`)).body)).toEqual(want);
    };
    await check('model=claude', (c) => c.model === 'claude');
    await check('provider=anthropic', (c) => c.provider === 'anthropic');
    await check('user=user-4&team=team-0', (c) => c.user === 'user-4' && c.team === 'team-0');
    await check('feature=feature-1', (c) => c.feature === 'feature-1');
    await check('endpoint=embeddings', (c) => c.endpoint === 'embeddings');
    await check('status=ok', () => true);
    await check('q=sess-1', (c) => (c.session ?? '').startsWith('sess-1'));
    // the slow calls (QA41): at or over the bound, a fraction of a millisecond too
    await check('min_latency_ms=900', (c) => c.latencyMs >= 900);
    await check('min_latency_ms=532.125&model=gpt-4o', (c) => c.latencyMs >= 532.125 && c.model === 'gpt-4o');
    await check('model=&q=', () => true); // empty values mean "no filter"
    expect((await get('/api/requests?status=timeout')).body).toEqual({ data: [], next_cursor: null });
  });

  const bad: [string, string, RegExp][] = [
    ['from=yesterday', 'from', /"from": expected an ISO 8601 date-time .* or epoch milliseconds, got "yesterday"/],
    ['to=2025-13-45T00:00:00Z', 'to', /"to": expected an ISO 8601/],
    ['from=-5', 'from', /"from"/],
    ['from=2000&to=1000', 'from', /"from" must be before "to"/],
    ['limit=0', 'limit', /"limit": expected an integer from 1 to 500/],
    ['limit=501', 'limit', /"limit": expected an integer from 1 to 500/],
    ['limit=ten', 'limit', /"limit": expected an integer/],
    [
      'status=broken',
      'status',
      /"status": expected one of ok, client_error, upstream_error, rate_limited, timeout, cancelled/,
    ],
    ['endpoint=chat', 'endpoint', /"endpoint": expected one of chat.completions, completions, embeddings/],
    ['cursor=not-a-cursor', 'cursor', /cursor: not a cursor from this API/],
    ['min_latency_ms=slow', 'min_latency_ms', /"min_latency_ms": expected a number of milliseconds/],
    ['min_latency_ms=-1', 'min_latency_ms', /"min_latency_ms": expected a number of milliseconds/],
  ];
  for (const [qs, param, message] of bad) {
    it(`answers 400 invalid_query naming the parameter for ${qs}`, async () => {
      const { status, body } = await get(`/api/requests?${qs}`);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_query', param });
      expect(body.error.message).toMatch(message);
    });
  }
});

describe('GET /api/requests/:id', () => {
  it('returns the record with snake_case spans, events, empty evaluations and feedback, and content', async () => {
    const c = calls[7]!;
    const { status, body } = await get(`/api/requests/${c.requestId}`);
    expect(status).toBe(200);
    expect(body).toMatchObject({ request_id: c.requestId, model: c.model, evaluations: [], feedback: [] });
    const span = c.spans[0]!;
    expect(body.spans).toEqual([
      {
        trace_id: span.traceId,
        span_id: span.spanId,
        parent_span_id: null,
        name: span.name,
        kind: 'server',
        start_time: new Date(span.startTime).toISOString(),
        end_time: new Date(span.endTime).toISOString(),
        duration_ms: Math.round((span.endTime - span.startTime) * 1000) / 1000,
        status: 'ok',
        attributes: span.attributes,
        events: [{ name: 'first_token', time: new Date(span.events[0]!.time).toISOString(), attributes: { n: 1 } }],
      },
    ]);
    expect(body.events).toEqual([
      {
        time: new Date(c.events[0]!.time).toISOString(),
        name: 'routed',
        attributes: { provider: 'openai', fallback: null },
      },
    ]);
    expect(body.content).toEqual({ input: 'hello 7', output: null });
  });

  it('leaves content out when none was captured', async () => {
    const { body } = await get('/api/requests/req-00500');
    expect(body).not.toHaveProperty('content');
    expect(body.spans).toEqual([]);
    expect(body.events).toEqual([]);
  });

  it('decodes the id from the path', async () => {
    const { status, body } = await get(`/api/requests/${encodeURIComponent('id with/slash')}`);
    expect(status).toBe(200);
    expect(body.request_id).toBe('id with/slash');
  });

  it('merges what detail extras add, and shows the call even when one fails', async () => {
    extras.push(async (id) => ({ feedback: [{ rating: 'up', request_id: id }] }));
    extras.push(async () => {
      throw new Error('quality store down');
    });
    try {
      const { status, body } = await get('/api/requests/req-00003');
      expect(status).toBe(200);
      expect(body.feedback).toEqual([{ rating: 'up', request_id: 'req-00003' }]);
      expect(body.evaluations).toEqual([]);
      expect(extraErrors.map((e) => (e as Error).message)).toEqual(['quality store down']);
    } finally {
      extras.length = 0;
    }
  });

  it('answers 404 not_found naming the id', async () => {
    const { status, body } = await get('/api/requests/nope-123');
    expect(status).toBe(404);
    expect(body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    expect(body.error.message).toMatch(/request_id "nope-123"/);
  });
});
