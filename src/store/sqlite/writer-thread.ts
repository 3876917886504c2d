// The SQLite writer thread's entry (see writer.ts): its own connection to the store's file, the same CallWriter as
// the store's, and one transaction per batch posted to it; write jobs (a capability's module exporting
// `run(db, payload)`, see backend.ts) run here too, in the order they were posted. Answers `{ id, result }` when a
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

/** A write job's module: `run` writes `payload` on `db` (in a transaction of its own) and returns a clonable value. */
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

/** Messages are handled one at a time, in order: a job's module is imported (once) before its first run. */
let queue: Promise<void> = Promise.resolve();

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

async function handle(msg: Exclude<WriterRequest, { stop: true }>): Promise<WriterReply> {
  yieldToMain();
  try {
    if ('rows' in msg) {
      writer.insertRows(msg.rows);
      return { id: msg.id };
    }
    if ('packed' in msg) {
      writer.insertRows(unpackRows(msg.packed));
      return { id: msg.id };
    }
    let job = jobs.get(msg.job);
    if (!job) {
      job = (await import(pathToFileURL(msg.job).href)) as WriteJobModule;
      jobs.set(msg.job, job);
    }
    return { id: msg.id, result: job.run(db, msg.payload) };
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    return {
      id: msg.id,
      error: { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : null },
    };
  }
}

port.on('message', (msg: WriterRequest) => {
  if ('stop' in msg) {
    queue = queue.then(() => {
      try {
        db.close();
      } catch {
        // closing is best effort: the store's own connection checkpoints at its close
      }
      port.close();
    });
    return;
  }
  // A batch of calls needs no import: it is written at once when nothing is ahead of it.
  queue = queue.then(async () => port.postMessage(await handle(msg)));
});
