// Gemini on Vertex AI (fe7622d) is served at /v1/projects/..., /v1/publishers/... and /v1beta1/.... On the loopback
// bind a gateway call without a virtual key rides on loopback trust, so it needs a loopback Host (DNS rebinding: a
// page on another site whose name resolves to 127.0.0.1 would otherwise spend the provider's key) and, where a
// provider carries llmscope's own key, must not come through a proxy for a remote client. The check named /v1/ and
// /v1beta/ only, so Vertex's /v1beta1/ calls went upstream whatever their Host or forwarding.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

const PATHS = [
  '/v1beta1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
  '/v1beta1/publishers/google/models/gemini-2.5-flash:generateContent',
  '/v1/projects/my-proj/locations/us-central1/publishers/google/models/gemini-2.5-flash:generateContent',
];
const body = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'hello' }] }] });

describe('Vertex paths on the loopback bind', () => {
  let s: Stack;
  let port: string;
  let upstreamCalls = 0;
  beforeAll(async () => {
    process.env.LLMSCOPE_E2E_VERTEX_KEY = 'vertex-server-key';
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 4 },
      config: (upstream) => ({
        providers: [
          { name: 'openai-sim', baseUrl: upstream.url },
          {
            name: 'vertex-sim',
            type: 'gemini',
            baseUrl: upstream.url.replace(/\/v1$/, ''),
            models: ['gemini-*'],
            apiKeyEnv: 'LLMSCOPE_E2E_VERTEX_KEY',
          },
        ],
      }),
    });
    port = new URL(s.base).port;
    s.sim.events.on('request', () => upstreamCalls++);
  });
  afterAll(() => s?.close());

  const post = async (path: string, headers: Record<string, string>) => {
    const r = await request(`${s.base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: r.statusCode, json: (await r.body.json()) as { error?: { status?: string; code?: number } } };
  };

  it('refuses a Host that is not a loopback name, in Google error shape, before the provider is asked', async () => {
    for (const path of PATHS) {
      const r = await post(path, { host: `rebind.attacker.example:${port}` });
      expect(r.status, path).toBe(403);
      expect(r.json.error?.status, path).toBe('PERMISSION_DENIED');
    }
    expect(upstreamCalls).toBe(0);
  });

  it('refuses a call a same-host proxy forwards for a remote client while the provider carries llmscope key', async () => {
    for (const path of PATHS) {
      const r = await post(path, { host: `127.0.0.1:${port}`, 'x-forwarded-for': '203.0.113.9' });
      expect(r.status, path).toBe(403);
    }
    expect(upstreamCalls).toBe(0);
  });

  it('serves the same calls from this machine', async () => {
    for (const path of PATHS) {
      const r = await post(path, { host: `127.0.0.1:${port}` });
      expect(r.status, path).toBe(200);
    }
    expect(upstreamCalls).toBe(PATHS.length);
  });
});
