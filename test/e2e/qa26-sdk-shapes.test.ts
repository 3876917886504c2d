// What Claude Code and Codex users' clients send through `llmscope serve`, beyond the calls themselves:
// - @anthropic-ai/sdk with workload identity federation (`config: {authentication: {type: 'oidc_federation'}}`)
//   exchanges its identity token at POST {baseURL}/v1/oauth/token (with `anthropic-beta: oauth-...`, no
//   `anthropic-version`) before its first call; through llmscope that was a 404, so no call could be made. It is
//   passed through, unrecorded, to the anthropic provider, and the calls made with the minted token are recorded.
// - Codex's model, gpt-5-codex, on the Responses API: it had no catalog price, so every Codex call was unpriced.
// - @google/genai with thought summaries (`thinkingConfig.includeThoughts`) whose answer the safety filters block
//   part-way, not streamed: the simulator answered a 500 in OpenAI's shape (it put the thought part into a candidate
//   without content); it answers the thought and finishReason SAFETY, recorded as a refusal.
// - Claude Code's extended thinking (`thinking: {type: 'enabled', budget_tokens}`): Anthropic's usage counts thinking
//   in output_tokens without saying how much of it, and the record said reasoning_tokens 0; it is null (unknown) for
//   an answer with thinking, 0 for one without.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { type ServeRun, startServeWithConfig } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Rec {
  request_id: string;
  finish_reason: string | null;
  refusal: boolean;
  endpoint: string;
  status: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  reasoning_tokens: number | null;
  cost_usd: number | null;
}

describe('Claude Code and Codex client shapes through llmscope serve', () => {
  let serve: ServeRun;
  let sim: Simulator;
  let anthropicUp: Server;
  const seen: Seen[] = [];

  const record = async (id: string): Promise<Rec> => {
    for (let i = 0; i < 100; i++) {
      const r = await fetch(`${serve.base}/api/requests/${encodeURIComponent(id)}`);
      if (r.status === 200) return (await r.json()) as Rec;
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error(`call ${id} not recorded`);
  };

  beforeAll(async () => {
    sim = await startSimulator({ port: 0, seed: 1, ttftMs: 5, tpotMs: 1, outputTokens: 12 });
    // Anthropic's API as the federation exchange and a Messages call see it
    anthropicUp = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        if (req.url === '/anthropic/v1/oauth/token') {
          res.setHeader('request-id', 'req_token');
          res.end(JSON.stringify({ access_token: 'sk-ant-oat-minted', token_type: 'Bearer', expires_in: 3600 }));
          return;
        }
        if (req.url?.startsWith('/anthropic/v1/messages')) {
          res.end(
            JSON.stringify({
              id: 'msg_1',
              type: 'message',
              role: 'assistant',
              model: 'claude-sonnet-4-5',
              content: [{ type: 'text', text: 'Hello.' }],
              stop_reason: 'end_turn',
              stop_sequence: null,
              usage: { input_tokens: 10, output_tokens: 2 },
            }),
          );
          return;
        }
        res.statusCode = 404;
        res.end(JSON.stringify({ type: 'error', error: { type: 'not_found_error', message: 'nope' } }));
      });
    });
    await new Promise<void>((r) => anthropicUp.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(anthropicUp.address() as AddressInfo).port}`;
    serve = await startServeWithConfig({
      prefix: 'qa26-sdk-shapes-',
      config: (dir) => ({
        storage: { url: `sqlite:${dir}/llmscope.db` },
        providers: [
          { name: 'openai', baseUrl: sim.url },
          // the first of its type: the default, where the token exchange goes
          { name: 'anthropic', type: 'anthropic', baseUrl: `${up}/anthropic/v1`, models: ['claude-sonnet-*'] },
          { name: 'anthropic-sim', type: 'anthropic', baseUrl: sim.url, models: ['claude-opus-*'] },
          { name: 'gemini', type: 'gemini', baseUrl: sim.url.replace(/\/v1$/, '/v1beta'), models: ['gemini-*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await serve?.stop();
    await sim?.close();
    await new Promise((r) => anthropicUp.close(r));
  });

  it("passes @anthropic-ai/sdk's workload identity token exchange through, and records the call made with its token", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qa26-oidc-'));
    const tokenFile = join(dir, 'identity.jwt');
    writeFileSync(tokenFile, 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln');
    const client = new Anthropic({
      baseURL: serve.base,
      maxRetries: 0,
      config: {
        organization_id: 'org_1',
        authentication: {
          type: 'oidc_federation',
          federation_rule_id: 'fdrl_1',
          identity_token: { source: 'file', path: tokenFile },
        },
      },
    });
    const msg = await client.messages.create(
      { model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'Hi' }] },
      { headers: { 'x-request-id': 'qa26-oidc-call' } },
    );
    expect(msg.content).toEqual([{ type: 'text', text: 'Hello.' }]);

    const exchange = seen.find((s) => s.url === '/anthropic/v1/oauth/token') as Seen;
    expect(exchange).toBeDefined();
    expect(exchange.method).toBe('POST');
    expect(exchange.headers['anthropic-beta']).toContain('oidc-federation-');
    expect(JSON.parse(exchange.body)).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      assertion: 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJjaSJ9.c2ln',
      federation_rule_id: 'fdrl_1',
      organization_id: 'org_1',
    });
    const call = seen.find((s) => s.url.startsWith('/anthropic/v1/messages')) as Seen;
    expect(call.headers.authorization).toBe('Bearer sk-ant-oat-minted');

    const rec = await record('qa26-oidc-call');
    expect(rec).toMatchObject({ endpoint: 'messages', status: 'ok', input_tokens: 10, output_tokens: 2 });
    // the exchange is not a call
    const list = (await (await fetch(`${serve.base}/api/requests`)).json()) as { data: Rec[] };
    expect(list.data.map((r) => r.request_id)).toEqual(['qa26-oidc-call']);
  });

  it("prices Codex's gpt-5-codex calls at the catalog's rates ($1.25 in, $0.125 cached, $10 out per 1M)", async () => {
    const openai = new OpenAI({ baseURL: `${serve.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const stream = await openai.responses.create(
      {
        model: 'gpt-5-codex',
        instructions: 'You are Codex.',
        input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'list the files' }] }],
        reasoning: { effort: 'medium', summary: 'auto' },
        store: false,
        include: ['reasoning.encrypted_content'],
        stream: true,
      },
      {
        headers: {
          'x-request-id': 'qa26-codex',
          'x-simulator-cached-tokens': '5',
          'x-simulator-reasoning-tokens': '9',
        },
      },
    );
    let usage: OpenAI.Responses.ResponseUsage | undefined;
    for await (const e of stream) if (e.type === 'response.completed') usage = e.response.usage;
    if (!usage) throw new Error('no response.completed');
    const rec = await record('qa26-codex');
    expect(rec).toMatchObject({
      status: 'ok',
      input_tokens: usage.input_tokens,
      cached_input_tokens: 5,
      output_tokens: usage.output_tokens,
      reasoning_tokens: 9,
    });
    const expected = ((usage.input_tokens - 5) * 1.25 + 5 * 0.125 + usage.output_tokens * 10) / 1e6;
    expect(rec.cost_usd).toBeCloseTo(expected, 12);
  });

  it('records a Gemini answer with thought summaries blocked part-way by safety as a refusal, with its thoughts tokens', async () => {
    const ai = new GoogleGenAI({
      apiKey: 'gemini-key',
      httpOptions: {
        baseUrl: serve.base,
        headers: {
          'x-request-id': 'qa26-gemini-block',
          'x-simulator-safety-after': '3',
          'x-simulator-reasoning-tokens': '7',
        },
      },
    });
    const r = await ai.models.generateContent({
      model: 'gemini-2.5-flash',
      contents: 'Tell me something.',
      config: { systemInstruction: 'Be brief.', thinkingConfig: { thinkingBudget: 512, includeThoughts: true } },
    });
    const cand = r.candidates?.[0];
    expect(cand?.finishReason).toBe('SAFETY');
    expect(cand?.content?.parts?.every((p) => p.thought === true)).toBe(true);
    const u = r.usageMetadata;
    expect(u).toMatchObject({ candidatesTokenCount: 3, thoughtsTokenCount: 7 });
    const rec = await record('qa26-gemini-block');
    expect(rec).toMatchObject({
      status: 'ok',
      finish_reason: 'SAFETY',
      refusal: true,
      input_tokens: u?.promptTokenCount,
      output_tokens: 10,
      reasoning_tokens: 7,
    });
    // gemini-2.5-flash: $0.30 in, $2.50 out (thoughts billed as output) per 1M
    expect(rec.cost_usd).toBeCloseTo(((u?.promptTokenCount ?? 0) * 0.3 + 10 * 2.5) / 1e6, 12);
  });

  it("records Claude's thinking as output with reasoning_tokens unknown (null), streamed and not; 0 without thinking", async () => {
    const client = new Anthropic({ baseURL: serve.base, apiKey: 'sk-ant-test', maxRetries: 0 });
    const body = {
      model: 'claude-opus-4-5',
      max_tokens: 2000,
      thinking: { type: 'enabled' as const, budget_tokens: 1024 },
      system: [{ type: 'text' as const, text: 'You are Claude Code.', cache_control: { type: 'ephemeral' as const } }],
      messages: [{ role: 'user' as const, content: 'list the files' }],
    };
    const headers = { 'x-simulator-reasoning-tokens': '6' };
    const streamed = await client.messages
      .stream(body, { headers: { ...headers, 'x-request-id': 'qa26-think-stream' } })
      .finalMessage();
    expect(streamed.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const plain = await client.messages.create(body, { headers: { ...headers, 'x-request-id': 'qa26-think-plain' } });
    expect(plain.content.map((b) => b.type)).toEqual(['thinking', 'text']);
    const none = await client.messages.create(
      { ...body, thinking: undefined },
      { headers: { 'x-request-id': 'qa26-think-none' } },
    );
    for (const [id, m] of [
      ['qa26-think-stream', streamed],
      ['qa26-think-plain', plain],
    ] as const) {
      const rec = await record(id);
      expect(rec).toMatchObject({ status: 'ok', output_tokens: m.usage.output_tokens, reasoning_tokens: null });
      // claude-opus-4-5: $5 in, $25 out per 1M; thinking is billed as output
      expect(rec.cost_usd).toBeCloseTo((m.usage.input_tokens * 5 + m.usage.output_tokens * 25) / 1e6, 12);
    }
    expect(await record('qa26-think-none')).toMatchObject({
      output_tokens: none.usage.output_tokens,
      reasoning_tokens: 0,
    });
  });
});
