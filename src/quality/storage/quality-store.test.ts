// The QualityStore contract (quality.contract.ts) on every backend: memory, SQLite (alone and on the app store) and
// PostgreSQL; databases an older llmscope made open and migrate in place; then what only PostgreSQL has to show:
// two replicas (two stores on one database) writing the same counts, feedback and review items at once.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../../test/pg.js';
import { SqliteStore } from '../../store/index.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { bareResult } from '../evaluators/redact.js';
import type { EvaluationResult } from '../evaluators/types.js';
import { qualityStoreFor } from './index.js';
import { MemoryQualityStore } from './memory.js';
import { PostgresQualityStore, QUALITY_MIGRATIONS } from './postgres.js';
import { fb, qualityStoreContract, T0 } from './quality.contract.js';
import { QUALITY_SCHEMA, SQLITE_QUALITY_MIGRATIONS, SqliteQualityStore } from './sqlite.js';
import type { QualityCountRow, QualityStore, StoredEvaluation } from './types.js';

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

describe.each([
  ['memory', async () => new MemoryQualityStore(() => T0)],
  ['sqlite', async () => new SqliteQualityStore(new Database(':memory:'), () => T0)],
  [
    'sqlite (app store)',
    async () => {
      const app = new SqliteStore(':memory:');
      await app.migrate();
      return qualityStoreFor(app.backend, () => T0);
    },
  ],
  [
    'sqlite file (app store: evaluations and counts written by its writer thread)',
    async () => {
      const app = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'llmscope-quality-')), 'app.db'));
      await app.migrate();
      return qualityStoreFor(app.backend, () => T0);
    },
  ],
  ['postgres', async () => (await pgQualityStores(1))[0] as PostgresQualityStore],
] as [string, () => Promise<QualityStore>][])('%s', (name, make) => qualityStoreContract(name, make));

describe('SqliteQualityStore on a file database', () => {
  it('writes evaluations and counts on the store’s writer thread, visible to reads when the write resolves', async () => {
    const app = new SqliteStore(join(mkdtempSync(join(tmpdir(), 'llmscope-quality-')), 'app.db'));
    await app.migrate();
    const store = await qualityStoreFor(app.backend, () => T0);
    await store.putEvaluations([
      {
        requestId: 'r1',
        evaluator: 'grounding',
        verdict: 'fail',
        score: 0.25,
        result: { verdict: 'fail', score: 0.25, reason: 'unsupported: "Paris"' } as never,
        createdAt: T0,
        model: 'm',
        feature: 'f',
      },
    ]);
    expect(await app.callWriterThread()).not.toBeNull();
    expect((await store.evaluationsFor('r1')).map((e) => e.score)).toEqual([0.25]);
    await store.addCounts([
      {
        t: T0,
        model: 'm',
        feature: 'f',
        responses: 2,
        refusals: 1,
        evaluated: 1,
        flagged: 1,
        feedbackUp: 0,
        feedbackDown: 0,
      },
    ]);
    const rows = app.db.prepare('SELECT responses, refusals FROM quality_rollup_minute').all();
    expect(rows).toEqual([{ responses: 2, refusals: 1 }]);
    await app.close();
  });
});

describe('SqliteQualityStore on a file database: feedback', () => {
  it('is written on the writer thread: the event loop does not wait for the write lock another connection holds', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'llmscope-quality-')), 'app.db');
    const app = new SqliteStore(path, { busyTimeoutMs: 2000 });
    await app.migrate();
    const store = await qualityStoreFor(app.backend, () => T0);
    // Another writer holds the lock (the store's own writer thread in a transaction, a `llmscope` CLI, a backup).
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    let released = false;
    // Runs only if the event loop is free while the feedback waits for the lock; before, putFeedback waited on it
    // (SQLite's busy handler sleeps in the calling thread) and failed with SQLITE_BUSY after busyTimeoutMs.
    setTimeout(() => {
      other.exec('ROLLBACK');
      released = true;
    }, 100);
    const put = await store.putFeedback({
      requestId: 'r1',
      source: 'user',
      rating: 'down',
      comment: 'wrong',
      labels: ['hallucination'],
      createdAt: T0,
      updatedAt: T0,
      model: 'm',
      provider: 'p',
      feature: null,
    });
    expect(released).toBe(true);
    expect(put).toEqual({ created: true, previous: null });
    expect((await store.feedbackFor('r1')).map((f) => [f.rating, f.comment, f.labels])).toEqual([
      ['down', 'wrong', ['hallucination']],
    ]);
    // A second rating by the same source replaces it, and says what it replaced.
    const again = await store.putFeedback({
      requestId: 'r1',
      source: 'user',
      rating: 'up',
      comment: null,
      labels: [],
      createdAt: T0 + 1,
      updatedAt: T0 + 1,
      model: 'm',
      provider: 'p',
      feature: null,
    });
    expect([again.created, again.previous?.rating, again.previous?.comment]).toEqual([false, 'down', 'wrong']);
    other.close();
    await app.close();
  });
});

describe('SqliteQualityStore: results withoutQuotes left bare are stored short and read back the same', () => {
  it('rebuilds exactly what was stored, and keeps every other result whole', async () => {
    const db = new Database(':memory:');
    const store = new SqliteQualityStore(db, () => T0);
    await store.migrate();
    const results = [
      bareResult('grounding', 'unknown', 0, true, 1.712902999999983),
      bareResult('attribution', 'unknown', 0, false, undefined),
      bareResult('consistency', 'pass', 0.30000000000000004, true, 0),
      bareResult('judge', 'error', 0, false, 2.5),
      // not bare: an extra key, a quote in the explanation, evidence, a verdict other than the row's
      { ...bareResult('nli', 'unknown', 0, true, 1), note: 'x' },
      { ...bareResult('a', 'unknown', 0, true, 1), explanation: 'the request carries too little knowledge' },
      { ...bareResult('b', 'fail', 0.9, true, 1), evidence: [{ source: 'context' as const, text: '' }] },
      bareResult('c', 'unknown', 0, true, 1),
      { ...bareResult('d', 'unknown', 0, true, 1), durationMs: Number.NaN },
    ] as EvaluationResult[];
    const stored: StoredEvaluation[] = results.map((result, i) => ({
      requestId: 'r1',
      evaluator: result.evaluator,
      verdict: result.evaluator === 'c' ? 'pass' : result.verdict,
      score: result.score,
      result,
      createdAt: T0 + i,
      model: 'm',
      feature: i % 2 ? 'f' : null,
    }));
    await store.putEvaluations(stored);
    const back = await store.evaluationsFor('r1');
    // JSON keeps what a result says (a NaN duration is null there), as when each was stored whole
    expect(back).toStrictEqual(stored.map((e) => ({ ...e, result: JSON.parse(JSON.stringify(e.result)) })));
    const row = db.prepare('SELECT evaluations FROM quality_evaluations').pluck().get() as string;
    const lengths = (JSON.parse(row) as unknown[][]).map((e) => e.length);
    expect(lengths).toEqual([8, 8, 8, 8, 7, 7, 7, 7, 7]);
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

describe('quality migrations', () => {
  const sha = (sql: unknown) => createHash('sha256').update(String(sql)).digest('hex').slice(0, 16);

  it('never change once shipped (add a version instead)', () => {
    expect(SQLITE_QUALITY_MIGRATIONS.map((m) => [m.version, sha(m.up)])).toEqual([
      [1, '83a5e2a2a87ca60a'],
      [2, '31bfa42623462784'],
    ]);
    expect(QUALITY_MIGRATIONS.map((m) => [m.version, sha(m.up)])).toEqual([[1, '7233e35b320e2338']]);
  });

  it('are versioned in schema_migrations (quality) on the app store, as on PostgreSQL', async () => {
    const app = new SqliteStore(':memory:');
    await app.migrate();
    const store = await qualityStoreFor(app.backend, () => T0);
    await store.migrate();
    await new SqliteQualityStore(app.db).migrate();
    const versions = app.db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'quality'").all();
    expect(versions).toEqual([{ version: 1 }, { version: 2 }]);
    await app.close();
  });

  it('an SQLite database whose quality tables an older llmscope made without recording a version opens, data kept', async () => {
    // What the standalone SqliteQualityStore of earlier releases left: the tables, and no schema_migrations row.
    const db = new Database(':memory:');
    db.exec(QUALITY_SCHEMA);
    db.prepare(
      `INSERT INTO quality_feedback (request_id, source, rating, comment, labels, created_at, updated_at, model, provider, feature)
       VALUES ('r1', 'app', 'down', 'old', '["x"]', ?, ?, 'gpt-4o', 'openai', null)`,
    ).run(T0, T0);
    db.prepare(`INSERT INTO quality_rollup_minute (t, model, feature, responses) VALUES (?, 'gpt-4o', '', 3)`).run(T0);
    const store = new SqliteQualityStore(db, () => T0);
    await store.migrate();
    expect(db.prepare("SELECT version FROM schema_migrations WHERE namespace = 'quality'").all()).toEqual([
      { version: 1 },
      { version: 2 },
    ]);
    expect(await store.feedbackFor('r1')).toEqual([
      fb({ rating: 'down', comment: 'old', labels: ['x'], feature: null }),
    ]);
    const [total] = await store.queryCounts({ from: T0, to: T0 + 60_000, step: 'total' });
    expect(total?.responses).toBe(3);
    expect((await store.putFeedback(fb({ source: 'widget' }))).created).toBe(true);
  });

  it('version 2 keeps a call’s evaluations in one row: version 1’s rows carried over exactly; erase and retention count evaluations', async () => {
    const db = new Database(':memory:');
    db.exec(QUALITY_SCHEMA);
    const put = db.prepare(
      `INSERT INTO quality_evaluations (request_id, evaluator, verdict, score, result, created_at, model, feature)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const result = (evaluator: string, extra: object = {}) =>
      JSON.stringify({
        evaluator,
        verdict: 'unknown',
        score: 0,
        evidence: [],
        claims: [],
        durationMs: 0.1 + 0.2,
        ...extra,
      });
    put.run(
      'r1',
      'grounding',
      'fail',
      0.12345678901234568,
      result('grounding', { explanation: 'x' }),
      T0 + 5,
      'm',
      'f',
    );
    put.run('r1', 'attribution', 'unknown', 0, result('attribution'), T0 + 5, 'm', 'f');
    put.run('r1', 'judge', 'pass', 1, result('judge'), T0 + 1, 'm2', null);
    put.run('r2', 'grounding', 'unknown', 0, result('grounding'), T0 + 100, 'm', null);
    const store = new SqliteQualityStore(db, () => T0);
    await store.migrate();
    const r1 = await store.evaluationsFor('r1');
    // ordered by created_at, then evaluator, as the rows were read
    expect(r1.map((e) => [e.evaluator, e.verdict, e.score, e.createdAt, e.model, e.feature])).toEqual([
      ['judge', 'pass', 1, T0 + 1, 'm2', null],
      ['attribution', 'unknown', 0, T0 + 5, 'm', 'f'],
      ['grounding', 'fail', 0.12345678901234568, T0 + 5, 'm', 'f'],
    ]);
    expect(r1[2]?.result).toEqual(JSON.parse(result('grounding', { explanation: 'x' })));
    expect(db.prepare('SELECT request_id, created_at FROM quality_evaluations ORDER BY 1').all()).toEqual([
      { request_id: 'r1', created_at: T0 + 5 },
      { request_id: 'r2', created_at: T0 + 100 },
    ]);
    // evaluated again: the evaluator's newer result replaces its older one, the others stay
    await store.putEvaluations([{ ...(r1[0] as StoredEvaluation), score: 0.5, createdAt: T0 + 9 }]);
    expect((await store.evaluationsFor('r1')).map((e) => [e.evaluator, e.score])).toEqual([
      ['attribution', 0],
      ['grounding', 0.12345678901234568],
      ['judge', 0.5],
    ]);
    expect((await store.eraseCalls(['r1', 'nope'])).evaluations).toBe(3);
    expect(await store.evaluationsFor('r1')).toEqual([]);
    expect(await store.applyRetention(T0 + 100)).toBe(0);
    expect(await store.applyRetention(T0 + 101)).toBe(1);
    expect(await store.evaluationsFor('r2')).toEqual([]);
  });

  it('an SQLite app database an older llmscope migrated (quality at version 1) opens on the app store, data kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-quality-'));
    const path = join(dir, 'old.db');
    try {
      const before = new SqliteStore(path, { checkpointIntervalMs: 0 });
      before.registerMigrations('quality', SQLITE_QUALITY_MIGRATIONS.slice(0, 1));
      await before.migrate();
      before.db
        .prepare(
          `INSERT INTO quality_review_queue (request_id, reasons, call_at, created_at, model, provider, feature, refusal, flagged_by, rating)
           VALUES ('r9', '["thumbs_down"]', ?, ?, 'm', 'p', null, 0, '[]', 'down')`,
        )
        .run(T0, T0);
      await before.close();

      const app = new SqliteStore(path, { checkpointIntervalMs: 0 });
      await app.migrate();
      const store = await qualityStoreFor(app.backend, () => T0);
      expect((await store.getReview('r9'))?.reasons).toEqual(['thumbs_down']);
      expect(app.db.prepare("SELECT count(*) AS n FROM schema_migrations WHERE namespace = 'quality'").get()).toEqual({
        n: 2,
      });
      await app.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a PostgreSQL database at quality version 1 opens on a new replica, data kept', async () => {
    const url = await pg.freshSchemaUrl();
    const before = new PostgresStore(url);
    await before.migrate();
    await before.backend.migrations.register('quality', QUALITY_MIGRATIONS);
    await new PostgresQualityStore(before.backend, () => T0).putFeedback(fb());
    await before.close();

    const app = new PostgresStore(url);
    open.push(app);
    await app.migrate();
    const store = await qualityStoreFor(app.backend, () => T0);
    expect(await store.feedbackFor('r1')).toEqual([fb()]);
    const { rows } = await app.backend.pool.query("SELECT version FROM schema_migrations WHERE namespace = 'quality'");
    expect(rows).toEqual([{ version: 1 }]);
  });
});
