// Structured JSON logs (pino): `time`, `level`, `msg`, `event` on every line, request fields from the context,
// secrets redacted. ECS field names on request for Elasticsearch.
import { type DestinationStream, type Logger, pino } from 'pino';
import { requestContext } from './context.js';

export interface LogOptions {
  level?: string;
  format?: 'json' | 'ecs';
  /** Where lines go (default: stdout, asynchronously buffered). */
  destination?: DestinationStream;
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
  const destination = opts.destination ?? pino.destination({ dest: 1, sync: false });
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

/** Masks API keys and bearer tokens, and common PII, in captured text. */
export function redactText(text: string): string {
  return text
    .replace(/\b(sk|lsk|pk|rk)[-_][A-Za-z0-9_-]{8,}\b/g, '[redacted-key]')
    .replace(/\bBearer\s+[A-Za-z0-9._~+/-]+=*/gi, 'Bearer [redacted]')
    .replace(/\bAKIA[0-9A-Z]{16}\b/g, '[redacted-key]')
    .replace(/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g, '[redacted-email]')
    .replace(/\b(?:\d[ -]?){13,16}\b/g, '[redacted-card]')
    .replace(/\+?\b\d{1,3}[ .-]?\(?\d{3}\)?[ .-]?\d{3}[ .-]?\d{4}\b/g, '[redacted-phone]');
}
