// Google credentials held by llmscope for Vertex AI providers (providers[].googleCredentials): LLM-gateway mode, where
// the client sends no Google token (Claude Code with CLAUDE_CODE_SKIP_VERTEX_AUTH=1) or a virtual key llmscope keeps.
// A service account generated here (an RSA key pair) names a token endpoint on loopback as its token_uri; the endpoint
// checks the JWT assertion's signature with the public key and mints tokens, counting them. Through llmscope to the
// simulator on Vertex paths (Claude's rawPredict, Gemini's generateContent): the upstream gets the minted Bearer, one
// fetch serves many calls, a client's own Bearer goes as sent, the endpoint down answers 502 in the route's shape.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AnthropicVertex } from '@anthropic-ai/vertex-sdk';
import { OAuth2Client } from 'google-auth-library';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startupChecks } from '../../src/cli/startup-checks.js';
import { validateConfig } from '../../src/config/index.js';
import { providerSchema } from '../../src/config/schema.js';
import { createCostModule, hashKey } from '../../src/cost/index.js';
import { createUpstream } from '../../src/gateway/upstream.js';
import type { RequestRecord } from '../../src/simulator/index.js';
import { dir, keyFile, startTokenEndpoint, type TokenEndpoint } from './google-service-account.js';
import { type Stack, startStack, until } from './helpers.js';

const CLAUDE = 'claude-sonnet-4@20250514';
const GEMINI = 'gemini-2.5-flash';
const CLAUDE_PATH = `/v1/projects/my-proj/locations/us-east5/publishers/anthropic/models/${CLAUDE}:rawPredict`;
const GEMINI_PATH = `/v1beta1/projects/my-proj/locations/us-central1/publishers/google/models/${GEMINI}:generateContent`;
const KEY = 'lsk_e2e_vertex_auth_0123456789abcdef';
const claudeBody = {
  anthropic_version: 'vertex-2023-10-16',
  max_tokens: 20,
  messages: [{ role: 'user', content: 'hi' }],
};
const geminiBody = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] };

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

/** The two Vertex providers on the simulator's host, holding `credentials`. */
const vertexProviders = (simUrl: string, credentials: string) => [
  { name: 'openai-sim', baseUrl: simUrl },
  {
    name: 'vertex-claude',
    type: 'anthropic' as const,
    baseUrl: simUrl.replace(/\/v1$/, ''),
    models: ['claude-*'],
    googleCredentials: credentials,
  },
  {
    name: 'vertex-gemini',
    type: 'gemini' as const,
    baseUrl: simUrl.replace(/\/v1$/, ''),
    models: ['gemini-*'],
    googleCredentials: credentials,
  },
];

/** AnthropicVertex pointed at `origin`, with an OAuth token of its own (set here, nothing fetched). */
const vertex = (origin: string, headers?: Record<string, string>) => {
  const authClient = new OAuth2Client();
  authClient.setCredentials({ access_token: 'ya29.client-own', expiry_date: Date.now() + 3_600_000 });
  return new AnthropicVertex({
    baseURL: `${origin}/v1`,
    region: 'us-east5',
    projectId: 'my-proj',
    authClient,
    maxRetries: 0,
    defaultHeaders: headers,
  });
};

describe('reach: Vertex AI providers holding Google credentials', () => {
  let tokens: TokenEndpoint;
  let s: Stack;
  const seen: RequestRecord[] = [];
  const upstreamOf = (id: string) => seen.find((r) => r.requestId === id);
  beforeAll(async () => {
    tokens = await startTokenEndpoint();
    const file = keyFile('sa.json', tokens.url);
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (upstream) => ({ providers: vertexProviders(upstream.url, file) }),
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(async () => {
    await s?.close();
    await tokens?.close();
  });

  it('a client without Google credentials: the minted token goes upstream, one fetch for many calls', async () => {
    // Claude Code with CLAUDE_CODE_SKIP_VERTEX_AUTH=1: no Authorization at all; concurrent first calls share one fetch
    const first = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => post(`${s.base}${CLAUDE_PATH}`, claudeBody, { 'x-request-id': `va-c${n}` })),
    );
    for (const r of first) {
      expect(r.statusCode).toBe(200);
      expect(await r.body.json()).toMatchObject({ type: 'message', role: 'assistant' });
    }
    for (let n = 1; n <= 5; n++) {
      await s.callOf(`va-c${n}`);
      expect(upstreamOf(`va-c${n}`)?.headers.authorization).toBe('Bearer ya29.minted-1');
    }
    const g = await post(`${s.base}${GEMINI_PATH}`, geminiBody, { 'x-request-id': 'va-g1' });
    expect(g.statusCode).toBe(200);
    expect(await g.body.json()).toMatchObject({ candidates: expect.any(Array) });
    expect(await s.callOf('va-g1')).toMatchObject({ provider: 'vertex-gemini', model: GEMINI, status: 'ok' });
    expect(upstreamOf('va-g1')?.path).toBe(GEMINI_PATH);
    expect(upstreamOf('va-g1')?.headers.authorization).toMatch(/^Bearer ya29\.minted-\d$/);
    for (let n = 2; n <= 4; n++) {
      const r = await post(`${s.base}${CLAUDE_PATH}`, claudeBody, { 'x-request-id': `va-seq${n}` });
      expect(r.statusCode).toBe(200);
      await r.body.dump();
      expect(upstreamOf(`va-seq${n}`)?.headers.authorization).toBe('Bearer ya29.minted-1');
    }
    // one token per provider's credentials, not per call: the Claude provider's five and three calls took one
    expect(tokens.minted.length).toBe(2);
    expect(tokens.refused).toBe(0);
  });

  it("a client's own Bearer (AnthropicVertex with its Google token) goes upstream as sent", async () => {
    const m = await vertex(s.base).messages.create(
      { model: CLAUDE, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
      { headers: { 'x-request-id': 'va-own' } },
    );
    expect(m.content.length).toBeGreaterThan(0);
    await s.callOf('va-own');
    expect(upstreamOf('va-own')?.headers.authorization).toBe('Bearer ya29.client-own');
  });

  it('a forwarded call without a virtual key is refused: the provider holds llmscope’s own credentials', async () => {
    const r = await post(`${s.base}${CLAUDE_PATH}`, claudeBody, {
      'x-forwarded-for': '203.0.113.9',
      'x-request-id': 'va-fwd',
    });
    expect(r.statusCode).toBe(403);
    expect(await r.body.json()).toMatchObject({ type: 'error', error: { type: 'permission_error' } });
    expect(upstreamOf('va-fwd')).toBeUndefined();
  });
});

describe('reach: a virtual key on a Vertex AI provider holding Google credentials', () => {
  let tokens: TokenEndpoint;
  let s: Stack;
  const seen: RequestRecord[] = [];
  beforeAll(async () => {
    tokens = await startTokenEndpoint();
    const file = keyFile('sa-keys.json', tokens.url);
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (upstream) => ({
        providers: vertexProviders(upstream.url, file),
        keys: [{ id: 'va-key', hash: hashKey(KEY), team: 'gcp' }],
      }),
      app: { modules: [createCostModule] },
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(async () => {
    await s?.close();
    await tokens?.close();
  });

  it('AnthropicVertex with a virtual key: the key stays in llmscope, the minted token goes upstream', async () => {
    const client = vertex(s.base, { authorization: `Bearer ${KEY}` });
    for (const id of ['va-key-1', 'va-key-2']) {
      const m = await client.messages.create(
        { model: CLAUDE, max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] },
        { headers: { 'x-request-id': id } },
      );
      expect(m.content.length).toBeGreaterThan(0);
      expect(await s.callOf(id)).toMatchObject({ apiKeyId: 'va-key', team: 'gcp', status: 'ok' });
      expect(seen.find((r) => r.requestId === id)?.headers.authorization).toBe('Bearer ya29.minted-1');
    }
    // Claude Code with SKIP_VERTEX_AUTH and the key in ANTHROPIC_CUSTOM_HEADERS: x-api-key, no Authorization
    const r = await post(`${s.base}${CLAUDE_PATH}`, claudeBody, { 'x-api-key': KEY, 'x-request-id': 'va-key-x' });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    const up = seen.find((x) => x.requestId === 'va-key-x');
    expect(up?.headers.authorization).toBe('Bearer ya29.minted-1');
    expect(up?.headers['x-api-key']).toBeUndefined();
    expect(tokens.minted).toEqual(['ya29.minted-1']);
  });
});

describe('reach: Google credentials that give no token', () => {
  let s: Stack;
  const seen: RequestRecord[] = [];
  beforeAll(async () => {
    // a token endpoint that is down: its port is closed
    const gone = await startTokenEndpoint();
    await gone.close();
    const file = keyFile('sa-down.json', gone.url);
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 1, outputTokens: 4 },
      config: (upstream) => ({ providers: vertexProviders(upstream.url, file) }),
    });
    s.sim.events.on('request', (r) => seen.push(r));
  });
  afterAll(() => s?.close());

  it('answer 502 in the route’s shape naming Google credentials, logged once, nothing sent upstream', async () => {
    for (const id of ['va-down-1', 'va-down-2']) {
      const r = await post(`${s.base}${CLAUDE_PATH}`, claudeBody, { 'x-request-id': id });
      expect(r.statusCode).toBe(502);
      const body = (await r.body.json()) as { type: string; error: { type: string; message: string } };
      expect(body.type).toBe('error');
      expect(body.error.message).toContain('could not obtain Google credentials for provider "vertex-claude"');
      expect(await s.callOf(id)).toMatchObject({ provider: 'vertex-claude', status: 'upstream_error' });
    }
    const g = await post(`${s.base}${GEMINI_PATH}`, geminiBody, { 'x-request-id': 'va-down-g' });
    expect(g.statusCode).toBe(502);
    expect(await g.body.json()).toMatchObject({
      error: { code: 502, message: expect.stringContaining('could not obtain Google credentials') },
    });
    expect(seen).toEqual([]);
    await until(() => s.logs.filter((l) => l.event === 'google_credentials_failed').length === 2);
    const failed = s.logs.filter((l) => l.event === 'google_credentials_failed');
    // once per provider's outage, not per call
    expect(failed.map((l) => l.provider).sort()).toEqual(['vertex-claude', 'vertex-gemini']);
  });
});

describe('config: googleCredentials', () => {
  it('a missing or unreadable key file is refused at startup with its path', () => {
    const p = providerSchema.parse({
      name: 'vertex',
      type: 'anthropic',
      baseUrl: 'https://us-east5-aiplatform.googleapis.com',
      googleCredentials: join(dir, 'nope.json'),
    });
    expect(() => createUpstream(p)).toThrow(/cannot read the Google credentials file .*nope\.json \(ENOENT\)/);
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ type: 'service_account', client_email: 'x@y' }));
    expect(() => createUpstream({ ...p, googleCredentials: join(dir, 'bad.json') })).toThrow(
      /without client_email or private_key/,
    );
  });

  it('off loopback without virtual keys, a provider holding Google credentials is an open relay: serve refuses', () => {
    const v = validateConfig({
      server: { host: '0.0.0.0', adminToken: 'a-long-admin-token' },
      providers: [
        { name: 'vertex', type: 'gemini', baseUrl: 'https://x-aiplatform.googleapis.com', googleCredentials: 'adc' },
      ],
      storage: { url: 'sqlite::memory:' },
    });
    if (!v.ok) throw new Error(JSON.stringify(v.issues));
    const r = startupChecks(v.config, {});
    expect(r.errors.map((e) => e.path)).toEqual(['keys']);
    expect(r.errors[0]?.message).toContain('providers[0].googleCredentials');
  });
});
