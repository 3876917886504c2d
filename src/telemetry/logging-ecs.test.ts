// logFormat: ecs lines conform to ECS: `event` is an object in ECS's mapping (a string there is refused by an index
// with the ECS template), `ecs.version` is required on every event; the event name goes to `event.action`.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { requestContext } from './context.js';
import { createLogger, ECS_VERSION } from './logging.js';
import { requestLogSink } from './request-log.js';

const OBJECTS = ['event', 'user', 'host', 'url', 'error', 'service', 'log', 'trace', 'span', 'ecs', 'http'];

/** Every top-level key, expanded as Elasticsearch expands dotted names: none of ECS's objects may hold a scalar. */
function conflicts(doc: Record<string, unknown>): string[] {
  return Object.entries(doc)
    .filter(([k, v]) => OBJECTS.includes(k) && (v === null || typeof v !== 'object'))
    .map(([k]) => k);
}

describe('logFormat: ecs', () => {
  it('writes ecs.version, event.action/kind/dataset and no scalar where ECS has an object', async () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'ecs', destination: { write: (l: string) => void lines.push(l) } });
    logger.info({ event: 'server_started', host: '127.0.0.1', port: 4000 }, 'listening');
    requestContext.run(
      { request_id: 'req-1', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), provider: 'openai', model: 'm' },
      () => logger.warn('inside a request'),
    );
    const call = {
      requestId: 'req-2',
      traceId: 'c'.repeat(32),
      internal: { spanId: 'd'.repeat(16) },
      provider: 'openai',
      model: 'gpt-4o-mini',
      endpoint: 'chat',
      stream: false,
      status: 'ok',
      httpStatus: 200,
      errorType: null,
      inputTokens: 3,
      outputTokens: 4,
      tokenSource: 'provider',
      ttftMs: null,
      tpotMs: null,
      latencyMs: 12,
      overheadMs: 1,
      costUsd: 0.001,
      user: 'alice',
      team: 't',
      feature: 'f',
    } as unknown as LlmCall;
    await requestLogSink(logger, 'ecs').write([call]);
    const docs = lines
      .join('')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(docs).toHaveLength(3);
    for (const d of docs) {
      expect(conflicts(d)).toEqual([]);
      expect(d).toMatchObject({ 'ecs.version': ECS_VERSION, 'event.kind': 'event', 'event.dataset': 'llmscope.log' });
      expect(typeof d['@timestamp']).toBe('string');
      expect(typeof d['log.level']).toBe('string');
      expect(typeof d.message).toBe('string');
    }
    expect(docs[0]).toMatchObject({ 'event.action': 'server_started', 'llmscope.host': '127.0.0.1', port: 4000 });
    expect(docs[1]).toMatchObject({
      'event.action': 'log',
      'log.level': 'warn',
      request_id: 'req-1',
      'trace.id': 'a'.repeat(32),
      'span.id': 'b'.repeat(16),
    });
    expect(docs[2]).toMatchObject({
      'event.action': 'request_completed',
      request_id: 'req-2',
      'trace.id': 'c'.repeat(32),
      'span.id': 'd'.repeat(16),
      'user.name': 'alice',
      message: 'request completed',
    });
  });
});
