// The SQLite writer thread's entry (see writer.ts): its own connection to the store's file, the same CallWriter as
// the store's, and one transaction per batch posted to it — or per group of them, when several wait (see
// writeGroup); write jobs (a capability's module exporting `run(db, payload)`, see backend.ts) run here too, in the
// order they were posted. Answers `{ id, result }` when a batch or job is committed, or `{ id, error }` with SQLite's
// message and code, so the store can reject (and the recorder retry) exactly as if the write had failed on the main
// thread.
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
 * A write job's module: `run` writes `payload` on `db` in a transaction of its own (`db.transaction`: a savepoint
 * when the thread writes it in a group, so every write must be inside it) and returns a clonable value.
 */
export interface WriteJobModule {
  run(db: BetterSqlite3.Database, payload: unknown): unknown;
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

/**
 * Requests posted while the thread was busy are written together: one outer transaction (each batch's and job's own
 * transaction becomes a savepoint inside it), so a commit's page writes — the same index and rollup pages dirtied
 * batch after batch — and its fixed cost are paid once per group instead of once per request. A group stops at
 * GROUP_ROWS calls or GROUP_REQUESTS requests, or as soon as the main connection has a write waiting.
 */
const GROUP_ROWS = 4096;
const GROUP_REQUESTS = 16;

type Request = Exclude<WriterRequest, { stop: true }>;
const pending: Request[] = [];
let stopRequested = false;
let draining = false;
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const rollback = db.prepare('ROLLBACK');

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

/** Writes one request (a batch of calls, or a job whose module is loaded) in its own transaction, or a savepoint. */
function write(msg: Request): WriterReply {
  try {
    if ('rows' in msg) {
      writer.insertRows(msg.rows);
      return { id: msg.id };
    }
    if ('packed' in msg) {
      writer.insertRows(unpackRows(msg.packed));
      return { id: msg.id };
    }
    const job = jobs.get(msg.job);
    if (!job) throw new Error(`the write job ${msg.job} is not loaded`);
    return { id: msg.id, result: job.run(db, msg.payload) };
  } catch (err) {
    return { id: msg.id, error: errorOf(err) };
  }
}

/**
 * Writes a group in one transaction and answers each request once it is committed. A request that fails inside
 * it is rolled back to its savepoint and answered with its error, the others committed. Should the group's
 * transaction itself fail (a failed COMMIT, or an error after which SQLite rolled the whole transaction back), each
 * request is written again on its own, as if there had been no group, so no answer says "written" for rows that
 * are not.
 */
function writeGroup(group: readonly Request[]): WriterReply[] {
  yieldToMain();
  if (group.length === 1) return [write(group[0] as Request)];
  try {
    begin.run();
  } catch {
    return group.map(write);
  }
  const replies: WriterReply[] = [];
  for (const msg of group) {
    replies.push(write(msg));
    // An error after which SQLite rolled back the whole transaction (SQLITE_FULL, an I/O error): nothing of the
    // group is written, and what follows must not run outside it
    if (!db.inTransaction) return group.map(write);
  }
  try {
    commit.run();
    return replies;
  } catch {
    if (db.inTransaction) rollback.run();
  }
  return group.map(write);
}

/** The next group: in order, up to the limits, cut short when the main connection is waiting to write. */
function nextGroup(): Request[] {
  let rows = 0;
  let n = 0;
  while (n < pending.length && n < GROUP_REQUESTS && rows < GROUP_ROWS) {
    if (n > 0 && Atomics.load(data.gate, 0) > 0) break;
    const msg = pending[n] as Request;
    rows += 'rows' in msg ? msg.rows.length : 'packed' in msg ? msg.packed.kinds.length / (msg.packed.width || 1) : 1;
    n++;
  }
  return pending.splice(0, Math.max(1, n));
}

/** Loads (once) the module of every job waiting, so a group never waits on an import; an import error is its answer. */
async function loadJobs(): Promise<void> {
  for (const msg of pending) {
    if (!('job' in msg) || jobs.has(msg.job)) continue;
    try {
      jobs.set(msg.job, (await import(pathToFileURL(msg.job).href)) as WriteJobModule);
    } catch (err) {
      // answered by write() for each request naming it, with the import's error
      jobs.set(msg.job, {
        run: () => {
          throw err;
        },
      });
    }
  }
}

/** Writes what is waiting, group by group, in the order it was posted; then closes if asked to stop. */
async function drain(): Promise<void> {
  if (draining) return;
  draining = true;
  try {
    while (pending.length > 0) {
      await loadJobs();
      for (const reply of writeGroup(nextGroup())) port?.postMessage(reply);
      // let the messages posted meanwhile arrive (they wait on the port until this thread's event loop turns), so
      // the next group holds them
      await new Promise<void>((r) => setImmediate(r));
    }
    if (stopRequested) {
      try {
        db.close();
      } catch {
        // closing is best effort: the store's own connection checkpoints at its close
      }
      port?.close();
    }
  } finally {
    draining = false;
  }
}

port.on('message', (msg: WriterRequest) => {
  if ('stop' in msg) stopRequested = true;
  else pending.push(msg);
  // after the messages already queued on the port have arrived: they join the same group
  setImmediate(() => void drain());
});
