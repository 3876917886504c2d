// Codex's other Responses API requests, through llmscope with the official `openai` client as Codex's base URL swap
// sends them: a compaction (POST /v1/responses/compact, a model pass over the whole conversation, billed like a
// response) is a recorded call with its tokens and cost, answered as the upstream answers it; the input-token count
// (POST /v1/responses/input_tokens) is passed through unrecorded. The simulator speaks both.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createCostModule } from '../../src/cost/index.js';
import type { RequestRecord } from '../../src/simulator/index.js';
import { type Stack, startStack } from './helpers.js';

/** gpt-4o-mini's catalog prices, USD per 1M tokens. */
const PRICE = { input: 0.15, cachedInput: 0.075, cacheWrite: null, output: 0.6 };
const comparable = (x: unknown) =>
  JSON.parse(
    JSON.stringify(x)
      .replace(/"(resp|msg|cmp)_[A-Za-z0-9]+"/g, '"$1_X"')
      .replace(/"created_at":\d+/g, '"created_at":0')
      .replace(/"encrypted_content":"[^"]*"/g, '"encrypted_content":"X"'),
  );

describe('Codex: compaction and input-token counts through the gateway', () => {
  let s: Stack;
  let direct: OpenAI;
  let via: OpenAI;
  const seen: RequestRecord[] = [];
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 30, tpotMs: 3, outputTokens: 20 }, app: { modules: [createCostModule] } });
    s.sim.events.on('request', (r) => seen.push(r));
    const client = (baseURL: string) => new OpenAI({ baseURL, apiKey: 'sk-test-not-real', maxRetries: 0 });
    direct = client(s.sim.url);
    via = client(`${s.base}/v1`);
  });
  afterAll(() => s.close());

  // A Codex conversation: instructions, the user's turn, a tool call and its output, the model's answer.
  const input: OpenAI.Responses.ResponseInputItem[] = [
    { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
    { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"cmd":"ls"}' },
    { type: 'function_call_output', call_id: 'call_1', output: 'a.txt\nb.txt\nREADME.md' },
    { type: 'message', role: 'assistant', content: 'There are three files.' },
  ];
  const conversation = { model: 'gpt-4o-mini', instructions: 'You are a coding agent.', input };

  it('responses.compact is a call: the upstream answer unchanged, its tokens and cost recorded', async () => {
    const headers = { 'x-simulator-cached-tokens': '8', 'x-simulator-reasoning-tokens': '5' };
    const a = await direct.responses.compact(conversation, { headers });
    const before = seen.length;
    const b = await via.responses.compact(conversation, { headers: { ...headers, 'x-request-id': 'codex-compact' } });
    expect(comparable(b)).toEqual(comparable(a));
    expect(b.object).toBe('response.compaction');
    expect(b.output.at(-1)?.type).toBe('compaction');
    // the request reached the upstream's compact path as sent
    const upstream = seen.slice(before).find((r) => r.headers['x-request-id'] === 'codex-compact');
    expect(upstream?.path).toBe('/v1/responses/compact');
    expect(upstream?.body).toEqual(conversation);
    const call = await s.callOf('codex-compact');
    const u = b.usage;
    expect(call).toMatchObject({
      endpoint: 'responses',
      stream: false,
      status: 'ok',
      model: 'gpt-4o-mini',
      inputTokens: u.input_tokens,
      cachedInputTokens: 8,
      outputTokens: 25,
      reasoningTokens: 5,
      finishReason: 'compacted',
      tokenSource: 'usage',
    });
    expect(call.costUsd).toBe(costOf({ input: u.input_tokens, cachedInput: 8, output: 25 }, PRICE));
  });

  it('a failed compaction is recorded with the upstream status; inputTokens.count passes through unrecorded', async () => {
    const err = await via.responses
      .compact(conversation, { headers: { 'x-simulator-fault': 'rate_limit', 'x-request-id': 'codex-compact-429' } })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(await s.callOf('codex-compact-429')).toMatchObject({ status: 'rate_limited', httpStatus: 429 });

    const n = s.calls.length;
    const counted = await via.responses.inputTokens.count(
      { model: 'gpt-4o-mini', input: conversation.input, instructions: conversation.instructions },
      { headers: { 'x-request-id': 'codex-count' } },
    );
    expect(counted).toEqual(
      await direct.responses.inputTokens.count({
        model: 'gpt-4o-mini',
        input: conversation.input,
        instructions: conversation.instructions,
      }),
    );
    expect(counted.object).toBe('response.input_tokens');
    expect(counted.input_tokens).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 200));
    expect(s.calls.length).toBe(n);
    expect(s.calls.find((c) => c.requestId === 'codex-count')).toBeUndefined();
  });
});
