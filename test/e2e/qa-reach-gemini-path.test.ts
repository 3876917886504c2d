// Gemini names the model in the URL path (`/v1beta/models/{model}:generateContent`); llmscope decodes it to route and
// record the call, and wrote it back into the upstream path decoded: a model with a space made a URL the HTTP client
// refused (502 "cannot reach provider", blaming the provider for the client's path), and an encoded `?`, `#` or `/..`
// changed the request sent upstream with the provider's key (its query, or another API's path once normalised).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/simulator/index.js';
import { type Stack, startStack } from './helpers.js';

describe('reach: a Gemini model named in the path goes upstream as it was sent', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 2, tpotMs: 1, outputTokens: 3 },
      config: (sim) => ({
        providers: [
          { name: 'openai-sim', baseUrl: sim.url },
          { name: 'gemini-sim', type: 'gemini', baseUrl: sim.url.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] },
        ],
      }),
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s.close());

  const call = (path: string, id: string) =>
    fetch(`${s.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-goog-api-key': 'AIza-not-real', 'x-request-id': id },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    });

  it('a model with a space or an encoded ? or # reaches the upstream encoded, answered and recorded', async () => {
    for (const [model, id] of [
      ['gemini-2.5-flash exp', 'gp-space'],
      ['gemini-x?alt=json#', 'gp-query'],
      ['gemini-é', 'gp-utf8'],
    ] as const) {
      const r = await call(`/v1beta/models/${encodeURIComponent(model)}:generateContent`, id);
      expect(r.status, model).toBe(200);
      expect(((await r.json()) as { modelVersion: string }).modelVersion).toBe(model);
      const up = seen.find((x) => x.requestId === id);
      // encoded where a path needs it: no query, fragment or space of the model's own reaches the upstream
      expect(up?.url).not.toMatch(/[?# ]/);
      expect(decodeURIComponent(up?.url ?? '')).toBe(`/v1beta/models/${model}:generateContent`);
      expect(await s.callOf(id)).toMatchObject({ model, status: 'ok', provider: 'gemini-sim' });
    }
    // streamed, with the client's own query after it
    const r = await call(
      `/v1beta/models/${encodeURIComponent('gemini-2.5-flash exp')}:streamGenerateContent?alt=sse`,
      'gp-sse',
    );
    expect(r.status).toBe(200);
    await r.text();
    expect(seen.find((x) => x.requestId === 'gp-sse')?.url).toBe(
      '/v1beta/models/gemini-2.5-flash%20exp:streamGenerateContent?alt=sse',
    );
    // a model with a slash (a tuned model's name) keeps its slash
    const t = await call('/v1beta/models/gemini-tuned%2Fmine:generateContent', 'gp-slash');
    expect(t.status).toBe(200);
    expect(seen.find((x) => x.requestId === 'gp-slash')?.url).toBe('/v1beta/models/gemini-tuned/mine:generateContent');
  });

  it('a model with a . or .. segment is refused in Google’s shape, never sent upstream', async () => {
    for (const [path, id] of [
      ['/v1beta/models/gemini-x%2F..%2F..%2Fv1beta%2FcachedContents:generateContent', 'gp-dots'],
      ['/v1beta/models/gemini-x%2F.%2Fy:streamGenerateContent?alt=sse', 'gp-dot'],
    ] as const) {
      const r = await call(path, id);
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: { status: string; message: string } };
      expect(body.error.status).toBe('INVALID_ARGUMENT');
      expect(body.error.message).toMatch(/model/);
      expect(seen.some((x) => x.requestId === id)).toBe(false);
      expect(await s.callOf(id)).toMatchObject({ status: 'client_error', httpStatus: 400 });
    }
  });
});
