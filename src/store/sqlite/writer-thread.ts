// The SQLite writer thread's entry (see writer.ts): its own connection to the store's file, the same CallWriter as
// the store's, and one transaction per batch posted to it. Answers `{ id }` when a batch is committed, or
// `{ id, error }` with SQLite's message and code, so the store can reject (and the recorder retry) exactly as if
// the write had failed on the main thread.
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { LlmCall } from '../../calls/index.js';
import { CallWriter, registerHistogramFunctions } from './call-writer.js';

export interface WriterThreadData {
  path: string;
  /** Resolved path of better-sqlite3, so the entry needs no module resolution of its own (see writer.ts). */
  driver: string;
  busyTimeoutMs: number;
  /** The connection's automatic checkpoint threshold, in WAL pages (the store's own connection's). */
  autocheckpoint: number;
}

export type WriterRequest = { id: number; calls: LlmCall[] } | { stop: true };
export type WriterReply = { id: number; error?: { message: string; code: string | null } };

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

port.on('message', (msg: WriterRequest) => {
  if ('stop' in msg) {
    try {
      db.close();
    } catch {
      // closing is best effort: the store's own connection checkpoints at its close
    }
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    writer.insert(msg.calls);
    reply = { id: msg.id };
  } catch (err) {
    const e = err as { message?: unknown; code?: unknown };
    reply = {
      id: msg.id,
      error: { message: String(e?.message ?? err), code: typeof e?.code === 'string' ? e.code : null },
    };
  }
  port.postMessage(reply);
});
