// Structured JSON logs (pino): `time`, `level`, `msg`, `event` on every line, request fields from the context,
// secrets redacted. ECS field names on request for Elasticsearch.
import { writeSync } from 'node:fs';
import { type DestinationStream, type Logger, pino } from 'pino';
import { requestContext } from './context.js';

export interface LogOptions {
  level?: string;
  format?: 'json' | 'ecs';
  /** Where lines go (default: stdout, asynchronously buffered up to `bufferLimitBytes`). */
  destination?: DestinationStream;
  /** The default destination's file descriptor (default 1, stdout). */
  fd?: number;
  /** Bytes the default destination holds while stdout's reader lags; what would go past it is dropped
   * (default 16 MiB, a few tens of thousands of `request completed` lines). */
  bufferLimitBytes?: number;
  /** Told how many lines the default destination dropped, each time it drops some. */
  onDrop?: (lines: number) => void;
  /**
   * The default destination's stdout is shared with other processes (`serve --workers`: the recorder and each
   * worker write their own lines): every write is whole lines of at most PIPE_BUF bytes, which a pipe never
   * interleaves with another writer's, so no line is torn.
   */
  sharedStdout?: boolean;
  /**
   * Also handed every string the destination is given (whole serialized lines, as written): what keeps each call's
   * lines (CallLogs.note). It sees what pino wrote at the logger's level, after redaction.
   */
  tee?: (s: string) => void;
}

/** The most bytes one write to a pipe puts in whole, never interleaved with another process's (POSIX PIPE_BUF on Linux). */
export const PIPE_BUF = 4096;
/** Characters that are at most PIPE_BUF bytes in UTF-8 whatever they are (three bytes per UTF-16 unit at most). */
const PIPE_BUF_CHARS = Math.floor(PIPE_BUF / 3);

/** Hands `s` (whole lines) to `write` in pieces of whole lines of at most PIPE_BUF bytes (a longer line alone). */
export function writeLines(write: (piece: string) => boolean, s: string): boolean {
  if (s.length <= PIPE_BUF_CHARS) return write(s);
  let ok = true;
  for (let start = 0; start < s.length; ) {
    let end = start + PIPE_BUF_CHARS;
    if (end >= s.length) end = s.length;
    else {
      const nl = s.lastIndexOf('\n', end - 1);
      if (nl >= start) end = nl + 1;
      else {
        const next = s.indexOf('\n', end);
        end = next === -1 ? s.length : next + 1;
      }
    }
    ok = write(s.slice(start, end));
    start = end;
  }
  return ok;
}

const LOG_BUFFER_LIMIT_BYTES = 16 * 1024 * 1024;

/** Counts the lines in a dropped chunk (every line ends in a newline; a chunk holds whole lines). */
function linesIn(data: unknown): number {
  const s = typeof data === 'string' ? data : String(data);
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  return Math.max(n, 1);
}

/**
 * stdout, written asynchronously (sonic-boom). A reader that stops or lags (a stalled log shipper, a full pipe)
 * must not grow llmscope's memory without end nor slow its calls: past `bufferLimitBytes` waiting to be written,
 * lines are dropped and counted instead.
 */
function stdoutDestination(opts: LogOptions): DestinationStream {
  const dest = pino.destination({
    dest: opts.fd ?? 1,
    sync: false,
    maxLength: opts.bufferLimitBytes ?? LOG_BUFFER_LIMIT_BYTES,
    // sonic-boom writes whole write() calls together up to maxWrite bytes at a time
    ...(opts.sharedStdout ? { maxWrite: PIPE_BUF } : {}),
  });
  const onDrop = opts.onDrop;
  if (onDrop) dest.on('drop', (data: unknown) => onDrop(linesIn(data)));
  if (opts.sharedStdout) {
    const write = dest.write.bind(dest);
    dest.write = (s: string) => writeLines(write, s);
  }
  endOnWriteError(dest as unknown as Boom, (n) => onDrop?.(n));
  return dest;
}

/** The parts of a sonic-boom destination that a failed write leaves behind (its own fields, stable since 2.x). */
interface Boom {
  fd: number;
  _bufs: unknown[];
  _writingBuf: unknown;
  _writing: boolean;
  _len: number;
  write(s: string): boolean;
  flush(cb?: (err?: Error) => void): void;
  flushSync(): void;
  end(): void;
  destroy(): void;
  on(event: 'error', f: (err: NodeJS.ErrnoException) => void): void;
}

/** Lines waiting in `b` (sent or not), removed from it. */
function takePending(b: Boom): number {
  let n = 0;
  const take = (d: unknown) => {
    if (d !== undefined && d !== null && String(d).length > 0) n += linesIn(d);
  };
  take(b._writingBuf);
  if (Array.isArray(b._bufs)) for (const d of b._bufs) take(d);
  b._writingBuf = '';
  b._bufs = [];
  b._len = 0;
  return n;
}

const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * A stdout whose reader has gone (`serve | head`, a log shipper that exited: EPIPE) or that fails otherwise ends the
 * destination: the lines waiting and every later line are dropped and counted (`onDrop`), and nothing is written
 * again. pino's own EPIPE handling drops them uncounted, and sonic-boom's flushSync — which pino's exit handler calls
 * at `process.exit` — retries a write that failed with EPIPE every 100 ms for ever, so a process whose last lines
 * were still waiting when the reader went hung at exit (a SIGTERM seemed ignored). flushSync here tries each write
 * once (EAGAIN: for up to a second) and drops what it could not write.
 */
function endOnWriteError(b: Boom, dropped: (lines: number) => void): void {
  let ended = false;
  const end = () => {
    ended = true;
    b.write = (s: string) => {
      dropped(linesIn(s));
      return true;
    };
    b.flush = (cb) => cb?.();
    b.flushSync = () => {};
    b.end = () => {};
    b.destroy = () => {};
  };
  b.on('error', () => {
    const lost = takePending(b);
    if (lost > 0) dropped(lost);
    if (!ended) end();
  });
  const flushSync = b.flushSync.bind(b);
  b.flushSync = () => {
    if (ended) return;
    if (!Array.isArray(b._bufs)) return flushSync();
    // an async write still in flight keeps its buffer (as sonic-boom's flushSync does): it may yet land
    const waiting = b._writing ? '' : String(b._writingBuf ?? '');
    const data = Buffer.from(waiting + b._bufs.map((d) => String(d)).join(''));
    if (!b._writing) b._writingBuf = '';
    b._bufs = [];
    b._len = 0;
    let off = 0;
    const giveUpAt = Date.now() + 1000;
    while (off < data.length) {
      try {
        off += writeSync(b.fd, data, off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && Date.now() < giveUpAt) {
          pause(10);
          continue;
        }
        dropped(linesIn(data.subarray(off).toString()));
        end();
        return;
      }
    }
  };
}

/**
 * Calls `done` once the lines `logger` has taken are written: what waits is written now (flushSync), and a write
 * already running on libuv's pool (sonic-boom's asynchronous write, which flushSync leaves to land) is waited for,
 * at most `maxMs`. For a process about to end by a signal's default action, which would drop that write.
 */
export function afterLinesWritten(logger: Logger, done: () => void, maxMs: number): void {
  const b = (logger as unknown as Record<symbol, Partial<Boom> | undefined>)[pino.symbols.streamSym];
  try {
    b?.flushSync?.();
  } catch {
    // a destination that cannot write now: nothing more to wait for
    done();
    return;
  }
  const giveUpAt = Date.now() + maxMs;
  const check = (): void => {
    if (b?._writing !== true || Date.now() >= giveUpAt) done();
    else setTimeout(check, 2);
  };
  check();
}

/** Paths whose values never reach a log line. */
export const REDACT_PATHS = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.authorization',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'adminToken',
  '*.adminToken',
  'password',
  '*.password',
  'headers["x-api-key"]',
  'headers.cookie',
];

/** The ECS version `logFormat: ecs` lines conform to (written as `ecs.version` on every line). */
export const ECS_VERSION = '8.11.0';
/** `event.dataset` of llmscope's ECS lines. */
export const ECS_DATASET = 'llmscope.log';

/**
 * ECS field sets that are objects in ECS's mapping: a top-level string under one of these names (`event: "x"`,
 * `user: "alice"`, `host: "0.0.0.0"`) is refused by an index with the ECS template (object mapped, concrete value).
 */
const ECS_OBJECTS = new Set([
  'agent',
  'as',
  'client',
  'cloud',
  'container',
  'data_stream',
  'destination',
  'device',
  'dll',
  'dns',
  'ecs',
  'email',
  'error',
  'event',
  'faas',
  'file',
  'gen_ai',
  'group',
  'host',
  'http',
  'log',
  'network',
  'observer',
  'orchestrator',
  'organization',
  'package',
  'process',
  'registry',
  'related',
  'rule',
  'server',
  'service',
  'source',
  'span',
  'threat',
  'tls',
  'trace',
  'transaction',
  'url',
  'user',
  'user_agent',
  'vulnerability',
]);

/**
 * A log object in ECS form: the event name as `event.action` (with `event.kind` and `event.dataset`), `ecs.version`,
 * `user` as `user.name`, any other scalar under an ECS object's name moved under `llmscope.`; the rest as it is.
 */
export function ecsFields(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { 'ecs.version': ECS_VERSION };
  for (const k in obj) {
    const v = obj[k];
    if (k === 'event') {
      out['event.action'] = v;
      out['event.kind'] = 'event';
      out['event.dataset'] = ECS_DATASET;
    } else if (ECS_OBJECTS.has(k) && (v === null || typeof v !== 'object')) {
      out[k === 'user' ? 'user.name' : `llmscope.${k}`] = v;
    } else out[k] = v;
  }
  return out;
}

export function createLogger(opts: LogOptions = {}): Logger {
  const ecs = opts.format === 'ecs';
  const destination = opts.destination ?? stdoutDestination(opts);
  const tee = opts.tee;
  if (tee) {
    // in place: the request-log sink and pino's exit flush use the destination object itself
    const write = destination.write.bind(destination);
    destination.write = (s: string) => {
      try {
        tee(s);
      } catch {
        // keeping a call's lines never stops a line reaching stdout
      }
      return write(s);
    };
  }
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      messageKey: ecs ? 'message' : 'msg',
      timestamp: ecs ? () => `,"@timestamp":"${new Date().toISOString()}"` : pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => (ecs ? { 'log.level': label } : { level: label }),
        ...(ecs ? { log: ecsFields } : {}),
      },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      mixin() {
        const ctx = requestContext.getStore();
        if (!ctx) return { event: 'log' };
        if (ecs)
          return {
            event: 'log',
            request_id: ctx.request_id,
            'trace.id': ctx.trace_id,
            'span.id': ctx.span_id,
            provider: ctx.provider,
            model: ctx.model,
          };
        return { event: 'log', ...ctx };
      },
    },
    destination,
  );
}
