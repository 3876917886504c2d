// The simulator's own errors (a malformed body, a body too large, an unknown path) come in the shape of the API the
// path belongs to, as the real provider answers: Anthropic's under /v1/messages, Google's under /v1beta, OpenAI's
// elsewhere. A gateway passing count_tokens through, or a test going direct, sees what the provider would send.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './server.js';

let sim: Simulator;
let origin: string;
beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0 });
  origin = sim.url.replace(/\/v1$/, '');
});
afterAll(() => sim.close());

const post = async (path: string, body: string, headers: Record<string, string> = {}) => {
  const r = await fetch(origin + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe("simulator errors in the route's own shape", () => {
  it("Anthropic's under /v1/messages", async () => {
    for (const path of ['/v1/messages', '/v1/messages/count_tokens']) {
      const bad = await post(path, '{"model": ');
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
      const arr = await post(path, '[]');
      expect(arr.status).toBe(400);
      expect(arr.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
    }
    const unknown = await post('/v1/messages/batches', '{}');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    const header = await post('/v1/messages', JSON.stringify({ model: 'claude-x', max_tokens: 5, messages: [] }), {
      'x-simulator-ttft-ms': 'soon',
    });
    expect(header.status).toBe(400);
    expect(header.body).toMatchObject({ type: 'error', error: { type: 'invalid_request_error' } });
  });

  it("Google's under /v1beta", async () => {
    const bad = await post('/v1beta/models/gemini-2.5-flash:generateContent', '{"contents": [');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    const unknown = await post('/v1beta/models/gemini-2.5-flash:predict', '{}');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
    for (const [path, body] of [
      ['/v1beta/models/gemini-2.5-flash:countTokens', '{}'],
      ['/v1beta/models/gemini-embedding-001:embedContent', '{"content": {}}'],
      ['/v1beta/models/gemini-embedding-001:batchEmbedContents', '{"requests": []}'],
    ] as const) {
      const missing = await post(path, body);
      expect(missing.status).toBe(400);
      expect(missing.body).toMatchObject({ error: { code: 400, status: 'INVALID_ARGUMENT' } });
    }
  });

  it("answers Gemini's countTokens, embedContent, batchEmbedContents and model routes", async () => {
    const count = await post(
      '/v1beta/models/gemini-2.5-flash:countTokens',
      '{"contents":[{"parts":[{"text":"a b c"}]}]}',
    );
    expect(count.status).toBe(200);
    expect(count.body.totalTokens).toBeGreaterThan(0);
    const inner = await post(
      '/v1beta/models/gemini-2.5-flash:countTokens',
      '{"generateContentRequest":{"model":"models/gemini-2.5-flash","contents":[{"parts":[{"text":"a b c"}]}]}}',
    );
    expect(inner.body.totalTokens).toBe(count.body.totalTokens);
    const one = await post(
      '/v1beta/models/gemini-embedding-001:embedContent',
      '{"content":{"parts":[{"text":"rivers"}]},"outputDimensionality":4}',
    );
    expect(one.status).toBe(200);
    const values = (one.body.embedding as { values: number[] }).values;
    expect(values).toHaveLength(4);
    const batch = await post(
      '/v1beta/models/gemini-embedding-001:batchEmbedContents',
      '{"requests":[{"content":{"parts":[{"text":"rivers"}]},"outputDimensionality":4},{"content":{"parts":[{"text":"hills"}]}}]}',
    );
    const embeddings = batch.body.embeddings as { values: number[] }[];
    expect(embeddings[0]?.values).toEqual(values);
    expect(embeddings[1]?.values).toHaveLength(768);
    const list = (await (await fetch(`${origin}/v1beta/models`)).json()) as { models: { name: string }[] };
    expect(list.models.length).toBeGreaterThan(0);
    const model = (await (await fetch(`${origin}/v1beta/models/gemini-2.5-flash`)).json()) as { name: string };
    expect(model.name).toBe('models/gemini-2.5-flash');
  });

  it("OpenAI's elsewhere, as before", async () => {
    const bad = await post('/v1/chat/completions', '{"model": ');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { type: 'invalid_request_error' } });
    const unknown = await post('/v1/nothing', '{}');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { type: 'invalid_request_error' } });
  });
});

describe('x-simulator-fault on the image, audio and batch routes', () => {
  it('fails an image, a speech or a transcription call as it fails a chat call (QA43: they answered 200)', async () => {
    const image = JSON.stringify({ model: 'dall-e-3', prompt: 'a cat' });
    const err = await post('/v1/images/generations', image, { 'x-simulator-fault': 'server_error' });
    expect(err.status).toBe(500);
    expect(err.body).toMatchObject({ error: { type: 'server_error' } });
    const limited = await fetch(`${origin}/v1/images/generations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-fault': 'rate_limit' },
      body: image,
    });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).not.toBeNull();
    expect(JSON.stringify(await limited.json())).toContain('dall-e-3');
    const speech = JSON.stringify({ model: 'tts-1', voice: 'alloy', input: 'Hello' });
    expect((await post('/v1/audio/speech', speech, { 'x-simulator-fault': 'bad_request' })).status).toBe(400);
    const form = new FormData();
    form.set('model', 'whisper-1');
    form.set('file', new Blob([new Uint8Array(16_000)]), 'a.mp3');
    const t = await fetch(`${origin}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { 'x-simulator-fault': 'overloaded' },
      body: form,
    });
    expect(t.status).toBe(503);
    await t.body?.cancel();
    // without the header: answered
    expect((await post('/v1/images/generations', image)).status).toBe(200);
  });
});
