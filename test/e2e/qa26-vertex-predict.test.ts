// @google/genai with `vertexai: true` calls Vertex AI's `:predict` for `models.embedContent` (and generateImages), and
// `:computeTokens` for `models.computeTokens`: through `llmscope serve` they were a 404 'unknown route' in OpenAI's
// shape, so an app on Vertex AI that embeds broke with its base URL pointed at llmscope. They are passed through,
// unrecorded, to the provider serving the path's model, as `:countTokens` is: path, query, key and body as sent, and
// the client gets the upstream's answer. The upstream here is a small recording server in Vertex's shapes.
// An unknown path under Google's prefixes (a Vertex method llmscope does not serve, the Gemini API's /v1alpha, which
// @google/genai's apiVersion 'v1alpha' names) was answered in OpenAI's error shape; it gets Google's, and an unknown
// Claude-on-Vertex method Anthropic's.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServeRun, startServeWithConfig } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('Vertex AI :predict and :computeTokens through llmscope serve (@google/genai, vertexai: true)', () => {
  let serve: ServeRun;
  let upstream: Server;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const url = req.url ?? '';
        seen.push({ method: req.method ?? '', url, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        if (url.endsWith(':predict')) {
          res.end(
            JSON.stringify({
              predictions: [
                { embeddings: { values: [0.25, -0.5, 0.75], statistics: { token_count: 2, truncated: false } } },
              ],
              metadata: { billableCharacterCount: 11 },
            }),
          );
          return;
        }
        if (url.endsWith(':computeTokens')) {
          res.end(JSON.stringify({ tokensInfo: [{ tokenIds: ['1', '2'], tokens: ['aGk=', 'IQ=='], role: 'user' }] }));
          return;
        }
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { code: 404, message: `no ${url}`, status: 'NOT_FOUND' } }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    serve = await startServeWithConfig({
      prefix: 'qa26-vertex-predict-',
      config: (dir) => ({
        storage: { url: `sqlite:${dir}/llmscope.db` },
        providers: [
          { name: 'openai', baseUrl: `${up}/v1`, models: ['gpt-*'] },
          { name: 'vertex', type: 'gemini', baseUrl: up, models: ['gemini-*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await serve?.stop();
    await new Promise((r) => upstream.close(r));
  });

  it('passes embedContent (:predict) and computeTokens through with path, key and body as sent, unrecorded', async () => {
    const ai = new GoogleGenAI({ vertexai: true, apiKey: 'vertex-express-key', httpOptions: { baseUrl: serve.base } });
    const e = await ai.models.embedContent({ model: 'gemini-embedding-001', contents: 'hello world' });
    expect(e.embeddings?.[0]?.values).toEqual([0.25, -0.5, 0.75]);
    const predict = seen.at(-1) as Seen;
    expect(predict.method).toBe('POST');
    expect(predict.url).toMatch(/^\/v1beta1\/publishers\/google\/models\/gemini-embedding-001:predict$/);
    expect(predict.headers['x-goog-api-key']).toBe('vertex-express-key');
    expect(JSON.parse(predict.body)).toMatchObject({ instances: [{ content: 'hello world' }] });

    const t = await ai.models.computeTokens({ model: 'gemini-2.5-flash', contents: 'hi!' });
    expect(t.tokensInfo?.[0]?.role).toBe('user');
    expect(seen.at(-1)?.url).toMatch(/\/publishers\/google\/models\/gemini-2\.5-flash:computeTokens$/);

    const list = (await (await fetch(`${serve.base}/api/requests`)).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("answers unknown paths under Google's prefixes in Google's error shape, and Claude on Vertex's in Anthropic's", async () => {
    const post = async (path: string) => {
      const r = await fetch(`${serve.base}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-goog-api-key': 'k' },
        body: '{}',
      });
      return { status: r.status, requestId: r.headers.get('x-request-id'), body: (await r.json()) as unknown };
    };
    for (const path of [
      '/v1/projects/p1/locations/us-central1/publishers/google/models/gemini-2.5-flash:explain',
      '/v1beta1/projects/p1/locations/us-central1/endpoints/123:generateContent',
      '/v1alpha/models/gemini-2.5-flash:generateContent',
      '/v1alpha/auth_tokens',
    ]) {
      const r = await post(path);
      expect(r.status, path).toBe(404);
      expect(r.requestId, path).toBeTruthy();
      expect(r.body, path).toMatchObject({ error: { code: 404, status: 'NOT_FOUND' } });
      expect((r.body as { error: { message: string } }).error.message).toContain(path);
    }
    const claude = await post(
      '/v1/projects/p1/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5:explain',
    );
    expect(claude.status).toBe(404);
    expect(claude.body).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    // OpenAI's paths keep OpenAI's shape
    expect((await post('/v1/nothing-here')).body).toMatchObject({
      error: { type: 'not_found_error', code: 'not_found' },
    });
  });
});
