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
  });
  const onDrop = opts.onDrop;
  if (onDrop) dest.on('drop', (data: unknown) => onDrop(linesIn(data)));
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
