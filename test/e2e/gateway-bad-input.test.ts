// Bad input on the gateway's routes gets a 400 in the route's own error shape that says what was wrong: a model that
// is not a string, a body that is not JSON or names no model (hinting at the route's own request shape), an
// x-llmscope-meta- header without a key, a path with an empty segment.
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

  it("a body that is not JSON, or names no model: the hint shows the route's own request shape", async () => {
    const bad = '{"oops": ';
    const gemini = await post('/v1beta/models/gemini-2.5-flash:generateContent', bad);
    expect(gemini.status).toBe(400);
    const g = gemini.body.error as { message: string; status: string };
    expect(g.status).toBe('INVALID_ARGUMENT');
    expect(g.message).toMatch(/not valid JSON.*such as \{"contents": \[\{"role": "user", "parts"/);
    expect(g.message).not.toMatch(/"messages"/);
    const messages = anthropicError((await post('/v1/messages', bad)).body);
    expect(messages.message).toMatch(/such as \{"model": "...", "max_tokens": 1024, "messages": \[...\]\}/);
    expect(openAiError((await post('/v1/responses', bad)).body).message).toMatch(/such as \{"model": "...", "input"/);
    expect(openAiError((await post('/v1/chat/completions', bad)).body).message).toMatch(
      /such as \{"model": "...", "messages"/,
    );
    expect(openAiError((await post('/v1/embeddings', bad)).body).message).toMatch(/such as \{"model": "...", "input"/);
    expect(openAiError((await post('/v1/embeddings', '{"input": "x"}')).body).message).toMatch(
      /"model": "text-embedding-3-small"/,
    );
    const noModel = anthropicError((await post('/v1/messages', '{"max_tokens": 5, "messages": []}')).body);
    expect(noModel.message).toMatch(/no "model".*"model": "claude-sonnet-4-5"/);
    const wrongModel = anthropicError((await post('/v1/messages', '{"model": 5, "max_tokens": 5}')).body);
    expect(wrongModel.message).toMatch(/e\.g\. "model": "claude-sonnet-4-5"/);
  });

  it('an x-llmscope-meta- header with no key is a 400 invalid_metadata, as other bad metadata', async () => {
    const body = '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}';
    for (const value of ['v', '']) {
      const r = await post('/v1/chat/completions', body, { 'x-llmscope-meta-': value, 'x-llmscope-meta-ok': 'yes' });
      expect(r.status).toBe(400);
      const e = openAiError(r.body);
      expect(e).toMatchObject({ code: 'invalid_metadata', param: 'x-llmscope-meta-' });
      expect(e.message).toMatch(/has no key after the prefix.*x-llmscope-meta-<key>: value/);
    }
    const m = await post('/v1/messages', '{"model": "claude", "max_tokens": 5, "messages": []}', {
      'x-llmscope-meta-': 'v',
    });
    expect(m.status).toBe(400);
    expect(anthropicError(m.body).message).toMatch(/has no key/);
    expect(s.sim.stats.requests).toBe(0);
  });

  it('a path with an empty segment is a 404 naming the path meant, never another route', async () => {
    const otlp = await post('//v1/traces', '{"resourceSpans":[]}');
    expect(otlp.status).toBe(404);
    const e = openAiError(otlp.body);
    expect(e.code).toBe('not_found');
    expect(e.message).toContain('did you mean /v1/traces?');
    expect(e.message).toContain('//v1/traces');

    const chat = await post('//v1/chat/completions', '{"model": "m", "messages": []}');
    expect(chat.status).toBe(404);
    expect(openAiError(chat.body).message).toContain('did you mean /v1/chat/completions?');
    const msgs = await post('/v1//messages', '{"model": "claude", "max_tokens": 5, "messages": []}');
    expect(msgs.status).toBe(404);
    expect(anthropicError(msgs.body)).toMatchObject({ type: 'not_found_error' });
    const gem = await post('//v1beta/models/gemini-2.5-flash:generateContent', '{"contents": []}');
    expect(gem.status).toBe(404);
    expect(gem.body).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    // collapsing the slashes would make another route of it: GET /v1/responses/cancel passed through
    const cancel = await post('/v1/responses//cancel', '{}');
    expect(cancel.status).toBe(404);
    expect(openAiError(cancel.body).code).toBe('not_found');
    const api = await request(`${s.base}//api/requests?limit=1`);
    expect(api.statusCode).toBe(404);
    await api.body.dump();
    // nothing reached the upstream, nothing was recorded
    expect(s.sim.stats.requests).toBe(0);
    // and the server goes on serving the path meant
    const ok = await post('/v1/chat/completions', '{"model": "m", "messages": [{"role": "user", "content": "hi"}]}');
    expect(ok.status).toBe(200);
  });
});
