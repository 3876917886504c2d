// GET /v1/models (and /v1/models/{id}) through llmscope against upstreams that check keys, as OpenAI's and
// Anthropic's APIs do: a client whose own key is passed through (no apiKeyEnv, `serve --upstream`) lists the models
// with `client.models.list()` and reads one with `models.retrieve`;
// a provider's own key goes in its format's header; a virtual key, or a key meant for another provider, never
// reaches an upstream.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

/** An upstream answering GET {base}/models only with the right key, and remembering each request's headers. */
async function keyedUpstream(
  name: string,
  ok: (h: IncomingHttpHeaders) => boolean,
): Promise<{ url: string; seen: IncomingHttpHeaders[]; server: Server }> {
  const seen: IncomingHttpHeaders[] = [];
  const server = createServer((req, res) => {
    seen.push(req.headers);
    const good = ok(req.headers);
    res.writeHead(good ? 200 : 401, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify(
        good
          ? { object: 'list', data: [{ id: `${name}-model`, object: 'model', created: 1, owned_by: name }] }
          : {
              error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' },
            },
      ),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, server };
}

describe('reach: GET /v1/models against upstreams that check keys', () => {
  let s: Stack;
  let openaiUp: Awaited<ReturnType<typeof keyedUpstream>>;
  let anthropicUp: Awaited<ReturnType<typeof keyedUpstream>>;

  beforeAll(async () => {
    openaiUp = await keyedUpstream('openai', (h) => h.authorization === 'Bearer sk-client-key');
    anthropicUp = await keyedUpstream(
      'anthropic',
      (h) => h['x-api-key'] === 'sk-ant-provider-key' && typeof h['anthropic-version'] === 'string',
    );
    process.env.U3_TEST_ANTHROPIC_KEY = 'sk-ant-provider-key';
    s = await startStack({
      config: () => ({
        providers: [
          // no apiKeyEnv: the client's own key is passed through, as on its calls
          { name: 'openai', baseUrl: openaiUp.url },
          {
            name: 'anthropic',
            type: 'anthropic',
            baseUrl: anthropicUp.url,
            apiKeyEnv: 'U3_TEST_ANTHROPIC_KEY',
            models: ['claude-*'],
          },
        ],
      }),
    });
  });
  afterAll(async () => {
    await s.close();
    openaiUp.server.close();
    anthropicUp.server.close();
    delete process.env.U3_TEST_ANTHROPIC_KEY;
  });

  it("lists every provider's models with the client's passed-through key and the provider's own key", async () => {
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-client-key', maxRetries: 0 });
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(['openai-model', 'anthropic-model']));
    const toAnthropic = anthropicUp.seen.at(-1);
    // the provider's key in Anthropic's header; the client's OpenAI key is not for Anthropic
    expect(toAnthropic?.['x-api-key']).toBe('sk-ant-provider-key');
    expect(toAnthropic?.authorization).toBeUndefined();
  });

  it('never passes a virtual key on', async () => {
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'lsk_not-for-upstreams', maxRetries: 0 });
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toContain('anthropic-model');
    expect(ids).not.toContain('openai-model');
    expect(openaiUp.seen.at(-1)?.authorization).toBeUndefined();
  });

  it("answers GET /v1/models/{id}, the SDKs' models.retrieve, with the entry its provider lists; 404 for an unknown id", async () => {
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-client-key', maxRetries: 0 });
    expect(await client.models.retrieve('openai-model')).toMatchObject({ id: 'openai-model', owned_by: 'openai' });
    const missing = await client.models.retrieve('no-such-model').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).message).toMatch(/no-such-model/);
    const anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-client', maxRetries: 0 });
    const asked = openaiUp.seen.length;
    expect(await anthropic.models.retrieve('anthropic-model')).toMatchObject({ id: 'anthropic-model' });
    // the Anthropic SDK's key (it sends it as a bearer token) is not for the OpenAI provider
    expect(openaiUp.seen.slice(asked).map((h) => h.authorization)).toEqual([undefined]);
  });

  it('HEAD is answered as GET without a body; other methods get 405 with Allow', async () => {
    const head = await fetch(`${s.base}/v1/models`, {
      method: 'HEAD',
      headers: { authorization: 'Bearer sk-client-key' },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toMatch(/json/);
    expect(await head.text()).toBe('');
    for (const [method, path] of [
      ['OPTIONS', '/v1/models'],
      ['POST', '/v1/models/openai-model'],
    ] as const) {
      const r = await fetch(`${s.base}${path}`, { method });
      expect(r.status, `${method} ${path}`).toBe(405);
      expect(r.headers.get('allow')).toBe('GET, HEAD');
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('method_not_allowed');
    }
  });
});
