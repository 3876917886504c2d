// An internal error's answer says "the details are in its log under this request_id": on /api the answer carried
// no request id, and the log line (event http_error) had none either, so nothing tied the two together. Both now
// carry the same id, sent as x-request-id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleFactory } from '../../src/app-context.js';
import { type Stack, startStack, until } from './helpers.js';

const boom: ModuleFactory = (ctx) => {
  ctx.api.get('/api/qa-boom', async () => {
    throw new TypeError('a bug');
  });
  return { name: 'qa-boom' };
};

describe('an internal error on /api', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ app: { modules: [boom] } });
  });
  afterAll(() => stack.close());

  it('answers 500 with x-request-id, and the log line has that request_id and the error', async () => {
    const r = await fetch(`${stack.base}/api/qa-boom`);
    expect(r.status).toBe(500);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('internal_error');
    const id = r.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const line = await until(() => stack.logs.find((l) => l.event === 'http_error'));
    expect(line).toMatchObject({ request_id: id, err: { message: 'a bug' } });
  });
});
