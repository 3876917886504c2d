// WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside whichever commit pushes the WAL
// past 1,000 pages: it copies the WAL into the database file and fsyncs both, several milliseconds on the main
// thread, and on a busy gateway that commit is a recorder batch, so requests in flight wait for it. Here a worker
// thread with its own connection runs PASSIVE checkpoints (they never block the writer) every `intervalMs`; the
// main connection keeps a far higher automatic threshold only as a backstop, and goes back to SQLite's default if
// the worker fails.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * How often the worker checkpoints by default, in ms. A page written by many commits between two checkpoints is
 * copied into the database once, so a longer interval costs less CPU per call under load (per 1,000-call batch of
 * /api/ingest at 20,000 calls/s: about 3.2 µs a call every 200 ms, 1.7 every 500 ms), for a larger WAL between
 * checkpoints (about 30 MB at that rate; it stays under BACKSTOP_AUTOCHECKPOINT's 80 MB).
 */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 500;
/** SQLite's default automatic checkpoint threshold, in WAL pages. */
export const DEFAULT_AUTOCHECKPOINT = 1000;
/** The main connection's threshold while the worker checkpoints: only reached if the worker falls far behind. */
export const BACKSTOP_AUTOCHECKPOINT = 20_000;

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

export interface Checkpointer {
  /** Stops the worker and closes its connection; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts checkpointing the WAL database at `path` from a worker thread. `onFailure` runs (once) if the worker
 * cannot start or dies, so the caller can return the main connection to automatic checkpoints.
 */
export function startCheckpointer(path: string, intervalMs: number, onFailure: (err: unknown) => void): Checkpointer {
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER, { eval: true, workerData: { path, driver, intervalMs } });
  worker.unref();
  let stopping = false;
  let failed = false;
  const fail = (err: unknown) => {
    if (stopping || failed) return;
    failed = true;
    onFailure(err);
  };
  worker.on('error', fail);
  const exited = new Promise<void>((resolve) => {
    worker.once('exit', (code) => {
      if (code !== 0) fail(new Error(`the WAL checkpoint worker exited with code ${code}`));
      resolve();
    });
  });
  return {
    async stop() {
      if (stopping) return exited;
      stopping = true;
      worker.postMessage('stop');
      const timeout = setTimeout(() => void worker.terminate(), 2000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
