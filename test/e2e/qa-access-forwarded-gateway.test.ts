// Loopback trust behind a reverse proxy on the same host, for gateway calls. Such a proxy (nginx, Caddy, Traefik
// terminating TLS) connects from 127.0.0.1 and may address llmscope as 127.0.0.1:PORT; it says whom it forwards in
// X-Forwarded-For, X-Real-IP or Forwarded. A /v1 call forwarded for a remote client that presents no virtual key
// (lsk_) and would go upstream on llmscope's own provider key (apiKeyEnv) made llmscope an open relay on that key,
// the one `serve` refuses to be off loopback: it gets 403 host_not_allowed in the route's shape. A forwarded call
// with a virtual key, one whose own provider key is passed through, one not forwarded, and one where
// server.allowUnauthenticatedGateway says the proxy decides, are let through.
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/cost/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

const ENV = 'QA_FORWARDED_GATEWAY_KEY';
const VIRTUAL = 'lsk_qa_forwarded_gateway_0123456789abcdef';
const REMOTE = { 'x-forwarded-for': '203.0.113.9' };

process.env[ENV] = 'sk-llmscope-own-key';

const keyed = (sim: { url: string }) => simProviders(sim, 'openai', 'anthropic').map((p) => ({ ...p, apiKeyEnv: ENV }));

const chat = (base: string, headers: Record<string, string> = {}, apiKey = 'sk-client') =>
  new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers }).chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });

const raw = async (s: Stack, path: string, headers: Record<string, string>, body: unknown) => {
  const r = await request(`${s.base}${path}`, {
    method: 'POST',
    headers: { host: new URL(s.base).host, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: r.statusCode,
    json: (await r.body.json()) as { error: { code?: string; message: string; type?: string } },
  };
};

const chatBody = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] };
const messagesBody = { model: 'claude-sonnet-4', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] };

describe('gateway calls on llmscope’s own provider key, forwarded by a proxy on the same host', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 }, config: (sim) => ({ providers: keyed(sim) }) });
  });
  afterAll(() => s.close());

  it('refuses a call forwarded for a remote client (the openai client, X-Forwarded-For)', async () => {
    const err = await chat(s.base, REMOTE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    const e = err as InstanceType<typeof OpenAI.PermissionDeniedError>;
    expect(e.status).toBe(403);
    expect(e.code).toBe('host_not_allowed');
    expect(e.message).toContain('virtual key');
    expect(e.message).toContain('203.0.113.9');
  });

  it('refuses X-Real-IP and Forwarded too, on the OpenAI and Anthropic routes, in their shapes', async () => {
    const forwarded: Record<string, string>[] = [
      { 'x-real-ip': '198.51.100.4' },
      { forwarded: 'for=203.0.113.9;proto=https' },
      REMOTE,
    ];
    for (const h of forwarded) {
      const o = await raw(s, '/v1/chat/completions', h, chatBody);
      expect(o.status, JSON.stringify(h)).toBe(403);
      expect(o.json.error.code).toBe('host_not_allowed');
      const a = await raw(s, '/v1/messages', { ...h, 'anthropic-version': '2023-06-01' }, messagesBody);
      expect(a.status, JSON.stringify(h)).toBe(403);
      expect(a.json).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
      expect(a.json.error.message).toContain('allowUnauthenticatedGateway');
    }
    expect(s.sim.stats.requests).toBe(0);
  });

  it('refuses a Realtime or Responses WebSocket upgrade forwarded for a remote client', async () => {
    for (const path of ['/v1/realtime?model=gpt-realtime', '/v1/responses']) {
      const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}${path}`, { headers: REMOTE });
      const status = await new Promise<number>((resolve) => {
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => resolve(-1));
      });
      ws.terminate();
      expect(status, path).toBe(403);
    }
  });

  it('lets through a call not forwarded, or forwarded for a local client', async () => {
    expect((await chat(s.base)).choices.length).toBe(1);
    expect((await chat(s.base, { 'x-forwarded-for': '127.0.0.1' })).choices.length).toBe(1);
    expect((await raw(s, '/v1/messages', { 'anthropic-version': '2023-06-01' }, messagesBody)).status).toBe(200);
  });
});

describe('forwarded gateway calls that do not spend llmscope’s own key unasked', () => {
  it('lets through a forwarded call with a virtual key', async () => {
    const s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: (sim) => ({ providers: keyed(sim), keys: [{ id: 'proxied', hash: hashKey(VIRTUAL) }] }),
    });
    try {
      expect((await chat(s.base, REMOTE, VIRTUAL)).choices.length).toBe(1);
      const a = await raw(
        s,
        '/v1/messages',
        { ...REMOTE, 'x-api-key': VIRTUAL, 'anthropic-version': '2023-06-01' },
        messagesBody,
      );
      expect(a.status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('lets through a forwarded call whose own provider key is passed through (no apiKeyEnv)', async () => {
    const s = await startStack({ sim: { ttftMs: 0, tpotMs: 0 } });
    try {
      expect((await chat(s.base, REMOTE, 'sk-the-clients-own')).choices.length).toBe(1);
      expect((await raw(s, '/v1/chat/completions', { 'x-real-ip': '198.51.100.4' }, chatBody)).status).toBe(200);
    } finally {
      await s.close();
    }
  });

  it('lets through a forwarded call when server.allowUnauthenticatedGateway says the proxy decides', async () => {
    const s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: (sim) => ({
        providers: keyed(sim),
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', allowUnauthenticatedGateway: true },
      }),
    });
    try {
      expect((await chat(s.base, REMOTE)).choices.length).toBe(1);
    } finally {
      await s.close();
    }
  });
});
