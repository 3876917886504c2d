// The session, trace and user routes on the assembled app (on SQLite and on a real PostgreSQL, with the cost and
// quality modules): a session of 5 calls across 2 traces (plus calls of sessions whose ids share its prefix, which
// must stay out), a user with spend, a budget, feedback and an evaluation; bounded pages with a cursor; 404 and 400
// in the error shape.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../src/calls/index.js';
import { validateConfig } from '../../src/config/index.js';
import { buildCostModule } from '../../src/cost/index.js';
import type { EvaluationResult, Evaluator } from '../../src/quality/evaluators/types.js';
import { buildQualityModule, type QualityModule } from '../../src/quality/index.js';
import { type App, createApp } from '../../src/server.js';
import { makeCall } from '../../src/store/store.contract.js';
import { startPostgres, type TestPostgres } from '../pg.js';

const NOW = Date.now();
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);

/** A call `agoMs` before now, from `user`, in `session`/`trace`. */
function call(i: number, agoMs: number, over: Partial<LlmCall> = {}): LlmCall {
  const base = makeCall(i);
  const startedAt = NOW - agoMs;
  const traceId = over.traceId ?? base.traceId;
  return {
    ...base,
    requestId: `call-${i}`,
    startedAt,
    endedAt: startedAt + base.latencyMs,
    user: 'carol',
    session: null,
    errorType: null,
    errorMessage: null,
    // as ingested calls: the budget ledger counts them without a gateway reservation
    source: 'ingest',
    ...over,
    traceId,
    spans: base.spans.map((s) => ({
      ...s,
      traceId: traceId ?? s.traceId,
      startTime: startedAt,
      endTime: startedAt + base.latencyMs,
      events: [],
    })),
  };
}

const session: LlmCall[] = [
  call(1, 50_000, { session: 'sess-42', traceId: TRACE_A, user: 'alice', costUsd: 0.01 }),
  call(2, 40_000, { session: 'sess-42', traceId: TRACE_A, user: 'alice', costUsd: 0.02, model: 'gpt-4o-mini' }),
  call(3, 30_000, {
    session: 'sess-42',
    traceId: TRACE_A,
    user: 'alice',
    costUsd: 0.03,
    status: 'upstream_error',
    httpStatus: 500,
  }),
  call(4, 20_000, { session: 'sess-42', traceId: TRACE_B, user: 'alice', costUsd: 0.04, feature: 'search' }),
  call(5, 10_000, { session: 'sess-42', traceId: TRACE_B, user: 'alice', costUsd: null, price: null }),
];
/** Ids starting like the session's: the id search finds them, the exact match must leave them out. */
const others: LlmCall[] = [
  call(6, 45_000, { session: 'sess-420', traceId: TRACE_A.replace(/a$/, 'c'), user: 'bob', costUsd: 0.5 }),
  call(7, 35_000, { session: 'sess-4', user: 'bob', costUsd: 0.5 }),
];
/** A long session for the cursor: 7 calls, 1 s apart. */
const long: LlmCall[] = Array.from({ length: 7 }, (_, i) =>
  call(100 + i, 600_000 - i * 1000, { session: 'long', user: 'dave', costUsd: 0.001 }),
);

/**
 * A user whose one failed call ended before any usage (QA41): cost null but its model priced, so not "unpriced"; the
 * Cost page counted no unpriced call for such a user while their page said "1 calls unpriced (not included)".
 */
const failedNoUsage: LlmCall[] = [
  call(200, 15_000, { session: 'erin-s', user: 'erin', costUsd: 0.002 }),
  call(201, 14_000, {
    session: 'erin-s',
    user: 'erin',
    status: 'upstream_error',
    httpStatus: 500,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheWriteInputTokens: null,
    reasoningTokens: null,
    costUsd: null,
  }),
];

const failsWrong: Evaluator = {
  name: 'grounding',
  async evaluate(input): Promise<EvaluationResult> {
    const fail = input.response.includes('wrong');
    return {
      evaluator: 'grounding',
      verdict: fail ? 'fail' : 'pass',
      score: fail ? 0.9 : 0.1,
      evidence: [],
      explanation: '',
    };
  },
};

describe.each(['sqlite', 'postgres'] as const)('on %s', (kind) => {
  let pg: TestPostgres | undefined;
  let app: App;
  let base: string;
  let quality: QualityModule;

  beforeAll(async () => {
    if (kind === 'postgres') pg = await startPostgres();
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0 },
      storage: { url: pg ? await pg.freshSchemaUrl() : 'sqlite::memory:' },
      telemetry: { logLevel: 'silent' },
      budgets: [{ name: 'alice-daily', scope: 'user', match: 'alice', period: 'day', limit: 1, action: 'alert' }],
    });
    if (!r.ok) throw new Error(JSON.stringify(r.issues));
    app = await createApp(r.config, {
      modules: [
        (ctx) => buildCostModule(ctx),
        async (ctx) => {
          quality = await buildQualityModule(ctx, { evaluators: { grounding: failsWrong } });
          return quality;
        },
      ],
    });
    base = await app.listen();
    for (const c of [...session, ...others, ...long, ...failedNoUsage]) app.ctx.recorder.record(c);
    expect(await app.ctx.recorder.flush()).toBe(true);
    const stored = session[1] as LlmCall;
    await quality.service.evaluate(stored, { prompt: 'q', output: 'the wrong answer', evaluators: ['grounding'] });
    await quality.service.evaluate(session[0] as LlmCall, { prompt: 'q', output: 'right', evaluators: ['grounding'] });
    for (const [id, rating] of [
      ['call-1', 'up'],
      ['call-2', 'down'],
      ['call-4', 'up'],
    ] as const) {
      const res = await fetch(`${base}/api/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: id, rating }),
      });
      expect(res.status, await res.text()).toBeLessThan(300);
    }
  }, 30_000);

  afterAll(async () => {
    await app?.close();
    await pg?.stop();
  });

  // biome-ignore lint/suspicious/noExplicitAny: JSON answers, checked field by field
  async function get(path: string): Promise<{ status: number; body: any }> {
    const res = await fetch(base + path);
    return { status: res.status, body: await res.json() };
  }

  describe('GET /api/sessions/:id', () => {
    it('lists the session’s calls oldest first, across its traces, with spans, verdicts, feedback and totals', async () => {
      const { status, body } = await get('/api/sessions/sess-42');
      expect(status).toBe(200);
      expect(body.kind).toBe('session');
      expect(body.calls.map((c: { request_id: string }) => c.request_id)).toEqual([
        'call-1',
        'call-2',
        'call-3',
        'call-4',
        'call-5',
      ]);
      expect(body.calls[0].spans).toHaveLength(1);
      expect(body.calls[0].spans[0]).toMatchObject({ trace_id: TRACE_A, name: 'chat gpt-4o' });
      expect(body.calls[1].evaluations).toEqual([expect.objectContaining({ evaluator: 'grounding', verdict: 'fail' })]);
      expect(body.calls[1].feedback).toEqual([expect.objectContaining({ rating: 'down' })]);
      expect(body.totals).toMatchObject({
        calls: 5,
        errors: 1,
        cost_usd: 0.1,
        unpriced_calls: 1,
        users: ['alice'],
      });
      expect(new Set(body.totals.traces)).toEqual(new Set([TRACE_A, TRACE_B]));
      expect(body.totals.started_at).toBe(new Date(NOW - 50_000).toISOString());
      expect(body.quality).toMatchObject({ verdicts: { pass: 1, fail: 1 }, feedback: { up: 2, down: 1 } });
      expect(body.next_cursor).toBeNull();
      expect(body.truncated).toBe(false);
    });

    it('pages a long session with a cursor, oldest first, totals always of the whole session', async () => {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const { status, body } = await get(`/api/sessions/long?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        expect(status).toBe(200);
        expect(body.calls.length).toBeLessThanOrEqual(3);
        expect(body.totals.calls).toBe(7);
        seen.push(...body.calls.map((c: { request_id: string }) => c.request_id));
        cursor = body.next_cursor;
        pages++;
      } while (cursor && pages < 10);
      expect(pages).toBe(3);
      expect(seen).toEqual(long.map((c) => c.requestId));
    });

    it('an unknown session is a 404 in the error shape; a bad limit or cursor is a 400', async () => {
      const miss = await get('/api/sessions/sess-4200');
      expect(miss.status).toBe(404);
      expect(miss.body.error).toMatchObject({ type: 'not_found_error', code: 'not_found' });
      expect(miss.body.error.message).toMatch(/sess-4200/);
      for (const q of ['limit=0', 'limit=501', 'limit=x', 'cursor=nope']) {
        const bad = await get(`/api/sessions/sess-42?${q}`);
        expect(bad.status, q).toBe(400);
        expect(bad.body.error.type).toBe('invalid_request_error');
      }
    });
  });

  describe('GET /api/traces/:id', () => {
    it('lists the calls of one trace only', async () => {
      const { status, body } = await get(`/api/traces/${TRACE_B}`);
      expect(status).toBe(200);
      expect(body.kind).toBe('trace');
      expect(body.calls.map((c: { request_id: string }) => c.request_id)).toEqual(['call-4', 'call-5']);
      expect(body.totals.sessions).toEqual(['sess-42']);
      expect((await get(`/api/traces/${'f'.repeat(32)}`)).status).toBe(404);
    });
  });

  describe('GET /api/users/:id', () => {
    it('shows spend today and this month, by model and feature, calls, feedback, quality and the budget', async () => {
      const { status, body } = await get('/api/users/alice');
      expect(status).toBe(200);
      expect(body.user).toBe('alice');
      // Today, this month and the day budget are the server's, as of its "now" (the window's end): the calls are
      // under a minute old, so run just after midnight UTC some fall on yesterday (and the month's first day on last
      // month), in the spend and in the budget alike; a day taken from the test's own clock could be another one.
      const since = (t: number) => session.filter((c) => c.startedAt >= t).reduce((a, c) => a + (c.costUsd ?? 0), 0);
      const d = new Date(body.window.to);
      const today = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
      expect(body.spend.today_usd).toBeCloseTo(since(today), 9);
      expect(body.spend.month_usd).toBeCloseTo(since(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)), 9);
      expect(body.spend.window_usd).toBeCloseTo(0.1, 9);
      expect(body.spend.window_unpriced_calls).toBe(1);
      expect(body.spend.by_model.map((g: { model: string }) => g.model).sort()).toEqual(
        [...new Set(session.map((c) => c.model))].sort(),
      );
      expect(body.spend.by_feature).toContainEqual(expect.objectContaining({ feature: 'search', cost_usd: 0.04 }));
      expect(body.calls).toMatchObject({ count: 5, errors: 1, error_rate: 0.2, truncated: false });
      const sorted = session.map((c) => c.latencyMs).sort((a, b) => a - b);
      expect(body.calls.latency_p95_ms).toBeCloseTo(sorted[4] as number, 3);
      expect(body.recent.map((c: { request_id: string }) => c.request_id)).toEqual([
        'call-5',
        'call-4',
        'call-3',
        'call-2',
        'call-1',
      ]);
      expect(body.feedback).toEqual({ up: 2, down: 1 });
      expect(body.quality.verdicts).toEqual({ pass: 1, fail: 1 });
      expect(body.budgets).toEqual([
        expect.objectContaining({
          name: 'alice-daily',
          scope: 'user',
          limit_usd: 1,
          action: 'alert',
          resets_at: new Date(today + 86_400_000).toISOString(),
        }),
      ]);
      // the ledger counts a call in the day it started: 0.1 unless the test runs in the first minute of a UTC day
      expect(body.budgets[0].spent_usd).toBeCloseTo(since(today), 9);
      expect(body.budgets[0].ratio).toBeCloseTo(since(today), 9);
    });

    it('counts as unpriced only calls whose model has no price, not a failed call without usage (as the Cost page)', async () => {
      const user = await get('/api/users/erin');
      expect(user.status).toBe(200);
      expect(user.body.spend.window_unpriced_calls).toBe(0);
      for (const g of user.body.spend.by_model) expect(g.unpriced_calls, g.model).toBe(0);
      expect(user.body.spend.by_model.reduce((n: number, g: { calls: number }) => n + g.calls, 0)).toBe(2);
      expect(user.body.spend.window_usd).toBeCloseTo(0.002, 9);
      const sess = await get('/api/sessions/erin-s');
      expect(sess.body.totals).toMatchObject({ calls: 2, errors: 1, unpriced_calls: 0, cost_usd: 0.002 });
      const sum = await get(`/api/cost/summary?group_by=user&from=${NOW - 3_600_000}&to=${NOW + 60_000}`);
      expect(sum.body.groups).toContainEqual(expect.objectContaining({ key: 'erin', unpriced_requests: 0 }));
    });

    it('a window without the user’s calls still answers, a user never seen is a 404, a bad range a 400', async () => {
      const old = await get(`/api/users/alice?from=${NOW - 10 * 86_400_000}&to=${NOW - 9 * 86_400_000}`);
      expect(old.status).toBe(200);
      expect(old.body.calls).toMatchObject({ count: 0, error_rate: null, latency_p95_ms: null });
      expect(old.body.recent).toEqual([]);
      expect(old.body.budgets).toHaveLength(1);
      const bob = await get('/api/users/bob');
      expect(bob.body.budgets).toEqual([]); // the budget matches alice only
      const miss = await get('/api/users/nobody');
      expect(miss.status).toBe(404);
      expect(miss.body.error.code).toBe('not_found');
      for (const q of [`from=${NOW}&to=${NOW - 1}`, 'from=yesterday', 'recent=0', 'recent=101']) {
        const bad = await get(`/api/users/alice?${q}`);
        expect(bad.status, q).toBe(400);
        expect(bad.body.error.type).toBe('invalid_request_error');
      }
    });
  });
});
