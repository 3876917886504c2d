// SQLite-specific behaviour beyond the shared contract: URLs, pragmas, migrations, failure as rejection, chunked retention.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { LlmCall } from '../../calls/index.js';
import { encodeCursor } from '../cursor.js';
import { createStore, SqliteStore } from '../index.js';
import { otlpRequestId } from '../otlp-ids.js';
import { makeCall, T0 } from '../store.contract.js';
import type { CallQuery } from '../store.js';
import { listCallsSql, PREFIX_CANDIDATES, RETENTION_CHUNK } from './sqlite-store.js';
import { earlierRows, earlierSchema } from './testing.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tempPath = () => join(dir, `case-${++n}`, 'nested', 'llmscope.db');

const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
const track = (s: SqliteStore) => {
  open.push(s);
  return s;
};

describe('createStore', () => {
  it('opens sqlite:PATH, creating the directory, in WAL mode with synchronous=NORMAL', async () => {
    const path = tempPath();
    const store = track(createStore(`sqlite:${path}`) as SqliteStore);
    expect(store).toBeInstanceOf(SqliteStore);
    expect(store.kind).toBe('sqlite');
    expect(existsSync(path)).toBe(true);
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.db.pragma('synchronous', { simple: true })).toBe(1);
    expect(store.db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

  it('accepts sqlite::memory: and sqlite://PATH', async () => {
    expect(track(createStore('sqlite::memory:') as SqliteStore).path).toBe(':memory:');
    const path = tempPath();
    expect(track(createStore(`sqlite://${path}`) as SqliteStore).path).toBe(path);
  });

  it('hands PostgreSQL URLs to the PostgreSQL store (without connecting), and refuses unknown schemes', async () => {
    for (const url of ['postgres://u:secret@127.0.0.1:1/db', 'postgresql://127.0.0.1:1/db']) {
      const store = createStore(url);
      expect(store.kind).toBe('postgres');
      await store.close();
    }
    expect(() => createStore('mysql://x')).toThrow(/sqlite:PATH/);
    expect(() => createStore('sqlite:')).toThrow(/names no file/);
  });

  it('says which path it could not open', () => {
    expect(() => createStore(`sqlite:${dir}`)).toThrow(new RegExp(`cannot open the SQLite database at ${dir}`));
  });
});

describe('migrations', () => {
  it('records applied versions and is safe to run on every start', async () => {
    const path = tempPath();
    const a = new SqliteStore(path);
    await a.migrate();
    await a.migrate();
    await a.insertCalls([makeCall(1)]);
    await a.close();
    const b = track(new SqliteStore(path));
    await b.migrate();
    expect(await b.getCall('req-00001')).not.toBeNull();
    expect(b.db.prepare('SELECT namespace, version FROM schema_migrations ORDER BY version').all()).toEqual([
      { namespace: 'core', version: 1 },
      { namespace: 'core', version: 2 },
      { namespace: 'core', version: 3 },
      { namespace: 'core', version: 4 },
      { namespace: 'core', version: 5 },
      { namespace: 'core', version: 6 },
      { namespace: 'core', version: 7 },
      { namespace: 'core', version: 8 },
      { namespace: 'core', version: 9 },
      { namespace: 'core', version: 10 },
      { namespace: 'core', version: 11 },
    ]);
  });

  it('lets other modules add tables under their own namespace, before or after migrate()', async () => {
    const store = track(
      new SqliteStore(':memory:', {
        migrations: { gpu: [{ version: 1, name: 'samples', up: 'CREATE TABLE gpu_x (a INTEGER)' }] },
      }),
    );
    await store.migrate();
    store.registerMigrations('cost', [
      { version: 2, name: 'add b', up: (db) => db.exec('ALTER TABLE cost_x ADD COLUMN b TEXT') },
      { version: 1, name: 'daily', up: 'CREATE TABLE cost_x (a INTEGER)' },
    ]);
    store.db.prepare('INSERT INTO gpu_x (a) VALUES (1)').run();
    store.db.prepare("INSERT INTO cost_x (a, b) VALUES (1, 'x')").run();
    const rows = store.db
      .prepare('SELECT namespace, version, name FROM schema_migrations ORDER BY namespace, version')
      .all();
    expect(rows).toEqual([
      { namespace: 'core', version: 1, name: 'calls ledger and per-minute/per-hour rollups' },
      { namespace: 'core', version: 2, name: 'id prefix search: trace_id and session indexes' },
      {
        namespace: 'core',
        version: 3,
        name: 'cache_write_input_tokens: prompt tokens written to the provider cache (Anthropic)',
      },
      {
        namespace: 'core',
        version: 4,
        name: "error_message: the upstream's (or llmscope's) error message of a failed call, clipped and redacted",
      },
      {
        namespace: 'core',
        version: 5,
        name: "metadata: a call's string key/value metadata as a JSON object (NULL when it has none)",
      },
      {
        namespace: 'core',
        version: 6,
        name: 'partial indexes: calls_status holds only calls that did not succeed, calls_trace only calls with a trace id',
      },
      {
        namespace: 'core',
        version: 7,
        name: 'partial indexes: calls_user, calls_team and calls_feature hold only calls that carry the attribute',
      },
      {
        namespace: 'core',
        version: 8,
        name: "OTLP calls' ids lead with the span's start time; legacy_otlp_ids: until when ids of the old form may be stored",
      },
      {
        namespace: 'core',
        version: 9,
        name: "call_logs: the log lines that carried a call's request_id, as written to stdout (GET /api/requests/:id logs)",
      },
      {
        namespace: 'core',
        version: 10,
        name: "calls_api_key: a virtual key's calls (GET /api/requests?api_key_id=), only calls made with a key",
      },
      {
        namespace: 'core',
        version: 11,
        name: "upstream_request_id: the provider's own id for a call (OpenAI's x-request-id, Anthropic's request-id)",
      },
      { namespace: 'cost', version: 1, name: 'daily' },
      { namespace: 'cost', version: 2, name: 'add b' },
      { namespace: 'gpu', version: 1, name: 'samples' },
    ]);
    expect(() => store.registerMigrations('core', [])).toThrow(/belongs to the store/);
    expect(() => store.registerMigrations('x', [{ version: 0, name: 'bad', up: '' }])).toThrow(/positive integer/);
  });

  it('rolls back a namespace whose migration fails, leaving no half-applied schema', async () => {
    const store = track(new SqliteStore(':memory:'));
    await store.migrate();
    expect(() =>
      store.registerMigrations('broken', [
        { version: 1, name: 'ok', up: 'CREATE TABLE broken_a (a INTEGER)' },
        { version: 2, name: 'fails', up: 'CREATE TABLE broken_a (a INTEGER)' },
      ]),
    ).toThrow(/already exists/);
    expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'broken_a'").all()).toEqual([]);
    expect(store.db.prepare("SELECT * FROM schema_migrations WHERE namespace = 'broken'").all()).toEqual([]);
  });

  it('upgrades a version 5 database to the partial status and trace indexes, with the same answers', async () => {
    const path = tempPath();
    // a database as the previous release left it: core migrations 1–5, calls of every status, some without a trace
    const old = new SqliteStore(path, { writerThread: false });
    earlierSchema(old.db, 5);
    const statuses = ['ok', 'ok', 'ok', 'upstream_error', 'timeout', 'rate_limited', 'client_error', 'cancelled'];
    const calls = Array.from({ length: 400 }, (_, i) =>
      makeCall(i, {
        status: statuses[i % statuses.length] as LlmCall['status'],
        traceId: i % 3 ? makeCall(i).traceId : null,
      }),
    );
    await old.insertCalls(calls);
    const queries: CallQuery[] = [
      ...[...new Set(statuses)].map((status) => ({ status: status as LlmCall['status'], limit: 500 })),
      { status: 'timeout', model: 'gpt-4o', limit: 500 },
      { text: '0000000', limit: 500 },
      { text: '00000', status: 'upstream_error', limit: 500 },
    ];
    const ids = async (s: SqliteStore, q: CallQuery) => (await s.listCalls(q)).items.map((c) => c.requestId);
    const before = await Promise.all(queries.map((q) => ids(old, q)));
    expect(before[3]?.length).toBe(50);
    earlierRows(old.db);
    await old.close();

    const store = track(new SqliteStore(path));
    await store.migrate();
    const indexSql = (name: string) =>
      (store.db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
    expect(indexSql('calls_status')).toMatch(/WHERE status <> 'ok'/);
    expect(indexSql('calls_trace')).toMatch(/WHERE trace_id IS NOT NULL/);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(await Promise.all(queries.map((q) => ids(store, q)))).toEqual(before);
    // and new calls are found the same way
    await store.insertCalls([makeCall(1000, { status: 'timeout', traceId: null })]);
    expect((await ids(store, { status: 'timeout', limit: 500 }))[0]).toBe('req-01000');
  });

  it('upgrades a version 6 database to partial user, team and feature indexes, with the same answers', async () => {
    const path = tempPath();
    // as the previous release left it: core migrations 1–6, calls with and without each attribute
    const old = new SqliteStore(path, { writerThread: false });
    earlierSchema(old.db, 6);
    const calls = Array.from({ length: 400 }, (_, i) =>
      makeCall(i, {
        user: i % 3 === 0 ? null : `u-${i % 4}`,
        team: i % 5 === 0 ? null : `t-${i % 2}`,
        feature: i % 2 === 0 ? null : `f-${i % 3}`,
      }),
    );
    await old.insertCalls(calls);
    const queries: CallQuery[] = [
      { user: 'u-1', limit: 500 },
      { team: 't-0', limit: 500 },
      { feature: 'f-2', limit: 500 },
      { user: 'u-1', team: 't-1', feature: 'f-1', limit: 500 },
      { user: 'u-3', limit: 7 },
      { team: 't-1', from: T0 + 50, to: T0 + 300_000, limit: 500 },
      { user: 'nobody', limit: 500 },
      { limit: 500 },
    ];
    const ids = async (s: SqliteStore, q: CallQuery) => (await s.listCalls(q)).items.map((c) => c.requestId);
    const before = await Promise.all(queries.map((q) => ids(old, q)));
    expect(before.slice(0, 4).every((b) => b.length > 10)).toBe(true);
    earlierRows(old.db);
    await old.close();

    const store = track(new SqliteStore(path));
    await store.migrate();
    const indexSql = (name: string) =>
      (store.db.prepare('SELECT sql FROM sqlite_master WHERE name = ?').get(name) as { sql: string }).sql;
    expect(indexSql('calls_user')).toMatch(/WHERE "user" IS NOT NULL/);
    expect(indexSql('calls_team')).toMatch(/WHERE team IS NOT NULL/);
    expect(indexSql('calls_feature')).toMatch(/WHERE feature IS NOT NULL/);
    expect(store.db.pragma('integrity_check', { simple: true })).toBe('ok');
    // only the calls that carry the attribute have an entry (ANALYZE's first figure: the index's entries)
    store.db.exec('ANALYZE');
    const entries = (index: string) =>
      Number.parseInt(
        (store.db.prepare('SELECT stat FROM sqlite_stat1 WHERE idx = ?').get(index) as { stat: string }).stat,
        10,
      );
    const count = (where: string) =>
      (store.db.prepare(`SELECT count(*) AS n FROM calls WHERE ${where}`).get() as { n: number }).n;
    expect(entries('calls_user')).toBe(count('"user" IS NOT NULL'));
    expect(entries('calls_team')).toBe(count('team IS NOT NULL'));
    expect(entries('calls_feature')).toBe(count('feature IS NOT NULL'));
    expect(await Promise.all(queries.map((q) => ids(store, q)))).toEqual(before);
    // and new calls are found the same way
    await store.insertCalls([makeCall(1000, { user: 'u-1', team: null, feature: 'f-2' })]);
    expect((await ids(store, { user: 'u-1', limit: 500 }))[0]).toBe('req-01000');
    expect((await ids(store, { feature: 'f-2', limit: 500 }))[0]).toBe('req-01000');
  });

  it('upgrades a version 7 database holding OTLP calls: a span stored under its old id still counts once', async () => {
    const path = tempPath();
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const startNs = BigInt(T0) * 1_000_000n + 123_456n;
    // as the previous release left it: core migrations 1–7, an OTLP call under the old id form
    const old = new SqliteStore(path, { writerThread: false });
    earlierSchema(old.db, 7);
    await old.insertCalls([makeCall(1, { requestId: `otlp-${trace}-00f067aa0ba902b7` }), makeCall(2)]);
    earlierRows(old.db);
    await old.close();

    const store = track(new SqliteStore(path));
    await store.migrate();
    const sent = otlpRequestId(trace, '00f067aa0ba902b7', startNs);
    const other = otlpRequestId(trace, '00f067aa0ba902b8', startNs);
    expect(sent).toBe(`otlp-${T0.toString(16).padStart(12, '0')}-${trace}-00f067aa0ba902b7`);
    expect(await store.knownIds([sent, other, 'req-00002', 'req-00009'])).toEqual(new Set([sent, 'req-00002']));
    // the old form is looked for only up to a day past the upgrade (spans started later cannot be stored under it)
    const later = otlpRequestId(trace, '00f067aa0ba902b7', BigInt(Date.now() + 2 * 86_400_000) * 1_000_000n);
    expect(await store.knownIds([later])).toEqual(new Set());
    // the row stays readable under its old id
    expect((await store.getCall(`otlp-${trace}-00f067aa0ba902b7`))?.requestId).toBe(`otlp-${trace}-00f067aa0ba902b7`);
    await store.close();
    open.length = 0;
    // and after a restart
    const again = track(new SqliteStore(path));
    await again.migrate();
    expect(await again.knownIds([sent])).toEqual(new Set([sent]));
  });

  it('a database without OTLP calls at the upgrade never looks for the old id form', async () => {
    const store = track(new SqliteStore(tempPath()));
    await store.migrate();
    const trace = '4bf92f3577b34da6a3ce929d0e0e4736';
    // a row under the old form written after the upgrade (only a copy from another store could) is not looked for
    await store.insertCalls([makeCall(1, { requestId: `otlp-${trace}-00f067aa0ba902b7` })]);
    const id = otlpRequestId(trace, '00f067aa0ba902b7', BigInt(T0) * 1_000_000n);
    expect(await store.knownIds([id])).toEqual(new Set());
    expect(store.db.prepare('SELECT count(*) AS n FROM legacy_otlp_ids').get()).toEqual({ n: 0 });
  });

  it('refuses a database that a newer llmscope upgraded', async () => {
    const store = track(new SqliteStore(':memory:'));
    await store.migrate();
    store.db.prepare("INSERT INTO schema_migrations VALUES ('core', 99, 'future', 0)").run();
    await expect(store.migrate()).rejects.toThrow(/version 99 .* newer llmscope/);
  });
});

describe('failures are rejections, never crashes', () => {
  it('rejects a whole batch while the database is read-only (PRAGMA query_only), then recovers', async () => {
    const store = track(new SqliteStore(tempPath()));
    await store.migrate();
    await store.insertCalls([makeCall(1)]);
    store.db.pragma('query_only = ON');
    await expect(store.insertCalls([makeCall(2), makeCall(3)])).rejects.toThrow(/readonly|read-only|query_only/i);
    expect(await store.ping()).toBe(false);
    // reads still work while writes are refused
    expect((await store.listCalls({})).items).toHaveLength(1);
    store.db.pragma('query_only = OFF');
    expect(await store.ping()).toBe(true);
    await store.insertCalls([makeCall(2)]);
    expect((await store.listCalls({})).items.map((c) => c.requestId)).toEqual(['req-00002', 'req-00001']);
    const [p] = await store.queryRollups({ from: T0, to: T0 + 60_000, step: 'minute' });
    expect(p?.requests).toBe(2); // the refused batch left nothing behind
  });

  it('stores a non-finite optional measurement as null instead of failing the batch', async () => {
    const store = track(new SqliteStore(':memory:'));
    await store.migrate();
    await store.insertCalls([makeCall(2, { ttftMs: Number.NaN, costUsd: Number.POSITIVE_INFINITY })]);
    expect(await store.getCall('req-00002')).toMatchObject({ ttftMs: null, costUsd: null });
    const [p] = await store.queryRollups({ from: T0, to: T0 + 60_000, step: 'minute' });
    expect(p).toMatchObject({ requests: 1, costUsd: 0, ttft: {} });
  });

  it('rejects, not throws, before migrate() and after close()', async () => {
    const store = new SqliteStore(':memory:');
    const pending = store.insertCalls([makeCall(1)]);
    expect(pending).toBeInstanceOf(Promise);
    await expect(pending).rejects.toThrow(/no such table/);
    await store.close();
    const closed = store.insertCalls([makeCall(1)]);
    await expect(closed).rejects.toThrow(/not open/);
    await expect(store.listCalls({})).rejects.toThrow();
    await expect(store.applyRetention({ rawBefore: 0, minuteBefore: 0, hourBefore: 0 })).rejects.toThrow();
  });
});

describe('retention in chunks', () => {
  it(`deletes more than one chunk (${RETENTION_CHUNK} rows) and leaves newer rows`, async () => {
    const store = track(new SqliteStore(tempPath()));
    await store.migrate();
    const total = RETENTION_CHUNK * 2 + 500;
    const calls = Array.from({ length: total }, (_, i) => makeCall(i, { startedAt: T0 + i * 100 }));
    for (let i = 0; i < total; i += 256) await store.insertCalls(calls.slice(i, i + 256));
    const cut = T0 + (total - 100) * 100;
    const r = await store.applyRetention({ rawBefore: cut, minuteBefore: 0, hourBefore: 0 });
    expect(r).toEqual({ deletedCalls: total - 100, deletedRollups: 0 });
    expect((await store.listCalls({ limit: 500 })).items).toHaveLength(100);
  });
});

describe('query plans', () => {
  const plan = (store: SqliteStore, sql: string, ...params: unknown[]) =>
    (store.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
      .map((r) => r.detail)
      .join('; ');

  it('the newest-first listing, its cursor and the equality filters use an index, not a table scan', async () => {
    const store = track(new SqliteStore(':memory:'));
    await store.migrate();
    const page = (q: CallQuery) => {
      const { sql, params } = listCallsSql(q, 51);
      return plan(store, sql, ...params);
    };
    const cursor = encodeCursor({ startedAt: T0, requestId: 'req-1' });
    expect(page({})).toMatch(/calls_started/);
    expect(page({ from: T0, to: T0 + 1 })).toMatch(
      /SEARCH calls USING INDEX calls_started \(started_at>\? AND started_at<\?\)/,
    );
    // a later page seeks to the cursor rather than scanning the pages before it
    expect(page({ cursor })).toMatch(/SEARCH calls USING INDEX calls_started \(\(started_at,request_id\)<\(\?,\?\)\)/);
    expect(page({ model: 'x', cursor })).toMatch(/SEARCH calls USING INDEX calls_model \(model=\? AND started_at<\?\)/);
    for (const q of [{ user: 'x' }, { team: 'x' }, { feature: 'x' }, { status: 'timeout' as const }])
      expect(page({ ...q, from: T0 })).toMatch(/SEARCH calls USING INDEX calls_(user|team|feature|status) /);
    // calls_status holds only calls that did not succeed (partial): status=ok, nearly every row, walks the time index
    expect(page({ status: 'upstream_error', cursor })).toMatch(/SEARCH calls USING INDEX calls_status \(status=\?/);
    expect(page({ status: 'ok', cursor })).toMatch(/SEARCH calls USING INDEX calls_started /);
    // q: the candidates plan drives the primary key from the three id indexes; the scan plan walks the time index
    const candidates = listCallsSql({ text: 'abc', from: T0 }, 51, 'candidates');
    const cp = plan(store, candidates.sql, ...candidates.params);
    expect(cp).toMatch(/SEARCH calls USING INDEX sqlite_autoindex_calls_1 \(request_id=\?\)/);
    expect(cp).toMatch(/calls_trace \(trace_id>\? AND trace_id<\?\)/);
    expect(cp).toMatch(/calls_session \(session>\? AND session<\?\)/);
    expect(cp).not.toMatch(/SCAN calls(?! USING)/);
    const scan = listCallsSql({ text: 'abc', from: T0 }, 51, 'scan');
    expect(plan(store, scan.sql, ...scan.params)).toMatch(/calls_started|MULTI-INDEX OR/);
    expect(plan(store, 'SELECT * FROM calls_rollup_minute WHERE t >= ? AND t < ?', 0, 1)).toMatch(
      /calls_rollup_minute_key/,
    );
  });
});

describe('id prefix search (q)', () => {
  it('gives the same pages whichever plan it takes, and takes the scan past PREFIX_CANDIDATES matches', async () => {
    const store = track(new SqliteStore(':memory:'));
    await store.migrate();
    const n = PREFIX_CANDIDATES + 500;
    // every id starts with "req-"; one in 100 sessions starts with "vip-"
    const calls = Array.from({ length: n }, (_, i) => makeCall(i, { session: i % 100 === 0 ? `vip-${i}` : `s-${i}` }));
    for (let i = 0; i < n; i += 500) await store.insertCalls(calls.slice(i, i + 500));
    const rows = (q: CallQuery, p: 'candidates' | 'scan') => {
      const { sql, params } = listCallsSql(q, 1000, p);
      return (store.db.prepare(sql).all(...params) as { request_id: string }[]).map((r) => r.request_id);
    };
    for (const q of [{ text: 'req-' }, { text: 'vip-' }, { text: 'req-001', model: 'gpt-4o' }, { text: 'nothing' }]) {
      const a = rows(q, 'candidates');
      expect(rows(q, 'scan')).toEqual(a);
      expect((await store.listCalls({ ...q, limit: 500 })).items.map((c) => c.requestId)).toEqual(a.slice(0, 500));
    }
    expect(rows({ text: 'vip-' }, 'scan')).toHaveLength(n / 100);
    // "req-" matches every call: listCalls reads in time order (the candidates would be the whole table)
    expect(store.prefixPlan('req-')).toBe('scan');
    expect(store.prefixPlan('vip-')).toBe('candidates');
    expect(store.prefixPlan('nothing')).toBe('candidates');
  });
});
