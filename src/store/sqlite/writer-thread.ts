// The SQLite writer thread's entry (see writer.ts): its own connection to the store's file, the same CallWriter as
// the store's, and the batches posted to it written in order, those waiting together in one transaction (see
// GROUP_CALLS); write jobs (a capability's module exporting `run(db, payload)`, see backend.ts) run here too, in the
// order they were posted. Answers `{ id, result }` when a
// batch or job is done, or `{ id, error }` with SQLite's message and code, so the store can reject (and the recorder
// retry) exactly as if the write had failed on the main thread.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { CallValue } from '../call-row.js';
import { CallWriter, registerHistogramFunctions } from './call-writer.js';
import { type PackedRows, unpackRows } from './row-pack.js';

export interface WriterThreadData {
  path: string;
  /** Resolved path of better-sqlite3, so the entry needs no module resolution of its own (see writer.ts). */
  driver: string;
  busyTimeoutMs: number;
  /** The connection's automatic checkpoint threshold, in WAL pages (the store's own connection's). */
  autocheckpoint: number;
  /** Writes the main connection has waiting (writer.ts guardWrites): the thread starts no transaction while > 0. */
  gate: Int32Array;
}

/**
 * A write job's module: `run` writes `payload` on `db` in a transaction of its own and returns a clonable value.
 * `write`, where the module has it, writes the same inside the transaction it is called in (no transaction, and no
 * savepoint, of its own): the thread then writes it in one transaction with the requests waiting beside it.
 */
export interface WriteJobModule {
  run(db: BetterSqlite3.Database, payload: unknown): unknown;
  write?(db: BetterSqlite3.Database, payload: unknown): unknown;
}

export type WriterRequest =
  | { id: number; rows: CallValue[][] }
  | { id: number; packed: PackedRows }
  | { id: number; job: string; payload: unknown }
  | { stop: true };
export type WriterReply = { id: number; result?: unknown; error?: { message: string; code: string | null } };

const data = workerData as WriterThreadData;
const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs only as a worker thread');
const Database = createRequire(import.meta.url)(data.driver) as typeof BetterSqlite3;
const db = new Database(data.path, { fileMustExist: true });
db.pragma(`busy_timeout = ${data.busyTimeoutMs}`);
db.pragma('synchronous = NORMAL');
db.pragma('temp_store = MEMORY');
db.pragma('cache_size = -16000');
db.pragma(`wal_autocheckpoint = ${data.autocheckpoint}`);
registerHistogramFunctions(db);
const writer = new CallWriter(db);
const jobs = new Map<string, WriteJobModule>();
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');

/**
 * The requests waiting when the thread is free are written in one transaction, each request's writes made straight
 * in it (CallWriter.writeRows, a job's `write`; no savepoints): the pages that batch after batch dirty — the recent
 * end of each time-ordered index, the rollup and spend rows — are written to the WAL once per group instead of once
 * per request, and so copied once by the checkpoint. A group stops at GROUP_CALLS calls or GROUP_REQUESTS requests,
 * at a job without `write`, or as soon as the main connection has a write waiting. Each request is answered when the
 * group is committed. Should anything in the group fail, the whole group is rolled back and each request written
 * again in a transaction of its own, as if there had been no group, so each gets its own answer.
 */
const GROUP_CALLS = 4096;
const GROUP_REQUESTS = 16;

type Request = Exclude<WriterRequest, { stop: true }>;
/** Received and not yet written, in order. */
const pending: Request[] = [];
/** Requests whose job module failed to load: answered with that error. */
const unloadable = new Map<Request, unknown>();
let draining = false;
let stopRequested = false;
/**
 * Waits while the main connection has a write waiting, so it gets the lock at its next try instead of finding one
 * batch after another holding it (SQLite's busy handler polls; a busy thread would starve it up to busy_timeout).
 * Bounded: at most 1 s in all, should the main thread stop in the middle of a write.
 */
function yieldToMain(): void {
  const gate = data.gate;
  const until = Date.now() + 1000;
  for (let v = Atomics.load(gate, 0); v > 0 && Date.now() < until; v = Atomics.load(gate, 0))
    Atomics.wait(gate, 0, v, 20);
}

const errorOf = (err: unknown): WriterReply['error'] => {
  const e = err as { message?: unknown; code?: unknown };
  return { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : null };
};

const rowsOf = (msg: Request): CallValue[][] | null =>
  'rows' in msg ? msg.rows : 'packed' in msg ? unpackRows(msg.packed) : null;

/** Writes one request in its own transaction (a job's `run`), as the thread did before groups. */
function writeAlone(msg: Request, rows: CallValue[][] | null): WriterReply {
  if (unloadable.has(msg)) return { id: msg.id, error: errorOf(unloadable.get(msg)) };
  try {
    if (rows) {
      writer.insertRows(rows);
      return { id: msg.id };
    }
    const job = jobs.get((msg as { job: string }).job) as WriteJobModule;
    return { id: msg.id, result: job.run(db, (msg as { payload: unknown }).payload) };
  } catch (err) {
    return { id: msg.id, error: errorOf(err) };
  }
}

/** Whether a request can be written inside a group's transaction. */
function groupable(msg: Request): boolean {
  if (unloadable.has(msg)) return false;
  return !('job' in msg) || typeof jobs.get(msg.job)?.write === 'function';
}

/** The calls a request writes (1 for a job), for the group's bound. */
const sizeOf = (msg: Request): number =>
  'rows' in msg ? msg.rows.length : 'packed' in msg ? msg.packed.kinds.length / (msg.packed.width || 1) : 1;

/** The next group: from the first request waiting, in order, up to the bounds. */
function nextGroup(): Request[] {
  const first = pending[0] as Request;
  let n = 1;
  if (groupable(first)) {
    let calls = sizeOf(first);
    while (n < pending.length && n < GROUP_REQUESTS) {
      const msg = pending[n] as Request;
      if (!groupable(msg) || calls + sizeOf(msg) > GROUP_CALLS || Atomics.load(data.gate, 0) > 0) break;
      calls += sizeOf(msg);
      n++;
    }
  }
  return pending.splice(0, n);
}

/**
 * Writes a group (see GROUP_CALLS) and returns the answers of the requests written. Should the main connection raise
 * the gate meanwhile, the group is committed after the request in hand and the rest go back to wait, so that write
 * waits for one request's writes at most, as without groups.
 */
function writeGroup(group: readonly Request[]): WriterReply[] {
  yieldToMain();
  const rows = group.map(rowsOf);
  if (group.length === 1) return [writeAlone(group[0] as Request, rows[0] as CallValue[][] | null)];
  const replies: WriterReply[] = [];
  let n = 0;
  try {
    begin.run();
    for (; n < group.length; n++) {
      if (n > 0 && Atomics.load(data.gate, 0) > 0) break;
      const msg = group[n] as Request;
      const r = rows[n];
      if (r) {
        writer.writeRows(r);
        replies.push({ id: msg.id });
      } else {
        const job = jobs.get((msg as { job: string }).job) as WriteJobModule & Required<Pick<WriteJobModule, 'write'>>;
        replies.push({ id: msg.id, result: job.write(db, (msg as { payload: unknown }).payload) });
      }
    }
    commit.run();
    pending.unshift(...group.slice(n));
    return replies;
  } catch {
    // SQLite may have rolled the transaction back already (SQLITE_FULL, an I/O error)
    if (db.inTransaction) rollback.run();
  }
  return group.map((msg, i) => writeAlone(msg, rows[i] as CallValue[][] | null));
}

/** Loads the job modules the waiting requests need (once each); a module that fails to load fails its requests. */
async function loadJobs(): Promise<void> {
  for (const msg of pending) {
    if (!('job' in msg) || jobs.has(msg.job) || unloadable.has(msg)) continue;
    try {
      jobs.set(msg.job, (await import(pathToFileURL(msg.job).href)) as WriteJobModule);
    } catch (err) {
      unloadable.set(msg, err);
    }
  }
}

/** Writes what is waiting, group after group, then closes the connection if the store asked the thread to stop. */
async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (pending.length > 0) {
      await loadJobs();
      const group = nextGroup();
      for (const reply of writeGroup(group)) port?.postMessage(reply);
      for (const msg of group) unloadable.delete(msg);
    }
  } finally {
    draining = false;
  }
  if (stopRequested && pending.length === 0) {
    try {
      db.close();
    } catch {
      // closing is best effort: the store's own connection checkpoints at its close
    }
    port?.close();
  }
}

port.on('message', (msg: WriterRequest) => {
  if ('stop' in msg) stopRequested = true;
  else pending.push(msg);
  // After the messages already received are in `pending` (the port hands them over before the check phase), so a
  // busy thread's backlog goes in one group.
  setImmediate(() => void drain());
});
