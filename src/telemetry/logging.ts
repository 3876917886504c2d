// Structured JSON logs (pino): `time`, `level`, `msg`, `event` on every line, request fields from the context,
// secrets redacted. ECS field names on request for Elasticsearch.
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
  return dest;
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

export function createLogger(opts: LogOptions = {}): Logger {
  const ecs = opts.format === 'ecs';
  const destination = opts.destination ?? stdoutDestination(opts);
  return pino(
    {
      level: opts.level ?? 'info',
      base: undefined,
      messageKey: ecs ? 'message' : 'msg',
      timestamp: ecs ? () => `,"@timestamp":"${new Date().toISOString()}"` : pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => (ecs ? { 'log.level': label } : { level: label }),
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
