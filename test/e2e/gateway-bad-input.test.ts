// Bad input on the gateway's routes gets a 400 in the route's own error shape that says what was wrong: a model that
// is not a string, an x-llmscope-meta- header without a key, a path with an empty segment.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('gateway: bad input in the route’s shape', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
  });
  afterAll(() => s.close());

  const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
    const r = await request(`${s.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
  };
  const openAiError = (b: Record<string, unknown>) => b.error as { message: string; code: string; param: unknown };
  const anthropicError = (b: Record<string, unknown>) => {
    expect(b.type).toBe('error');
    return b.error as { type: string; message: string };
  };

  it('a model that is not a string: "model must be a string", not "no model"', async () => {
    for (const [path, body] of [
      ['/v1/chat/completions', '{"model": 5, "messages": [{"role": "user", "content": "hi"}]}'],
      ['/v1/responses', '{"model": {"id": "gpt-4o"}, "input": "hi"}'],
      ['/v1/embeddings', '{"model": ["a"], "input": "hi"}'],
    ] as const) {
      const r = await post(path, body);
      expect(r.status).toBe(400);
      const e = openAiError(r.body);
      expect(e).toMatchObject({ code: 'invalid_body', param: 'model' });
      expect(e.message).toMatch(/"model" must be a string/);
      expect(e.message).not.toMatch(/no "model"/);
    }
    const r = await post('/v1/messages', '{"model": 5, "max_tokens": 5, "messages": []}');
    expect(r.status).toBe(400);
    const e = anthropicError(r.body);
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toMatch(/"model" must be a string.*got the number 5/);
    // null and absent still say it is missing
    const missing = await post('/v1/chat/completions', '{"model": null, "messages": []}');
    expect(openAiError(missing.body).code).toBe('missing_model');
  });
});
