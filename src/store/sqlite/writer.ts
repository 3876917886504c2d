// Calls written to SQLite off the event loop. A batch of calls is one transaction of about 20–40 µs per call (the
// row, its indexes and the rollup upserts): on the main thread that is most of what recording a call costs, and the
// gateway's next request waits behind it. Here a worker thread with its own connection to the same WAL file runs
// the batch (writer-thread.ts, the same CallWriter the store uses), and the main thread only encodes the calls'
// rows and posts them (a structured clone of flat values). The promise settles when the batch is committed or has
// failed, so the recorder's flush, retries and drop counts mean what they meant before, and a read after it sees
// the rows.
//
// If the thread cannot start or dies, its batches in flight fail with a passing error (the recorder writes them
// again) and `onFailure` tells the store to write on its own connection from then on.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Database } from 'better-sqlite3';
import type { LlmCall } from '../../calls/index.js';
import { rowsOf } from './call-writer.js';
import { packRows, transferOf } from './row-pack.js';
import type { WriterReply, WriterRequest, WriterThreadData } from './writer-thread.js';

export interface WriterThread {
  /** Writes one batch in one transaction on the thread; rejects with SQLite's error (message and code). */
  write(calls: readonly LlmCall[]): Promise<void>;
  /** Runs a write job (backend.ts) on the thread; resolves with what its `run` returned. */
  job<T>(job: URL, payload: unknown): Promise<T>;
  /** Batches posted and not yet answered. */
  readonly inFlight: number;
  /** Waits for the batches in flight, then closes the thread's connection and ends the thread. */
  stop(): Promise<void>;
  /** Ends the thread at once, as a crash would: batches in flight fail with a passing error. */
  terminate(): Promise<void>;
}

/** An error as SQLite gave it on the thread, with its `code` (SQLITE_BUSY, SQLITE_FULL, ...). */
class WriterError extends Error {
  constructor(
    message: string,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'SqliteError';
  }
}

/** The module at `url` for this thread's own import(): the `.ts` beside a `.js` URL when run from source. */
export function localModule(url: URL): URL {
  if (!import.meta.url.endsWith('.ts') || existsSync(fileURLToPath(url))) return url;
  return new URL(url.href.replace(/\.js$/, '.ts'));
}

/** Where a test setup puts the bundler that lets modules run from TypeScript source load on a thread. */
export const SOURCE_BUNDLER = Symbol.for('llmscope.sourceBundler');
/** Bundles the TypeScript module at `entry` (a path) into a file a worker thread can load; returns that file. */
export type SourceBundler = (entry: string) => Promise<string>;

/**
 * A file the thread can load for the module at `url` (a `.js` URL, as `new URL('./x.js', import.meta.url)` gives):
 * the file itself in dist. Run from source (the test runner), the module is TypeScript, which Node 20 cannot load in
 * a worker: the test setup's bundler (test/setup/worker-bundler.ts) turns the `.ts` beside it into a file that can.
 */
export async function loadable(url: URL): Promise<string> {
  const file = fileURLToPath(url);
  if (!import.meta.url.endsWith('.ts') || existsSync(file)) return file;
  const bundle = (globalThis as Record<symbol, SourceBundler | undefined>)[SOURCE_BUNDLER];
  if (!bundle)
    throw new Error(
      `${file} does not exist: run llmscope from its build (npm run build), or from source under the test runner`,
    );
  return bundle(file.replace(/\.js$/, '.ts'));
}

/** The count of main-connection writes waiting or running, shared with the writer thread (see guardWrites). */
export function writeGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(4));
}

/**
 * Makes every write statement `db` prepares (and `exec`, and each transaction) raise `gate` while it runs, so the
 * writer thread starts no new transaction meanwhile: the main connection's write then waits for at most the thread's
 * transaction in hand,
 * never for a backlog of them (SQLite's busy handler only polls, so behind a busy thread it could wait the whole
 * busy_timeout and fail with "database is locked"). Reads are not touched. Statements a capability prepares on
 * `backend.db` are guarded like the store's own.
 */
export function guardWrites(db: Database, gate: Int32Array): void {
  const raise = <T>(write: () => T): T => {
    Atomics.add(gate, 0, 1);
    try {
      return write();
    } finally {
      if (Atomics.sub(gate, 0, 1) === 1) Atomics.notify(gate, 0);
    }
  };
  const prepare = db.prepare.bind(db);
  db.prepare = ((source: string) => {
    const st = prepare(source);
    if (st.readonly) return st;
    const run = st.run.bind(st);
    st.run = (...params: unknown[]) => raise(() => run(...params));
    if (!st.reader) return st;
    // A write with RETURNING is read with get() or all()
    const get = st.get.bind(st);
    st.get = (...params: unknown[]) => raise(() => get(...params));
    const all = st.all.bind(st);
    st.all = (...params: unknown[]) => raise(() => all(...params));
    return st;
  }) as Database['prepare'];
  const exec = db.exec.bind(db);
  db.exec = (source: string) => raise(() => exec(source));
  // A transaction that reads before it writes would, begun DEFERRED, fail at its first write with SQLITE_BUSY
  // ("database is locked", the busy handler never called) whenever the thread committed since its read: a snapshot
  // cannot be upgraded. So the default is IMMEDIATE here (the write lock first, waiting as a single write does);
  // `.deferred` stays for a caller that asks for it.
  const transaction = db.transaction.bind(db);
  db.transaction = ((fn: (...args: unknown[]) => unknown) => {
    const tx = transaction(fn);
    const immediate = (...args: unknown[]) => raise(() => tx.immediate(...args));
    return Object.assign(immediate, {
      default: immediate,
      immediate,
      deferred: tx.deferred,
      exclusive: (...args: unknown[]) => raise(() => tx.exclusive(...args)),
      database: db,
    });
  }) as Database['transaction'];
}

export async function startWriterThread(
  opts: Omit<WriterThreadData, 'driver'> & { onFailure: (err: Error) => void },
): Promise<WriterThread> {
  const data: WriterThreadData = {
    path: opts.path,
    driver: createRequire(import.meta.url).resolve('better-sqlite3'),
    busyTimeoutMs: opts.busyTimeoutMs,
    autocheckpoint: opts.autocheckpoint,
    gate: opts.gate,
  };
  const worker = new Worker(await loadable(new URL('./writer-thread.js', import.meta.url)), { workerData: data });
  worker.unref();
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();
  let nextId = 1;
  let dead: Error | null = null;
  let stopping = false;
  let idle: (() => void) | null = null;

  const settle = (id: number, err: Error | null, result?: unknown) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (err) p.reject(err);
    else p.resolve(result);
    if (pending.size === 0) idle?.();
  };
  const die = (err: Error) => {
    if (dead) return;
    dead = err;
    // A passing error (SQLITE_IOERR): the recorder writes these batches again, on the store's own connection.
    for (const id of [...pending.keys()])
      settle(id, new WriterError(`the SQLite writer thread stopped: ${err.message}`, 'SQLITE_IOERR_WRITER'));
    if (!stopping) opts.onFailure(err);
  };
  worker.on('message', (reply: WriterReply) =>
    settle(reply.id, reply.error ? new WriterError(reply.error.message, reply.error.code) : null, reply.result),
  );
  worker.on('error', die);
  const exited = new Promise<void>((resolve) =>
    worker.once('exit', (code) => {
      die(new Error(`exited with code ${code}`));
      resolve();
    }),
  );
  // Running before the first batch is posted; a database it then cannot open fails it (onFailure) and its batches.
  await new Promise<void>((resolve) => {
    worker.once('online', resolve);
    worker.once('error', () => resolve());
  });

  /** Posts one request (built for its id); the promise settles with the thread's answer. */
  const post = <T>(request: (id: number) => WriterRequest, transfer: ArrayBuffer[] = []): Promise<T> => {
    if (stopping) return Promise.reject(new WriterError('The database connection is not open', null));
    if (dead)
      return Promise.reject(
        new WriterError(`the SQLite writer thread stopped: ${dead.message}`, 'SQLITE_IOERR_WRITER'),
      );
    const id = nextId++;
    try {
      worker.postMessage(request(id), transfer);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<T>((resolve, reject) =>
      pending.set(id, { resolve: resolve as (result: unknown) => void, reject }),
    );
  };

  return {
    get inFlight() {
      return pending.size;
    },
    write(calls) {
      // The rows, not the calls: flat values cost a fraction to copy across and rebuild on the thread, and the
      // gateway's internals (prompt and output text, hook facts), never stored, are not in them. Packed (row-pack.ts)
      // they cost the thread a sixth of what the arrays of values did.
      const rows = rowsOf(calls);
      const packed = packRows(rows);
      return packed ? post<void>((id) => ({ id, packed }), transferOf(packed)) : post<void>((id) => ({ id, rows }));
    },
    async job<T>(job: URL, payload: unknown) {
      const file = await loadable(job);
      return post<T>((id) => ({ id, job: file, payload }));
    },
    async terminate() {
      await worker.terminate();
      await exited;
    },
    async stop() {
      if (stopping) return exited;
      stopping = true;
      if (pending.size > 0 && !dead) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, 10_000))),
        ]);
        clearTimeout(timer);
      }
      worker.postMessage({ stop: true } satisfies WriterRequest);
      const timeout = setTimeout(() => void worker.terminate(), 5000);
      await exited;
      clearTimeout(timeout);
    },
  };
}
