// The Store contract suite: every implementation (SQLite now, PostgreSQL later) runs these same tests, e.g.
// `describe.each(stores)('%s', (name, make) => storeContract(name, make))` or one `storeContract` call per store.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { arrivedInternals, CALL_STATUSES, type CallInternals, type CallStatus, type LlmCall } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { spansOf } from '../telemetry/spans.js';
import { HOUR_MS } from '../time.js';
import { count, quantile, RELATIVE_ACCURACY } from './histogram.js';
import { sumCallsByMetadata } from './metadata-query.js';
import type { CallLogRow, CallQuery, RollupPoint, Store } from './store.js';

export const T0 = Date.UTC(2025, 0, 15, 10, 0, 0);
const MIN = 60_000;

/** A complete call with every optional field filled, varied by `i`; `over` replaces any field. */
export function makeCall(i: number, over: Partial<LlmCall> = {}): LlmCall {
  const startedAt = T0 + i * 1000 + 0.25;
  const latencyMs = 100 + ((i * 37) % 900) + 0.125;
  return {
    requestId: `req-${String(i).padStart(5, '0')}`,
    traceId: `${i.toString(16).padStart(8, '0')}${'a'.repeat(24)}`,
    startedAt,
    endedAt: startedAt + latencyMs,
    provider: i % 4 === 0 ? 'anthropic' : 'openai',
    model: ['gpt-4o', 'gpt-4o-mini', 'claude'][i % 3] as string,
    endpoint: i % 5 === 0 ? 'embeddings' : 'chat.completions',
    stream: i % 2 === 0,
    status: 'ok',
    httpStatus: 200,
    errorType: i % 10 === 9 ? 'server_error' : null,
    errorMessage: i % 10 === 9 ? `The server had an error while processing your request (${i}).` : null,
    user: `user-${i % 7}`,
    team: `team-${i % 2}`,
    feature: i % 3 === 0 ? null : `feature-${i % 3}`,
    session: `sess-${Math.floor(i / 10)}`,
    apiKeyId: `key-${i % 3}`,
    upstreamRequestId: i % 4 === 1 ? `req_up${String(i).padStart(5, '0')}` : null,
    inputTokens: 100 + i,
    outputTokens: 20 + (i % 50),
    cachedInputTokens: i % 4,
    cacheWriteInputTokens: i % 3,
    reasoningTokens: i % 3 === 0 ? 5 : null,
    tokenSource: i % 2 === 0 ? 'usage' : 'tokenizer',
    ttftMs: i % 2 === 0 ? 40 + (i % 13) + 0.5 : null,
    tpotMs: i % 2 === 0 ? 10 + (i % 5) / 4 : null,
    latencyMs,
    overheadMs: 0.75 + (i % 3),
    costUsd: (100 + i) * 2.5e-6 + (20 + (i % 50)) * 1e-5,
    price: { input: 2.5e-6, cachedInput: 1.25e-6, output: 1e-5, source: 'catalog:openai/gpt-4o@2024-08-06' },
    finishReason: 'stop',
    refusal: i % 11 === 0,
    requestBytes: 512 + i,
    responseBytes: 2048 + i,
    source: i % 6 === 0 ? 'ingest' : 'gateway',
    spans: [
      {
        traceId: `${i.toString(16).padStart(8, '0')}${'a'.repeat(24)}`,
        spanId: 'b'.repeat(16),
        parentSpanId: null,
        name: 'chat gpt-4o',
        kind: 'server',
        startTime: startedAt,
        endTime: startedAt + latencyMs,
        status: 'ok',
        attributes: { 'gen_ai.request.model': 'gpt-4o', 'gen_ai.usage.input_tokens': 100 + i, 'llmscope.stream': true },
        events: [{ name: 'first_token', time: startedAt + 40, attributes: { n: 1 } }],
      },
    ],
    events: [{ time: startedAt + 1, name: 'routed', attributes: { provider: 'openai', fallback: null } }],
    content: { input: `hello ${i}`, output: i % 2 === 0 ? `world ${i}` : null },
    metadata: i % 3 === 0 ? null : { tenant: `tenant-${i % 4}`, 'exp.arm': i % 2 === 0 ? 'a' : 'b' },
    ...over,
  };
}

/**
 * A gateway call as the recorder has it after its enrichers, spans not built: makeCall's fields with `over`, and the
 * timing marks and upstream facts the gateway sets on it, with `marks`.
 */
export function withGatewayMarks(i: number, over: Partial<LlmCall> = {}, marks: Partial<CallInternals> = {}): LlmCall {
  const c = makeCall(i, { spans: [], ...over });
  const t = c.startedAt;
  c.internal = {
    ...arrivedInternals(t, `a4ab22519644e6${(16 + (i % 200)).toString(16).padStart(2, '0')}`, '71f3642aa373a05c', null),
    routedAt: t + 0.0439453125,
    upstreamStartAt: t + 0.0478515625,
    upstreamHeadersAt: t + 17.600830078125,
    upstreamEndAt: c.endedAt - 0.0252,
    firstContentAt: c.stream ? t + 18.25 : null,
    params: { max_tokens: 256, temperature: 0.7 },
    serverAddress: '127.0.0.1',
    serverPort: 19390,
    responseModel: 'gpt-4o-mini-2024-07-18',
    responseId: `chatcmpl-${i}`,
    ...marks,
  };
  return c;
}

/** The gateway's kinds of call, for tests of how their spans are stored: name, then withGatewayMarks' arguments. */
export const GATEWAY_CALL_KINDS: readonly [string, number, Partial<LlmCall>, Partial<CallInternals>][] = [
  ['non-streamed', 1, {}, {}],
  ['streamed, first token, ttft and tpot', 2, {}, {}],
  ['cancelled mid-stream', 4, { status: 'cancelled', httpStatus: 499, finishReason: null }, {}],
  [
    'upstream error before headers (no response span), error type',
    3,
    { status: 'upstream_error', httpStatus: 502, errorType: 'upstream_unreachable', outputTokens: null },
    { upstreamHeadersAt: null, upstreamEndAt: null, serverPort: null, responseModel: null, responseId: null },
  ],
  [
    'refused before routing (no route or upstream span)',
    5,
    { status: 'client_error', httpStatus: 400, inputTokens: null, outputTokens: null, user: null, team: null },
    { routedAt: null, upstreamStartAt: null, upstreamHeadersAt: null, upstreamEndAt: null, params: {} },
  ],
  ['a parent span from traceparent, reasoning and cache tokens', 6, {}, { parentSpanId: '00f067aa0ba902b7' }],
  ['embeddings, no finish reason', 10, { endpoint: 'embeddings', finishReason: null, outputTokens: 0 }, {}],
  // a WebSocket upgrade upstream: its upstream span's http.request.method is GET
  ['a Realtime response', 11, { endpoint: 'realtime', stream: true }, {}],
];

/** The same call with every nullable field null and every list empty. */
export function makeBareCall(i: number): LlmCall {
  return makeCall(i, {
    traceId: null,
    errorType: null,
    user: null,
    team: null,
    feature: null,
    session: null,
    apiKeyId: null,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheWriteInputTokens: null,
    reasoningTokens: null,
    tokenSource: null,
    ttftMs: null,
    tpotMs: null,
    costUsd: null,
    price: null,
    finishReason: null,
    spans: [],
    events: [],
    content: null,
    metadata: null,
  });
}

const exactQuantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(q * (sorted.length - 1))] as number;
};
const withinError = (got: number | null, exact: number) => {
  expect(got).not.toBeNull();
  expect(Math.abs((got as number) - exact) / exact).toBeLessThanOrEqual(RELATIVE_ACCURACY * (1 + 1e-9));
};
const newestFirst = (a: LlmCall, b: LlmCall) =>
  b.startedAt - a.startedAt || (a.requestId < b.requestId ? 1 : a.requestId > b.requestId ? -1 : 0);

async function listAll(store: Store, q: CallQuery): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await store.listCalls({ ...q, cursor });
    pages++;
    ids.push(...page.items.map((c) => c.requestId));
    if (!page.nextCursor) return { ids, pages };
    expect(page.items.length).toBe(q.limit ?? 50);
    cursor = page.nextCursor;
    if (pages > 1000) throw new Error('pagination does not end');
  }
}

const sumOf = (points: RollupPoint[], f: (p: RollupPoint) => number) => points.reduce((a, p) => a + f(p), 0);

export function storeContract(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('backend handle (what capabilities keep their tables on)', () => {
      it('names its kind, and applies a namespace of migrations at once after migrate(), read back through it', async () => {
        const b = store.backend;
        expect(b.kind).toBe(store.kind);
        const up = 'CREATE TABLE contract_probe (v integer NOT NULL)';
        let values: number[];
        if (b.kind === 'sqlite') {
          b.migrations.register('contract.probe', [{ version: 1, name: 'probe', up }]);
          b.db.prepare('INSERT INTO contract_probe (v) VALUES (?), (?)').run(1, 2);
          values = (b.db.prepare('SELECT v FROM contract_probe ORDER BY v').all() as { v: number }[]).map((r) => r.v);
        } else {
          await b.migrations.register('contract.probe', [{ version: 1, name: 'probe', up }]);
          await b.pool.query('INSERT INTO contract_probe (v) VALUES (1), (2)');
          values = (await b.pool.query<{ v: number }>('SELECT v FROM contract_probe ORDER BY v')).rows.map((r) => r.v);
          expect(typeof b.leader({ name: 'contract', intervalMs: 1000 }).start).toBe('function');
        }
        expect(values).toEqual([1, 2]);
        // the core namespace is the store's own
        const core = async () => {
          if (b.kind === 'sqlite') b.migrations.register('core', []);
          else await b.migrations.register('core', []);
        };
        await expect(core()).rejects.toThrow(/belongs to the store/);
      });
    });

    describe('insert and read back', () => {
      it('round-trips every field of a call, filled or null', async () => {
        const full = makeCall(12);
        const bare = makeBareCall(13);
        await store.insertCalls([full, bare]);
        expect(await store.getCall(full.requestId)).toEqual(full);
        expect(await store.getCall(bare.requestId)).toEqual(bare);
        for (const st of CALL_STATUSES) {
          const c = makeCall(100, { requestId: `st-${st}`, status: st, httpStatus: 499 });
          await store.insertCalls([c]);
          expect((await store.getCall(c.requestId))?.status).toBe(st);
        }
      });

      it('reads back the spans the gateway built for a call exactly (SQLite keeps them in the gateway form)', async () => {
        const calls = (['ok', 'cancelled', 'upstream_error'] as const).map((status, k) => {
          const c = makeCall(20 + k, { status, spans: [] });
          c.internal = {
            ...arrivedInternals(
              c.startedAt,
              `a4ab22519644e6${k}f`,
              '71f3642aa373a05c',
              k === 1 ? null : 'b'.repeat(16),
            ),
            routedAt: c.startedAt + 0.04,
            upstreamStartAt: c.startedAt + 0.05,
            upstreamHeadersAt: status === 'upstream_error' ? null : c.startedAt + 17.6,
            upstreamEndAt: c.endedAt - 0.02,
            firstContentAt: c.stream ? c.startedAt + 18 : null,
            params: { max_tokens: 64 },
            serverAddress: '127.0.0.1',
            serverPort: 8080,
            responseModel: 'gpt-4o-2024-08-06',
            responseId: `chatcmpl-${k}`,
          };
          c.spans = spansOf(c);
          delete c.internal;
          return c;
        });
        await store.insertCalls(calls);
        for (const c of calls) {
          const back = await store.getCall(c.requestId);
          expect(back?.spans).toStrictEqual(c.spans);
          expect(back).toEqual(c);
        }
        const page = await store.listCalls({ limit: 10 });
        for (const c of calls) expect(page.items.find((x) => x.requestId === c.requestId)).toEqual(c);
      });

      it('never stores the hot-path scratch (internal)', async () => {
        const c = makeCall(1);
        const withInternals = { ...c, internal: { arrivalAt: 1, promptText: 'secret prompt' } } as unknown as LlmCall;
        await store.insertCalls([withInternals]);
        const back = await store.getCall(c.requestId);
        expect(back).toEqual(c);
        expect(back && 'internal' in back).toBe(false);
      });

      it('returns null for an unknown id and accepts an empty batch', async () => {
        await store.insertCalls([]);
        expect(await store.getCall('nope')).toBeNull();
      });

      it('ignores duplicate request ids, across batches and within one, without double counting rollups', async () => {
        const a = makeCall(1);
        await store.insertCalls([a]);
        await store.insertCalls([a, { ...a, model: 'changed', latencyMs: 5 }]);
        await store.insertCalls([makeCall(2), makeCall(2)]);
        expect((await store.getCall(a.requestId))?.model).toBe(a.model);
        expect((await store.listCalls({})).items.map((c) => c.requestId)).toEqual(['req-00002', 'req-00001']);
        for (const step of ['minute', 'hour'] as const) {
          const points = await store.queryRollups({ from: T0 - HOUR_MS, to: T0 + HOUR_MS, step });
          expect(sumOf(points, (p) => p.requests)).toBe(2);
          expect(sumOf(points, (p) => count(p.latency))).toBe(2);
          expect(sumOf(points, (p) => p.inputTokens)).toBe(a.inputTokens! + makeCall(2).inputTokens!);
        }
      });

      it('tells which request ids it already holds, in batches larger than one statement takes', async () => {
        await store.insertCalls([makeCall(1), makeCall(2)]);
        expect(await store.knownIds([])).toEqual(new Set());
        const many = [...Array.from({ length: 1200 }, (_, i) => `other-${i}`), makeCall(2).requestId, 'nope'];
        expect(await store.knownIds(many)).toEqual(new Set([makeCall(2).requestId]));
        expect(await store.knownIds([makeCall(1).requestId, makeCall(1).requestId])).toEqual(
          new Set([makeCall(1).requestId]),
        );
      });

      it('rejects inserts once closed (the recorder counts them as dropped), and ping turns false', async () => {
        expect(await store.ping()).toBe(true);
        await store.close();
        await expect(store.insertCalls([makeCall(1)])).rejects.toThrow();
        expect(await store.ping()).toBe(false);
        await store.close(); // idempotent
      });
    });

    describe('listCalls', () => {
      // 250 calls; every 10th shares its start time with the one before, to test the cursor's tie-break.
      const calls = Array.from({ length: 250 }, (_, i) =>
        makeCall(i, {
          startedAt: T0 + (i - (i % 10 === 9 ? 1 : 0)) * 1000,
          status: (['ok', 'ok', 'ok', 'timeout', 'rate_limited', 'cancelled'] as CallStatus[])[i % 6] as CallStatus,
        }),
      );
      const expected = (pred: (c: LlmCall) => boolean) =>
        calls
          .filter(pred)
          .sort(newestFirst)
          .map((c) => c.requestId);
      beforeEach(async () => {
        // out of order and in several batches, as the recorder would deliver them
        const shuffled = [...calls].sort((a, b) => ((a.inputTokens! * 7919) % 250) - ((b.inputTokens! * 7919) % 250));
        for (let i = 0; i < shuffled.length; i += 64) await store.insertCalls(shuffled.slice(i, i + 64));
      });

      it('pages through everything newest first with no duplicates and no gaps', async () => {
        const { ids, pages } = await listAll(store, { limit: 37 });
        expect(ids).toEqual(expected(() => true));
        expect(new Set(ids).size).toBe(250);
        expect(pages).toBe(Math.ceil(250 / 37));
      });

      it('defaults to 50 per page and caps the page at 500', async () => {
        expect((await store.listCalls({})).items).toHaveLength(50);
        expect((await store.listCalls({ limit: 10_000 })).items).toHaveLength(250);
        const exact = await store.listCalls({ limit: 250 });
        expect(exact.items).toHaveLength(250);
        expect(exact.nextCursor).toBeNull();
      });

      const filters: [string, CallQuery, (c: LlmCall) => boolean][] = [
        ['model', { model: 'gpt-4o-mini' }, (c) => c.model === 'gpt-4o-mini'],
        ['provider', { provider: 'anthropic' }, (c) => c.provider === 'anthropic'],
        ['status', { status: 'timeout' }, (c) => c.status === 'timeout'],
        ['user', { user: 'user-3' }, (c) => c.user === 'user-3'],
        ['team', { team: 'team-1' }, (c) => c.team === 'team-1'],
        ['feature', { feature: 'feature-2' }, (c) => c.feature === 'feature-2'],
        ['endpoint', { endpoint: 'embeddings' }, (c) => c.endpoint === 'embeddings'],
        ['virtual key', { apiKeyId: 'key-1' }, (c) => c.apiKeyId === 'key-1'],
        ['provider request id', { upstreamRequestId: 'req_up00013' }, (c) => c.upstreamRequestId === 'req_up00013'],
        // the slow calls (QA41): at or over a latency, the bound itself included
        // 532.125 ms is call 36's latency exactly (makeCall: 100 + (i × 37 mod 900) + 0.125)
        ['min latency', { minLatencyMs: 532.125 }, (c) => c.latencyMs >= 532.125],
        [
          'min latency with a model',
          { minLatencyMs: 800, model: 'gpt-4o' },
          (c) => c.latencyMs >= 800 && c.model === 'gpt-4o',
        ],
        [
          'from (inclusive) / to (exclusive)',
          { from: T0 + 50_000, to: T0 + 120_000 },
          (c) => c.startedAt >= T0 + 50_000 && c.startedAt < T0 + 120_000,
        ],
        ['id prefix: request_id', { text: 'req-0012' }, (c) => c.requestId.startsWith('req-0012')],
        ['id prefix: trace_id', { text: '000000f' }, (c) => (c.traceId ?? '').startsWith('000000f')],
        ['id prefix: session', { text: 'sess-2' }, (c) => (c.session ?? '').startsWith('sess-2')],
        [
          'id prefix: upstream_request_id',
          { text: 'req_up001' },
          (c) => (c.upstreamRequestId ?? '').startsWith('req_up001'),
        ],
        [
          'id prefix with a time range',
          { text: 'sess-1', from: T0 + 150_000 },
          (c) => (c.session ?? '').startsWith('sess-1') && c.startedAt >= T0 + 150_000,
        ],
        ['text inside an id but not at its start (no match)', { text: '0012' }, () => false],
        ['text with LIKE wildcards (no match)', { text: '%_' }, () => false],
        [
          'several at once',
          { model: 'gpt-4o', team: 'team-0', status: 'ok', from: T0 + 20_000 },
          (c) => c.model === 'gpt-4o' && c.team === 'team-0' && c.status === 'ok' && c.startedAt >= T0 + 20_000,
        ],
      ];
      for (const [what, q, pred] of filters) {
        it(`filters by ${what}, paging the same way`, async () => {
          const want = expected(pred);
          if (!what.endsWith('(no match)')) expect(want.length).toBeGreaterThan(0);
          expect((await listAll(store, { ...q, limit: 7 })).ids).toEqual(want);
        });
      }

      it('finds ids whose next character past the prefix is past U+FFFF (an emoji) or U+FFFF itself', async () => {
        // the range's end was prefix + U+FFFF: UTF-8 bytes EF BF BF, below an emoji's F0 ..., so `q=` missed them
        const ids = ['pfx-\u{1F600}', 'pfx-\uffff1', 'pfx-\u{10FFFF}', 'pfx-a', 'pfy-a'];
        await store.insertCalls(ids.map((id, i) => makeCall(500 + i, { requestId: id, session: `s-\u{1F600}${i}` })));
        const found = async (text: string) => (await listAll(store, { text, limit: 2 })).ids.sort();
        expect(await found('pfx-')).toEqual(ids.slice(0, 4).sort());
        expect(await found('pfx-\u{1F600}')).toEqual(['pfx-\u{1F600}']);
        expect(await found('pfx-\u{10FFFF}')).toEqual(['pfx-\u{10FFFF}']);
        expect(await found('s-')).toEqual([...ids].sort());
      });

      it('rejects a cursor it did not hand out with an invalid-query error', async () => {
        for (const cursor of ['garbage', Buffer.from('[1,2]').toString('base64url')]) {
          const err = await store.listCalls({ cursor }).catch((e: unknown) => e);
          expect(err).toBeInstanceOf(LlmscopeError);
          expect((err as LlmscopeError).code).toBe('LLMSCOPE_ERR_INVALID_QUERY');
        }
      });

      it('a cursor keeps its place while newer calls arrive', async () => {
        const first = await store.listCalls({ limit: 100 });
        await store.insertCalls([makeCall(999, { startedAt: T0 + 10 * HOUR_MS })]);
        const second = await store.listCalls({ limit: 100, cursor: first.nextCursor ?? undefined });
        expect(second.items[0]?.requestId).toBe(expected(() => true)[100]);
      });
    });

    describe('rollups', () => {
      // 3 hours of traffic, one call every 20 s, spread over models, features and statuses.
      const statuses: CallStatus[] = [
        'ok',
        'ok',
        'ok',
        'ok',
        'client_error',
        'upstream_error',
        'rate_limited',
        'timeout',
        'cancelled',
      ];
      const calls = Array.from({ length: 540 }, (_, i) =>
        makeCall(i, {
          startedAt: T0 + i * 20_000 + 7,
          status: statuses[i % statuses.length] as CallStatus,
          latencyMs: Math.exp(5 + ((i * 7919) % 1000) / 250), // 150 ms .. 8 s, spread
        }),
      );
      beforeEach(async () => {
        for (let i = 0; i < calls.length; i += 100) await store.insertCalls(calls.slice(i, i + 100));
      });
      const all = { from: T0, to: T0 + 3 * HOUR_MS };

      it('count requests, tokens, cost, refusals and statuses, the same at minute and hour step', async () => {
        for (const step of ['minute', 'hour'] as const) {
          const points = await store.queryRollups({ ...all, step });
          expect(points.length).toBe(step === 'minute' ? 180 : 3);
          expect(sumOf(points, (p) => p.requests)).toBe(540);
          expect(sumOf(points, (p) => p.inputTokens)).toBe(calls.reduce((a, c) => a + c.inputTokens!, 0));
          expect(sumOf(points, (p) => p.outputTokens)).toBe(calls.reduce((a, c) => a + c.outputTokens!, 0));
          expect(sumOf(points, (p) => p.cachedInputTokens)).toBe(calls.reduce((a, c) => a + c.cachedInputTokens!, 0));
          expect(sumOf(points, (p) => p.costUsd)).toBeCloseTo(
            calls.reduce((a, c) => a + c.costUsd!, 0),
            9,
          );
          expect(sumOf(points, (p) => p.refusals)).toBe(calls.filter((c) => c.refusal).length);
          for (const st of CALL_STATUSES)
            expect(sumOf(points, (p) => p.statuses[st] ?? 0)).toBe(calls.filter((c) => c.status === st).length);
          // errors = client_error + upstream_error + rate_limited + timeout; cancelled is not an error
          expect(sumOf(points, (p) => p.errors)).toBe(240);
          expect(sumOf(points, (p) => count(p.ttft))).toBe(calls.filter((c) => c.ttftMs !== null).length);
          expect(sumOf(points, (p) => count(p.tpot))).toBe(calls.filter((c) => c.tpotMs !== null).length);
        }
      });

      it('place each call in the bucket of its start time, bucket starts aligned to the step', async () => {
        const minute = await store.queryRollups({ ...all, step: 'minute' });
        expect(minute.every((p) => p.t % MIN === 0 && p.requests === 3)).toBe(true);
        expect(minute[0]?.t).toBe(T0);
        const hour = await store.queryRollups({ ...all, step: 'hour' });
        expect(hour.map((p) => [p.t, p.requests])).toEqual([
          [T0, 180],
          [T0 + HOUR_MS, 180],
          [T0 + 2 * HOUR_MS, 180],
        ]);
        // from inclusive, to exclusive, on bucket starts
        const window = await store.queryRollups({ from: T0 + 10 * MIN, to: T0 + 15 * MIN, step: 'minute' });
        expect(window.map((p) => p.t)).toEqual([10, 11, 12, 13, 14].map((m) => T0 + m * MIN));
      });

      it('group by model and feature; a missing feature is an absent group value', async () => {
        const points = await store.queryRollups({ ...all, step: 'hour', groupBy: ['model', 'feature'] });
        const totals = new Map<string, number>();
        for (const p of points) {
          const k = `${p.group.model}|${p.group.feature ?? '-'}`;
          totals.set(k, (totals.get(k) ?? 0) + p.requests);
          expect(Object.keys(p.group).every((d) => d === 'model' || d === 'feature')).toBe(true);
        }
        const want = new Map<string, number>();
        for (const c of calls) {
          const k = `${c.model}|${c.feature ?? '-'}`;
          want.set(k, (want.get(k) ?? 0) + 1);
        }
        expect(totals).toEqual(want);
        const noFeature = points.find((p) => p.group.feature === undefined);
        expect(noFeature && !('feature' in noFeature.group)).toBe(true);
        // one point per (t, group)
        const keys = points.map((p) => `${p.t}|${p.group.model}|${p.group.feature}`);
        expect(new Set(keys).size).toBe(keys.length);
      });

      it('filter by dimensions', async () => {
        const points = await store.queryRollups({
          ...all,
          step: 'minute',
          filter: { model: 'claude', team: 'team-1' },
        });
        expect(sumOf(points, (p) => p.requests)).toBe(
          calls.filter((c) => c.model === 'claude' && c.team === 'team-1').length,
        );
        expect(points.every((p) => Object.keys(p.group).length === 0)).toBe(true);
        const none = await store.queryRollups({ ...all, step: 'minute', filter: { provider: 'nobody' } });
        expect(none).toEqual([]);
      });

      it('answer p50/p95/p99 latency within the histogram error of the exact raw quantiles, at both steps', async () => {
        for (const step of ['minute', 'hour'] as const) {
          const points = await store.queryRollups({ ...all, step });
          const merged = points.reduce<Record<number, number>>((h, p) => {
            for (const [k, v] of Object.entries(p.latency)) h[Number(k)] = (h[Number(k)] ?? 0) + v;
            return h;
          }, {});
          for (const q of [0.5, 0.95, 0.99])
            withinError(
              quantile(merged, q),
              exactQuantile(
                calls.map((c) => c.latencyMs),
                q,
              ),
            );
        }
        const gpt = await store.queryRollups({ ...all, step: 'hour', groupBy: ['model'], filter: { model: 'gpt-4o' } });
        const ttft = gpt.reduce<Record<number, number>>((h, p) => {
          for (const [k, v] of Object.entries(p.ttft)) h[Number(k)] = (h[Number(k)] ?? 0) + v;
          return h;
        }, {});
        const raw = calls.filter((c) => c.model === 'gpt-4o' && c.ttftMs !== null).map((c) => c.ttftMs as number);
        withinError(quantile(ttft, 0.95), exactQuantile(raw, 0.95));
      });

      it('refuse to filter or group by anything but the rollup dimensions', async () => {
        for (const q of [
          { ...all, step: 'minute' as const, filter: { user: 'x' } as never },
          { ...all, step: 'minute' as const, groupBy: ['t; DROP TABLE calls'] as never },
        ]) {
          const err = await store.queryRollups(q).catch((e: unknown) => e);
          expect((err as LlmscopeError).code).toBe('LLMSCOPE_ERR_INVALID_QUERY');
        }
      });

      it('add up across batches into the same bucket', async () => {
        const extra = Array.from({ length: 10 }, (_, i) => makeCall(5000 + i, { startedAt: T0 + 30, latencyMs: 1 }));
        await store.insertCalls(extra.slice(0, 4));
        await store.insertCalls(extra.slice(4));
        const [first] = await store.queryRollups({ from: T0, to: T0 + MIN, step: 'minute' });
        expect(first?.requests).toBe(13);
        expect(count(first?.latency ?? {})).toBe(13);
        expect(quantile(first?.latency ?? {}, 0)).toBeCloseTo(1, 1);
      });
    });

    describe('retention', () => {
      it('deletes raw calls, minute and hour rollups older than their own cut-offs, and nothing newer', async () => {
        // one call every 10 minutes for 10 hours, all under one rollup key (so one rollup row per bucket)
        const same = {
          provider: 'openai',
          model: 'gpt-4o',
          endpoint: 'chat.completions',
          feature: 'f',
          team: 't',
        } as const;
        const calls = Array.from({ length: 60 }, (_, i) => makeCall(i, { ...same, startedAt: T0 + i * 10 * MIN }));
        await store.insertCalls(calls.slice(0, 30));
        await store.insertCalls(calls.slice(30));
        const r = await store.applyRetention({
          rawBefore: T0 + 5 * HOUR_MS, // calls 0..29 go
          minuteBefore: T0 + 8 * HOUR_MS, // minute rows 0..47 go
          hourBefore: T0 + 2 * HOUR_MS, // hour rows 0,1 go
        });
        expect(r.deletedCalls).toBe(30);
        expect(r.deletedRollups).toBe(48 + 2);
        const { ids } = await listAll(store, { limit: 500 });
        expect(ids).toEqual(
          calls
            .slice(30)
            .sort(newestFirst)
            .map((c) => c.requestId),
        );
        const minute = await store.queryRollups({ from: 0, to: T0 + 24 * HOUR_MS, step: 'minute' });
        expect(minute.map((p) => p.t)).toEqual(calls.slice(48).map((c) => c.startedAt));
        const hour = await store.queryRollups({ from: 0, to: T0 + 24 * HOUR_MS, step: 'hour' });
        expect(hour.map((p) => p.t)).toEqual([2, 3, 4, 5, 6, 7, 8, 9].map((h) => T0 + h * HOUR_MS));
        expect(sumOf(hour, (p) => p.requests)).toBe(48);
        const again = await store.applyRetention({
          rawBefore: T0 + 5 * HOUR_MS,
          minuteBefore: T0 + 8 * HOUR_MS,
          hourBefore: T0 + 2 * HOUR_MS,
        });
        expect(again).toEqual({ deletedCalls: 0, deletedRollups: 0 });
      });
    });

    describe('call log lines', () => {
      const row = (requestId: string, at: number, seq: number, line: string | null, dropped = 0): CallLogRow => ({
        requestId,
        at,
        seq,
        line,
        dropped,
      });
      it("reads a call's lines back in time order, at most `limit`, the rest and the cap's counts as dropped", async () => {
        await store.insertCallLogs([
          row('a', T0 + 2, 3, '{"n":3}'),
          row('b', T0, 1, '{"b":1}'),
          row('a', T0 + 1, 2, '{"n":2}'),
          row('a', T0 + 1, 1, '{"n":1,"s":"é \\" \\u0000"}'),
        ]);
        await store.insertCallLogs([row('a', T0 + 3, 9, null, 4)]);
        expect(await store.callLogs('a', 50)).toEqual({
          lines: ['{"n":1,"s":"é \\" \\u0000"}', '{"n":2}', '{"n":3}'],
          dropped: 4,
        });
        expect(await store.callLogs('a', 2)).toEqual({ lines: ['{"n":1,"s":"é \\" \\u0000"}', '{"n":2}'], dropped: 5 });
        expect(await store.callLogs('none', 50)).toEqual({ lines: [], dropped: 0 });
        await store.insertCallLogs([]);
      });

      it('go with their call (deleteCalls, an erase) and with retention of raw calls', async () => {
        const calls = [makeCall(1), makeCall(2), makeCall(3)];
        await store.insertCalls(calls);
        const [c1, c2, c3] = calls.map((c) => c.requestId) as [string, string, string];
        await store.insertCallLogs([
          row(c1, T0 + 1000, 1, '{"x":1}'),
          row(c2, T0 + 2000, 2, '{"x":2}'),
          row(c2, T0 + 2000, 3, null, 1),
          row(c3, T0 + 10 * MIN, 4, '{"x":3}'),
        ]);
        expect(await store.deleteCalls([c2])).toBe(1);
        expect(await store.callLogs(c2, 50)).toEqual({ lines: [], dropped: 0 });
        expect((await store.callLogs(c1, 50)).lines).toEqual(['{"x":1}']);
        await store.applyRetention({ rawBefore: T0 + 5 * MIN, minuteBefore: 0, hourBefore: 0 });
        expect((await store.callLogs(c1, 50)).lines).toEqual([]);
        expect((await store.callLogs(c3, 50)).lines).toEqual(['{"x":3}']);
      });
    });

    describe('metadata', () => {
      const meta = (i: number): Record<string, string> | null =>
        i % 5 === 0 ? null : { tenant: `t${i % 3}`, 'exp.arm': i % 2 === 0 ? 'a' : 'b', "o'k": 'q"uote' };
      const calls = Array.from({ length: 60 }, (_, i) =>
        makeCall(i, { metadata: meta(i), costUsd: i % 7 === 0 ? null : 0.001 * (i + 1), price: null }),
      );

      it('round-trips keys with any token character, values with quotes and NUL-free text', async () => {
        const c = makeCall(1, { metadata: { "a!#$%&'*+.^_`|~-z": 'x "y" \\ z', unicode: 'żółw ✓' } });
        await store.insertCalls([c]);
        expect((await store.getCall(c.requestId))?.metadata).toEqual(c.metadata);
      });

      it('reads keys back in byte order on every engine, from getCall and listCalls', async () => {
        // SQLite kept the order the call gave (zz, aaa, b), PostgreSQL's jsonb its own (b, zz, aaa)
        const c = makeCall(1, { metadata: { zz: '1', aaa: '2', b: '3' } });
        await store.insertCalls([c]);
        expect(Object.keys((await store.getCall(c.requestId))?.metadata ?? {})).toEqual(['aaa', 'b', 'zz']);
        expect(Object.keys((await store.listCalls({})).items[0]?.metadata ?? {})).toEqual(['aaa', 'b', 'zz']);
      });

      it('filters listCalls by every given key → value pair, paging the same way, beside other filters', async () => {
        await store.insertCalls(calls);
        const want = (f: (i: number) => boolean) =>
          calls
            .filter((_, i) => f(i))
            .sort(newestFirst)
            .map((c) => c.requestId);
        const t1 = (i: number) => i % 5 !== 0 && i % 3 === 1;
        expect((await listAll(store, { metadata: { tenant: 't1' }, limit: 4 })).ids).toEqual(want(t1));
        expect((await listAll(store, { metadata: { tenant: 't1', 'exp.arm': 'a' }, limit: 3 })).ids).toEqual(
          want((i) => t1(i) && i % 2 === 0),
        );
        expect((await listAll(store, { metadata: { tenant: 't1' }, team: 'team-1' })).ids).toEqual(
          want((i) => t1(i) && i % 2 === 1),
        );
        expect((await listAll(store, { metadata: { "o'k": 'q"uote' } })).ids).toEqual(want((i) => i % 5 !== 0));
        expect((await store.listCalls({ metadata: { tenant: 'nobody' } })).items).toEqual([]);
        await expect(store.listCalls({ metadata: { 'Bad Key': 'x' } })).rejects.toBeInstanceOf(LlmscopeError);
      });

      it('sums spend per value of one key over a time range, calls without the key as null, largest first', async () => {
        await store.insertCalls(calls);
        const to = T0 + 50 * 1000;
        const rows = await sumCallsByMetadata(store.backend, { from: T0, to, key: 'tenant' });
        const inRange = calls.filter((c) => c.startedAt < to);
        const expected = new Map<string | null, { requests: number; cost: number; input: number }>();
        for (const c of inRange) {
          const k = c.metadata?.['tenant'] ?? null;
          const e = expected.get(k) ?? { requests: 0, cost: 0, input: 0 };
          e.requests++;
          e.cost += c.costUsd ?? 0;
          e.input += c.inputTokens ?? 0;
          expected.set(k, e);
        }
        expect(rows.map((r) => r.value).sort()).toEqual([...expected.keys()].sort());
        for (const r of rows) {
          const e = expected.get(r.value);
          expect(r.requests).toBe(e?.requests);
          expect(r.costUsd).toBeCloseTo(e?.cost ?? -1, 9);
          expect(r.inputTokens).toBe(e?.input);
        }
        expect(rows.reduce((a, r) => a + r.unpriced, 0)).toBe(inRange.filter((c) => c.costUsd === null).length);
        const costs = rows.map((r) => r.costUsd);
        expect(costs).toEqual([...costs].sort((a, b) => b - a));
        const team = await sumCallsByMetadata(store.backend, { from: T0, to, key: 'exp.arm', teams: ['team-0'] });
        expect(team.reduce((a, r) => a + r.requests, 0)).toBe(inRange.filter((c) => c.team === 'team-0').length);
        expect(team.find((r) => r.value === 'b')).toBeUndefined(); // team-0 is the even calls: arm a
        expect(await sumCallsByMetadata(store.backend, { from: T0, to, key: 'tenant', teams: [] })).toEqual([]);
        const feature = await sumCallsByMetadata(store.backend, {
          from: T0,
          to,
          key: 'tenant',
          features: ['feature-1'],
        });
        expect(feature.reduce((a, r) => a + r.requests, 0)).toBe(
          inRange.filter((c) => c.feature === 'feature-1').length,
        );
        await expect(sumCallsByMetadata(store.backend, { from: T0, to, key: '$.x"' })).rejects.toBeInstanceOf(
          LlmscopeError,
        );
      });

      it('orders groups of equal spend the same on every engine: calls without the key first, then values bytewise', async () => {
        // /api/cost/summary?group_by=meta.<key> shows these rows in this order and folds those past `limit` into
        // `rest`: PostgreSQL sorted NULL last and compared values in the database's collation, SQLite NULL first
        // and bytewise
        const values = ['b', undefined, 'é', 'B', 'a', 'Z'];
        await store.insertCalls(
          values.map((v, i) =>
            makeCall(i, {
              costUsd: 0.5,
              inputTokens: 10,
              outputTokens: 10,
              metadata: v === undefined ? null : { tier: v },
            }),
          ),
        );
        const rows = await sumCallsByMetadata(store.backend, { from: T0, to: T0 + 60_000, key: 'tier' });
        expect(rows.map((r) => r.value)).toEqual([null, 'B', 'Z', 'a', 'b', 'é']);
      });
    });
  });
}
