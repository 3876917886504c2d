// The SQLite writer thread: calls written from a worker thread land exactly as the store's own connection writes
// them (rows and rollups), a failing batch rejects with SQLite's code, and a thread that dies costs no call.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { SqliteBackend } from '../backend.js';
import { makeCall, T0 } from '../store.contract.js';
import { isTransientStoreError } from '../transient.js';
import { SqliteStore } from './sqlite-store.js';
import { startWriterThread, writeGate } from './writer.js';

const dir = mkdtempSync(join(tmpdir(), 'llmscope-writer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const tempPath = () => join(dir, `case-${++n}.db`);
const open: SqliteStore[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
async function store(opts: { writerThread?: boolean; busyTimeoutMs?: number } = {}): Promise<SqliteStore> {
  const s = new SqliteStore(tempPath(), opts);
  open.push(s);
  await s.migrate();
  return s;
}
const calls = (from: number, count: number) => Array.from({ length: count }, (_, i) => makeCall(from + i));
const hour = { from: T0 - 3_600_000, to: T0 + 86_400_000 };

describe('the SQLite writer thread', () => {
  it('writes the same rows and rollups as the store’s own connection, duplicates counted once', async () => {
    const threaded = await store();
    const direct = await store({ writerThread: false });
    for (const s of [threaded, direct]) {
      await s.insertCalls(calls(0, 300));
      await s.insertCalls(calls(250, 100)); // 50 ids again: ignored, and not in the rollups
      // A call carrying the gateway's internals (prompt text, hook facts) is stored without them, and keeps them.
      const c = makeCall(900);
      c.internal = { promptText: 'secret prompt', hooks: { f: () => 1 } } as unknown as typeof c.internal;
      await s.insertCalls([c]);
      expect(c.internal?.promptText).toBe('secret prompt');
    }
    expect(await threaded.callWriterThread()).not.toBeNull();
    expect(await direct.callWriterThread()).toBeNull();
    const page = async (s: SqliteStore) => (await s.listCalls({ limit: 500 })).items;
    expect(await page(threaded)).toEqual(await page(direct));
    expect((await page(threaded)).length).toBe(351);
    for (const step of ['minute', 'hour'] as const) {
      const q = { ...hour, step, groupBy: ['model' as const, 'team' as const] };
      expect(await threaded.queryRollups(q)).toEqual(await direct.queryRollups(q));
    }
    const [total] = await threaded.queryRollups({ ...hour, step: 'hour' });
    expect(total?.requests).toBe(351);
  });

  it('hands the thread every value exactly: texts of any content, fractions, nulls (rows packed for the thread)', async () => {
    const threaded = await store();
    const direct = await store({ writerThread: false });
    const odd = Array.from({ length: 50 }, (_, i) =>
      makeCall(i, {
        model: ['é😀-model', '', 'm\u0000nul', '\ud800lone'][i % 4] as string,
        user: i % 3 ? `ユーザー-${i}` : null,
        errorMessage: i % 5 ? null : 'x'.repeat(5000),
        metadata: i % 2 ? { clé: 'välue 😀', empty: '' } : null,
        costUsd: i % 7 ? 0.1 + 0.2 : null,
        startedAt: T0 + i * 1000 + 0.123456789,
        latencyMs: -0,
      }),
    );
    for (const s of [threaded, direct]) await s.insertCalls(odd);
    expect(await threaded.callWriterThread()).not.toBeNull();
    for (const c of odd) expect(await threaded.getCall(c.requestId)).toEqual(await direct.getCall(c.requestId));
    const raw = (s: SqliteStore) => s.db.prepare('SELECT * FROM calls ORDER BY request_id').raw().all();
    expect(raw(threaded)).toEqual(raw(direct));
  });

  it('makes a batch visible to the store’s reads as soon as insertCalls resolves', async () => {
    const s = await store();
    for (let b = 0; b < 20; b++) {
      await s.insertCalls(calls(b * 10, 10));
      expect(await s.getCall(`req-${String(b * 10 + 9).padStart(5, '0')}`)).not.toBeNull();
    }
  });

  it('writes while the main connection writes other tables (each waits for the other’s lock)', async () => {
    const s = await store();
    s.db.exec('CREATE TABLE side (n INTEGER)');
    const side = s.db.prepare('INSERT INTO side VALUES (?)');
    const writes = Array.from({ length: 20 }, (_, b) => s.insertCalls(calls(b * 50, 50)));
    for (let i = 0; i < 200; i++) side.run(i);
    await Promise.all(writes);
    expect((s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n).toBe(1000);
    expect((s.db.prepare('SELECT count(*) AS n FROM side').get() as { n: number }).n).toBe(200);
  });

  it('lets a main-connection write in between a backlog of batches, instead of starving it until busy_timeout', async () => {
    // busy_timeout 300 ms against seconds of queued batches: without the gate, the main connection's
    // polling busy handler finds one batch after another holding the lock, and fails with "database is locked".
    const s = await store({ busyTimeoutMs: 300 });
    s.db.exec('CREATE TABLE side (n INTEGER)');
    const side = s.db.prepare('INSERT INTO side VALUES (?)');
    await s.insertCalls(calls(100_000, 1)); // the thread is up
    const writes = Array.from({ length: 300 }, (_, b) => s.insertCalls(calls(b * 100, 100)));
    await new Promise((r) => setTimeout(r, 100)); // the thread is busy with the backlog
    const waits: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now();
      side.run(i);
      waits.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 5));
    }
    // Each waited for at most the thread's transaction in hand (a batch of 100), far under busy_timeout.
    expect(Math.max(...waits)).toBeLessThan(300);
    await Promise.all(writes);
    expect((s.db.prepare('SELECT count(*) AS n FROM side').get() as { n: number }).n).toBe(10);
    expect((s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n).toBe(30_001);
  }, 60_000);

  it('runs a main-connection transaction that reads, then writes, while the thread commits (IMMEDIATE by default)', async () => {
    // Begun DEFERRED, the read takes a snapshot; a commit by the thread before its write makes that write fail at
    // once with "database is locked" (a snapshot cannot be upgraded; no busy handler).
    const s = await store();
    s.db.exec('CREATE TABLE side (n INTEGER)');
    const count = s.db.prepare('SELECT count(*) AS n FROM calls');
    const put = s.db.prepare('INSERT INTO side VALUES (?)');
    const readThenWrite = s.db.transaction((i: number) => {
      const { n } = count.get() as { n: number };
      const until = performance.now() + 15;
      while (performance.now() < until); // the thread would commit meanwhile
      put.run(i * 1_000_000 + n);
    });
    await s.insertCalls(calls(100_000, 1));
    const writes = Array.from({ length: 100 }, (_, b) => s.insertCalls(calls(b * 100, 100)));
    for (let i = 0; i < 10; i++) {
      readThenWrite(i);
      await new Promise((r) => setTimeout(r, 10));
    }
    await Promise.all(writes);
    expect((s.db.prepare('SELECT count(*) AS n FROM side').get() as { n: number }).n).toBe(10);
  }, 60_000);

  it('writes the batches and jobs that wait together in one transaction; a failing one fails alone', async () => {
    // A job module as a capability writes one: `run` in a transaction of its own, `write` inside the thread's group
    const job = join(dir, `side-job-${n}.mjs`);
    writeFileSync(
      job,
      `function side(db, p) {
        db.prepare('INSERT INTO side VALUES (?)').run(p.n);
        if (p.fail) throw new Error('job refused');
      }
      export function run(db, p) {
        db.transaction(() => side(db, p))();
        return 'alone';
      }
      export function write(db, p) {
        if (!db.inTransaction) throw new Error('write outside a transaction');
        side(db, p);
        return 'grouped';
      }`,
    );
    const threaded = await store();
    const direct = await store({ writerThread: false });
    for (const s of [threaded, direct]) {
      s.db.exec('CREATE TABLE side (n INTEGER)');
      s.db.exec(
        "CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.model = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END",
      );
    }
    await threaded.insertCalls(calls(100_000, 1)); // the thread is up
    const backend: SqliteBackend = threaded.backend;
    // posted at once: they wait on the thread while it writes the first, and the rest go in groups
    const writes: Promise<unknown>[] = [];
    for (let b = 0; b < 40; b++) {
      const batch = calls(b * 100, 100);
      if (b === 17) batch[50] = makeCall(b * 100 + 50, { model: 'refused' });
      writes.push(threaded.insertCalls(batch));
      writes.push(backend.write(pathToFileURL(job), { n: b, fail: b === 23 }));
    }
    const settled = await Promise.allSettled(writes);
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([34, 47]); // batch 17 and job 23, each alone
    expect((settled[34] as PromiseRejectedResult).reason).toMatchObject({ code: 'SQLITE_CONSTRAINT_TRIGGER' });
    expect((settled[47] as PromiseRejectedResult).reason).toMatchObject({ message: 'job refused' });
    // most jobs were written inside a group's transaction
    const grouped = settled.filter((r, i) => i % 2 === 1 && r.status === 'fulfilled' && r.value === 'grouped').length;
    expect(grouped).toBeGreaterThan(20);
    const sides = (s: SqliteStore) =>
      (s.db.prepare('SELECT n FROM side ORDER BY n').all() as { n: number }[]).map((r) => r.n);
    expect(sides(threaded)).toEqual(Array.from({ length: 40 }, (_, b) => b).filter((b) => b !== 23));
    // the rows and rollups are exactly those of the batches that did not fail, written one by one
    await direct.insertCalls(calls(100_000, 1));
    for (let b = 0; b < 40; b++) if (b !== 17) await direct.insertCalls(calls(b * 100, 100));
    const count = (s: SqliteStore) => (s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n;
    expect(count(threaded)).toBe(3901);
    const raw = (s: SqliteStore) => s.db.prepare('SELECT * FROM calls ORDER BY request_id').raw().all();
    expect(raw(threaded)).toEqual(raw(direct));
    for (const step of ['minute', 'hour'] as const) {
      const q = { ...hour, step, groupBy: ['model' as const, 'team' as const, 'feature' as const] };
      expect(await threaded.queryRollups(q)).toEqual(await direct.queryRollups(q));
    }
  }, 60_000);

  it('writes a group again request by request when its transaction is lost, so nothing is written twice', async () => {
    // A job that ends the whole transaction (as SQLite does after SQLITE_FULL or an I/O error), then fails
    const job = join(dir, `rollback-job-${n}.mjs`);
    writeFileSync(
      job,
      `export function run(db, p) {
        if (p.lose) throw new Error('transaction lost');
        db.transaction(() => db.prepare('INSERT INTO side VALUES (?)').run(p.n))();
      }
      export function write(db, p) {
        if (p.lose) {
          db.exec('ROLLBACK');
          throw new Error('transaction lost');
        }
        db.prepare('INSERT INTO side VALUES (?)').run(p.n);
      }`,
    );
    const s = await store();
    s.db.exec('CREATE TABLE side (n INTEGER)');
    await s.insertCalls(calls(100_000, 1));
    const backend: SqliteBackend = s.backend;
    const writes: Promise<unknown>[] = [];
    for (let b = 0; b < 30; b++) {
      writes.push(s.insertCalls(calls(b * 100, 100)));
      writes.push(backend.write(pathToFileURL(job), { n: b, lose: b % 10 === 5 }));
    }
    const settled = await Promise.allSettled(writes);
    const failed = settled.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
    expect(failed).toEqual([11, 31, 51]);
    expect((s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n).toBe(3001);
    expect((s.db.prepare('SELECT n FROM side ORDER BY n').all() as { n: number }[]).map((r) => r.n)).toEqual(
      Array.from({ length: 30 }, (_, b) => b).filter((b) => b % 10 !== 5),
    );
    const [p] = await s.queryRollups({ ...hour, step: 'hour' }); // req-100000 starts after the window
    expect(p?.requests).toBe(3000);
  }, 60_000);

  it('writes a job without `write` in a transaction of its own, between the groups around it', async () => {
    const job = join(dir, `plain-job-${n}.mjs`);
    writeFileSync(
      job,
      `export function run(db, p) {
        const open = db.inTransaction;
        db.transaction(() => db.prepare('INSERT INTO side VALUES (?)').run(p.n))();
        return open;
      }`,
    );
    const s = await store();
    s.db.exec('CREATE TABLE side (n INTEGER)');
    await s.insertCalls(calls(100_000, 1));
    const writes: Promise<unknown>[] = [];
    for (let b = 0; b < 20; b++) {
      writes.push(s.insertCalls(calls(b * 100, 100)));
      writes.push(s.backend.write(pathToFileURL(job), { n: b }));
    }
    const settled = await Promise.all(writes);
    // no job ran inside another transaction
    expect(settled.filter((v, i) => i % 2 === 1 && v !== false)).toEqual([]);
    expect(s.db.prepare('SELECT n FROM side ORDER BY n').pluck().all()).toEqual(
      Array.from({ length: 20 }, (_, b) => b),
    );
    expect((s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n).toBe(2001);
  }, 60_000);

  it('rejects a failing batch with SQLite’s code and writes nothing of it', async () => {
    const s = await store();
    await s.insertCalls(calls(0, 1));
    s.db.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON calls WHEN NEW.model = 'refused' BEGIN SELECT RAISE(ABORT, 'refused by trigger'); END",
    );
    const bad = [makeCall(1), makeCall(2, { model: 'refused' })];
    await expect(s.insertCalls(bad)).rejects.toMatchObject({
      message: 'refused by trigger',
      code: 'SQLITE_CONSTRAINT_TRIGGER',
    });
    expect(await s.getCall('req-00001')).toBeNull();
    const [p] = await s.queryRollups({ ...hour, step: 'hour' });
    expect(p?.requests).toBe(1);
  });

  it('when the thread dies, its batch in flight fails with a passing error and later calls are written here', async () => {
    const s = await store();
    await s.insertCalls(calls(0, 10));
    const thread = await s.callWriterThread();
    expect(thread).not.toBeNull();
    const inFlight = s.insertCalls(calls(10, 500));
    await thread?.terminate();
    const err = await inFlight.then(
      () => null,
      (e: unknown) => e,
    );
    // Either the batch was committed before the thread ended, or it failed with an error the recorder retries.
    if (err) expect(isTransientStoreError(err)).toBe(true);
    else expect(await s.getCall('req-00509')).not.toBeNull();
    expect(await s.callWriterThread()).toBeNull();
    await s.insertCalls(calls(10, 500)); // the recorder's retry, now on the store's own connection
    expect((s.db.prepare('SELECT count(*) AS n FROM calls').get() as { n: number }).n).toBe(510);
  });

  it('a thread that cannot open the database reports the failure, and its writes fail with a passing error', async () => {
    const failures: Error[] = [];
    const thread = await startWriterThread({
      path: join(dir, 'missing', 'none.db'),
      busyTimeoutMs: 100,
      autocheckpoint: 1000,
      gate: writeGate(),
      onFailure: (err) => failures.push(err),
    });
    // Reported once the thread has tried (a fixed wait was no proof on a loaded machine).
    for (let i = 0; failures.length === 0 && i < 200; i++) await new Promise((r) => setTimeout(r, 50));
    expect(failures.length).toBe(1);
    const err = await thread.write(calls(0, 1)).catch((e: unknown) => e);
    expect(isTransientStoreError(err)).toBe(true);
    await thread.stop();
  });

  it('is started by migrate(), before the first write: its start never holds the first calls unwritten', async () => {
    const s = await store();
    expect(await s.callWriterThread()).not.toBeNull();
    expect(await (await store({ writerThread: false })).callWriterThread()).toBeNull();
  });

  it('refuses writes once the store is closing, as a closed connection does', async () => {
    const s = new SqliteStore(tempPath());
    await s.migrate();
    await s.insertCalls(calls(0, 5));
    await s.close();
    await expect(s.insertCalls(calls(5, 1))).rejects.toThrow(/not open/);
  });
});
