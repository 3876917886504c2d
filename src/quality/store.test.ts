// The QualityStore contract, on memory, SQLite and PostgreSQL; then what only PostgreSQL has to show: two replicas
// (two stores on one database) writing the same counts, feedback and review items at once.
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import { SqliteStore } from '../store/index.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import { qualityStoreFor } from './module.js';
import { PostgresQualityStore } from './postgres-store.js';
import { SqliteQualityStore } from './sqlite-store.js';
import { type FeedbackRecord, MemoryQualityStore, type QualityCountRow, type QualityStore } from './store.js';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);

let pg: TestPostgres;
const open: PostgresStore[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  for (const s of open.splice(0)) await s.close().catch(() => {});
  await pg?.stop();
});

/** `n` quality stores on one fresh schema, each on its own PostgresStore (pool): `n` replicas. */
async function pgQualityStores(n: number, now: () => number = () => T0): Promise<PostgresQualityStore[]> {
  const url = await pg.freshSchemaUrl();
  const out: PostgresQualityStore[] = [];
  for (let i = 0; i < n; i++) {
    const store = new PostgresStore(url);
    open.push(store);
    await store.migrate();
    out.push(new PostgresQualityStore(store.backend, now));
  }
  return out;
}

const fb = (over: Partial<FeedbackRecord> = {}): FeedbackRecord => ({
  requestId: 'r1',
  source: 'app',
  rating: 'up',
  comment: null,
  labels: [],
  createdAt: T0,
  updatedAt: T0,
  model: 'gpt-4o',
  provider: 'openai',
  feature: 'chat',
  ...over,
});

describe.each([
  ['memory', async () => new MemoryQualityStore(() => T0)],
  ['sqlite', async () => new SqliteQualityStore(new Database(':memory:'), () => T0)],
  ['postgres', async () => (await pgQualityStores(1))[0] as PostgresQualityStore],
] as [string, () => Promise<QualityStore>][])('QualityStore contract: %s', (_name, make) => {
  const fresh = async () => {
    const s = await make();
    await s.migrate();
    return s;
  };

  it('keeps one feedback per (request, source), reporting what it replaced', async () => {
    const s = await fresh();
    expect(await s.putFeedback(fb())).toEqual({ created: true, previous: null });
    const again = await s.putFeedback(fb({ rating: 'down', comment: 'wrong', updatedAt: T0 + 5 }));
    expect(again.created).toBe(false);
    expect(again.previous?.rating).toBe('up');
    await s.putFeedback(fb({ source: 'widget' }));
    const list = await s.feedbackFor('r1');
    expect(list).toHaveLength(2);
    expect(list.find((f) => f.source === 'app')).toMatchObject({ rating: 'down', comment: 'wrong', createdAt: T0 });
  });

  it('stores one evaluation per evaluator per call (latest wins)', async () => {
    const s = await fresh();
    const result = { evaluator: 'grounding', verdict: 'fail' as const, score: 0.8, evidence: [], explanation: 'x' };
    const base = {
      requestId: 'r1',
      evaluator: 'grounding',
      verdict: 'fail' as const,
      score: 0.8,
      result,
      createdAt: T0,
      model: 'm',
      feature: null,
    };
    await s.putEvaluations([base, { ...base, evaluator: 'judge', verdict: 'pass', score: 0.1 }]);
    await s.putEvaluations([{ ...base, score: 0.9 }]);
    const list = await s.evaluationsFor('r1');
    expect(list.map((e) => [e.evaluator, e.score])).toEqual([
      ['grounding', 0.9],
      ['judge', 0.1],
    ]);
    expect(list[0]?.result.explanation).toBe('x');
  });

  it('merges review reasons, lists pending/labeled with pages, labels items', async () => {
    const s = await fresh();
    const base = { model: 'm', provider: 'p', feature: null };
    await s.enqueueReview([
      { requestId: 'a', reason: 'sample', callAt: T0 + 1, ...base },
      { requestId: 'b', reason: 'thumbs_down', callAt: T0 + 2, rating: 'down', ...base },
      { requestId: 'c', reason: 'flag:grounding', callAt: T0 + 3, flaggedBy: ['grounding'], ...base },
    ]);
    await s.enqueueReview([{ requestId: 'a', reason: 'flag:judge', callAt: T0 + 1, flaggedBy: ['judge'], ...base }]);
    const a = await s.getReview('a');
    expect(a?.reasons).toEqual(['sample', 'flag:judge']);
    expect(a?.flaggedBy).toEqual(['judge']);
    const p1 = await s.listReview({ limit: 2 });
    expect(p1.items.map((i) => i.requestId)).toEqual(['c', 'b']);
    const p2 = await s.listReview({ limit: 2, cursor: p1.nextCursor ?? undefined });
    expect(p2.items.map((i) => i.requestId)).toEqual(['a']);
    expect(p2.nextCursor).toBeNull();
    expect((await s.listReview({ reason: 'flag' })).items.map((i) => i.requestId)).toEqual(['c', 'a']);
    const labeled = await s.labelReview('b', {
      hallucination: true,
      refusalCorrect: null,
      notes: 'made up',
      reviewer: 'ann',
      labeledAt: T0 + 10,
    });
    expect(labeled?.labels).toMatchObject({ hallucination: true, refusalCorrect: null, notes: 'made up' });
    expect((await s.listReview({})).items.map((i) => i.requestId)).toEqual(['c', 'a']);
    expect((await s.listReview({ status: 'labeled' })).items.map((i) => i.requestId)).toEqual(['b']);
    expect(
      await s.labelReview('zzz', {
        hallucination: true,
        refusalCorrect: null,
        notes: null,
        reviewer: null,
        labeledAt: 0,
      }),
    ).toBeNull();
    expect((await s.labeledReviews({ from: T0, to: T0 + 100 })).map((i) => i.requestId)).toEqual(['b']);
  });

  it('adds counts into minute buckets and folds them by step and group', async () => {
    const s = await fresh();
    const row = { responses: 1, refusals: 0, evaluated: 1, flagged: 0, feedbackUp: 0, feedbackDown: 0 };
    await s.addCounts([
      { t: T0 + 1000, model: 'a', feature: 'x', ...row },
      { t: T0 + 2000, model: 'a', feature: 'y', ...row, flagged: 1 },
      { t: T0 + 61_000, model: 'b', feature: 'x', ...row, refusals: 1 },
      { t: T0 + 62_000, model: 'b', feature: 'x', ...row, responses: -1 },
    ]);
    const total = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total' });
    expect(total).toEqual([
      {
        t: 0,
        model: '',
        feature: '',
        responses: 2,
        refusals: 1,
        evaluated: 4,
        flagged: 1,
        feedbackUp: 0,
        feedbackDown: 0,
      },
    ]);
    const byModel = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total', groupBy: 'model' });
    expect(byModel.map((r) => [r.model, r.responses])).toEqual([
      ['a', 2],
      ['b', 0],
    ]);
    const minutes = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'minute', groupBy: 'feature' });
    expect(minutes.map((r) => [r.t - T0, r.feature, r.evaluated])).toEqual([
      [0, 'x', 1],
      [0, 'y', 1],
      [60_000, 'x', 2],
    ]);
    const both = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total', groupBy: ['model', 'feature'] });
    expect(both.map((r) => [r.model, r.feature, r.flagged, r.evaluated])).toEqual([
      ['a', 'x', 0, 1],
      ['a', 'y', 1, 1],
      ['b', 'x', 0, 2],
    ]);
    expect(await s.queryCounts({ from: T0 + 120_000, to: T0 + 3_600_000, step: 'total' })).toEqual([]);
  });

  it('applies retention', async () => {
    const s = await fresh();
    await s.putFeedback(fb());
    await s.enqueueReview([
      { requestId: 'r1', reason: 'sample', callAt: T0, model: 'm', provider: 'p', feature: null },
    ]);
    expect(await s.applyRetention(T0 + 1)).toBeGreaterThanOrEqual(2);
    expect(await s.feedbackFor('r1')).toEqual([]);
    expect(await s.getReview('r1')).toBeNull();
  });
});

describe('PostgresQualityStore: two replicas on one database', () => {
  const counts = (over: Partial<QualityCountRow>): QualityCountRow => ({
    t: T0,
    model: 'm',
    feature: '',
    responses: 0,
    refusals: 0,
    evaluated: 0,
    flagged: 0,
    feedbackUp: 0,
    feedbackDown: 0,
    ...over,
  });

  it('migrate at once, then add counts to the same minutes at once: totals exact', async () => {
    const [a, b] = (await pgQualityStores(2)) as [PostgresQualityStore, PostgresQualityStore];
    await Promise.all([a.migrate(), b.migrate(), a.migrate()]);
    // 40 batches, alternating replicas, each touching the same 3 minutes × 2 models × 2 features (and some twice)
    const batches = Array.from({ length: 40 }, (_, k) =>
      Array.from({ length: 15 }, (_, i) =>
        counts({
          t: T0 + ((i + k) % 3) * 60_000 + i,
          model: i % 2 ? 'a' : 'b',
          feature: (i + k) % 4 < 2 ? 'x' : '',
          responses: 1,
          refusals: i % 5 === 0 ? 1 : 0,
          evaluated: 1,
          flagged: i % 3 === 0 ? 1 : 0,
          feedbackUp: k % 2,
          feedbackDown: i === 7 ? -1 : 0,
        }),
      ),
    );
    await Promise.all(batches.map((rows, k) => (k % 2 ? a : b).addCounts(rows)));
    const all = batches.flat();
    const sum = (f: keyof QualityCountRow) => all.reduce((n, r) => n + (r[f] as number), 0);
    const [total] = await a.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total' });
    expect(total).toEqual({
      t: 0,
      model: '',
      feature: '',
      responses: sum('responses'),
      refusals: sum('refusals'),
      evaluated: sum('evaluated'),
      flagged: sum('flagged'),
      feedbackUp: sum('feedbackUp'),
      feedbackDown: sum('feedbackDown'),
    });
    // and per minute and group, the same as the in-memory store folds them
    const mem = new MemoryQualityStore(() => T0);
    for (const rows of batches) await mem.addCounts(rows);
    const q = { from: T0, to: T0 + 3_600_000, step: 'minute', groupBy: ['model', 'feature'] } as const;
    expect(await b.queryCounts(q)).toEqual(await mem.queryCounts(q));
  });

  it('the same feedback through both replicas at once: one row, created exactly once, the other sees it', async () => {
    const [a, b] = (await pgQualityStores(2)) as [PostgresQualityStore, PostgresQualityStore];
    await Promise.all([a.migrate(), b.migrate()]);
    const ids = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const results = await Promise.all(
      ids.flatMap((id) => [
        a.putFeedback(fb({ requestId: id, rating: 'up', createdAt: T0, updatedAt: T0 })),
        b.putFeedback(fb({ requestId: id, rating: 'down', createdAt: T0 + 1, updatedAt: T0 + 1 })),
      ]),
    );
    for (let i = 0; i < ids.length; i++) {
      const pair = [results[2 * i], results[2 * i + 1]];
      expect(pair.filter((r) => r?.created)).toHaveLength(1);
      const winner = pair[0]?.created ? 'up' : 'down';
      const loser = pair.find((r) => !r?.created);
      // what the second write replaced is the first one, whole
      expect(loser?.previous).toMatchObject({ requestId: ids[i], source: 'app', rating: winner });
      const rows = await b.feedbackFor(ids[i] as string);
      expect(rows).toHaveLength(1);
      // the second writer's rating stands, with the first one's creation time
      expect(rows[0]).toMatchObject({ rating: winner === 'up' ? 'down' : 'up', createdAt: loser?.previous?.createdAt });
    }
  });

  it('concurrent changes of one feedback through both replicas: each replaced exactly one other', async () => {
    const [a, b] = (await pgQualityStores(2)) as [PostgresQualityStore, PostgresQualityStore];
    await Promise.all([a.migrate(), b.migrate()]);
    await a.putFeedback(fb({ comment: 'c0' }));
    const writes = Array.from({ length: 30 }, (_, i) => `c${i + 1}`);
    const results = await Promise.all(
      writes.map((comment, i) =>
        (i % 2 ? a : b).putFeedback(fb({ comment, rating: i % 3 ? 'up' : 'down', updatedAt: T0 + i + 1 })),
      ),
    );
    expect(results.every((r) => !r.created)).toBe(true);
    // the writes form one chain: every comment but the last one standing was replaced exactly once
    const replaced = results.map((r) => r.previous?.comment);
    const [last] = await b.feedbackFor('r1');
    expect([...replaced, last?.comment].sort()).toEqual(['c0', ...writes].sort());
  });

  it('review items merged from both replicas at once keep every reason and flag', async () => {
    const [a, b] = (await pgQualityStores(2)) as [PostgresQualityStore, PostgresQualityStore];
    await Promise.all([a.migrate(), b.migrate()]);
    const base = { model: 'm', provider: 'p', feature: null, callAt: T0 };
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`);
    await Promise.all([
      a.enqueueReview(ids.map((id) => ({ ...base, requestId: id, reason: 'sample' as const }))),
      b.enqueueReview(
        ids.map((id) => ({ ...base, requestId: id, reason: 'flag:grounding' as const, flaggedBy: ['grounding'] })),
      ),
      a.enqueueReview(ids.map((id) => ({ ...base, requestId: id, reason: 'thumbs_down' as const, rating: 'down' }))),
      b.enqueueReview(
        ids.map((id) => ({ ...base, requestId: id, reason: 'refusal' as const, refusal: true, flaggedBy: ['judge'] })),
      ),
    ]);
    for (const id of ids) {
      const item = await a.getReview(id);
      expect([...(item?.reasons ?? [])].sort()).toEqual(['flag:grounding', 'refusal', 'sample', 'thumbs_down']);
      expect([...(item?.flaggedBy ?? [])].sort()).toEqual(['grounding', 'judge']);
      expect(item).toMatchObject({ refusal: true, rating: 'down', labels: null });
    }
    // a label survives later merges
    await b.labelReview('r0', {
      hallucination: false,
      refusalCorrect: true,
      notes: null,
      reviewer: 'ann',
      labeledAt: T0 + 5,
    });
    await a.enqueueReview([{ ...base, requestId: 'r0', reason: 'manual' }]);
    expect(await a.getReview('r0')).toMatchObject({
      reasons: expect.arrayContaining(['manual', 'sample']),
      labels: { hallucination: false, refusalCorrect: true, reviewer: 'ann', labeledAt: T0 + 5 },
    });
  });

  it('writes each batch in one statement, and keeps NULs and fractional times from failing it', async () => {
    const [s] = (await pgQualityStores(1)) as [PostgresQualityStore];
    await s.migrate();
    const pool = (s as unknown as { backend: PostgresStore['backend'] }).backend.pool;
    const query = pool.query.bind(pool);
    let statements = 0;
    pool.query = ((...args: Parameters<typeof query>) => {
      statements++;
      return query(...args);
    }) as typeof pool.query;
    const base = { model: 'gpt\u00004o', provider: 'p', feature: null };
    await s.enqueueReview(
      Array.from({ length: 100 }, (_, i) => ({
        ...base,
        requestId: `r${i % 60}`,
        reason: 'sample' as const,
        callAt: T0 + i + 0.5,
      })),
    );
    await s.addCounts(
      Array.from({ length: 100 }, (_, i) => counts({ t: T0 + i * 1000.5, model: 'm\u0000', responses: 1 })),
    );
    const result = {
      evaluator: 'grounding',
      verdict: 'pass' as const,
      score: 0.1,
      evidence: [],
      explanation: 'ok\u0000',
    };
    await s.putEvaluations(
      Array.from({ length: 64 }, (_, i) => ({
        requestId: `r${i % 40}`,
        evaluator: i % 2 ? 'grounding' : 'judge',
        verdict: 'pass' as const,
        score: i,
        result,
        createdAt: T0 + 0.25,
        model: 'm',
        feature: 'f',
      })),
    );
    expect(statements).toBe(3);
    pool.query = query as typeof pool.query;
    expect((await s.getReview('r1'))?.model).toBe('gpt\uFFFD4o');
    // the first entry for a call sets its call time
    expect((await s.getReview('r1'))?.callAt).toBe(T0 + 1.5);
    expect((await s.evaluationsFor('r1')).map((e) => [e.evaluator, e.score, e.result.explanation])).toEqual([
      ['grounding', 41, 'ok\u0000'],
    ]);
    const [total] = await s.queryCounts({ from: T0, to: T0 + 3_600_000, step: 'total', groupBy: 'model' });
    expect(total).toMatchObject({ model: 'm\uFFFD', responses: 100 });
    expect(
      await s.putFeedback(fb({ comment: 'a\u0000b', labels: ['x\u0000'], createdAt: T0 + 0.5, updatedAt: T0 + 0.5 })),
    ).toEqual({ created: true, previous: null });
    expect((await s.feedbackFor('r1'))[0]).toMatchObject({
      comment: 'a\uFFFDb',
      labels: ['x\uFFFD'],
      createdAt: T0 + 0.5,
    });
  });
});

describe('quality tables on the app store', () => {
  it('are versioned in schema_migrations (quality) on SQLite, as on PostgreSQL', async () => {
    const app = new SqliteStore(':memory:');
    await app.migrate();
    const store = qualityStoreFor({ store: app, clock: { now: () => T0 } });
    await store.migrate();
    await store.migrate();
    const versions = app.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'quality'").all();
    expect(versions).toEqual([{ version: 1 }]);
    await app.close();
  });
});
