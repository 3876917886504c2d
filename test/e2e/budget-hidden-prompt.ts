// The two calls of decision 48's budget tests (qa-cost-budget-hidden-prompt*.test.ts), against a gateway at `base`
// with budgets `agent` (user "agent") and `hour-cache` (user "cache-writer") of the limits given: each runs CALLS
// concurrent calls billed for a prompt their body does not carry and checks what the admitted ones spent.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { expect } from 'vitest';

export const CALLS = 20;

/** What a test reads of a recorded call (the in-process LlmCall, or /api/requests/{id} mapped to it). */
export interface Billed {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  cacheWriteInputTokens?: number | null;
  cacheWritePrice?: number | null;
}

async function admittedIds(run: () => Promise<string | null>): Promise<string[]> {
  const ids = await Promise.all(
    Array.from({ length: CALLS }, async () => {
      try {
        return await run();
      } catch (err) {
        expect((err as { status?: number }).status).toBe(429);
        return null;
      }
    }),
  );
  return ids.filter((id): id is string => id !== null);
}

/**
 * A long first Responses turn (~20,000 tokens of gpt-4o prompt), then CALLS concurrent calls continuing it
 * (`previous_response_id`, a 5-byte input each): each is billed the whole first conversation. Returns the admitted
 * count and the spend (first call included), having checked it is within `limit`.
 */
export async function chainedResponses(
  base: string,
  limit: number,
  callOf: (id: string) => Promise<Billed>,
  opts: { stream?: boolean } = {},
): Promise<{ admitted: number; spent: number }> {
  const client = new OpenAI({
    baseURL: `${base}/v1`,
    apiKey: 'x',
    maxRetries: 0,
    // budgets `agent` and `agent-stream`
    defaultHeaders: { 'x-llmscope-user': opts.stream ? 'agent-stream' : 'agent' },
  });
  /** One response (streamed with opts.stream: its id from the final event): its id and llmscope's request id. */
  const create = async (body: OpenAI.Responses.ResponseCreateParamsNonStreaming) => {
    if (!opts.stream) {
      const r = await client.responses.create(body);
      return { id: r.id, requestId: r._request_id ?? '' };
    }
    const { data, response } = await client.responses.create({ ...body, stream: true }).withResponse();
    let id = '';
    for await (const ev of data) if (ev.type === 'response.completed') id = ev.response.id;
    return { id, requestId: response.headers.get('x-request-id') ?? '' };
  };
  const words = Array.from({ length: 10_000 }, (_, i) => `w${i % 97}`).join(' ');
  const first = await create({ model: 'gpt-4o', input: words, max_output_tokens: 16 });
  expect(first.id).toMatch(/^resp_/);
  const firstCall = await callOf(first.requestId);
  const firstSize = (firstCall.inputTokens ?? 0) + (firstCall.outputTokens ?? 0);
  expect(firstSize).toBeGreaterThan(15_000);
  const admitted = await admittedIds(
    async () =>
      (await create({ model: 'gpt-4o', input: 'go on', previous_response_id: first.id, max_output_tokens: 16 }))
        .requestId,
  );
  expect(admitted.length).toBeGreaterThan(0);
  expect(admitted.length).toBeLessThan(CALLS);

  const calls = await Promise.all(admitted.map(callOf));
  // each was billed the earlier conversation it continued
  for (const c of calls) expect(c.inputTokens).toBeGreaterThan(firstSize);
  const spent = (firstCall.costUsd ?? 0) + calls.reduce((sum, c) => sum + (c.costUsd ?? 0), 0);
  expect(spent).toBeLessThanOrEqual(limit);
  return { admitted: admitted.length, spent };
}

/**
 * CALLS concurrent Claude calls of a ~4,000-token prompt asking for the 1-hour cache (`ttl: "1h"`), each writing its
 * whole prompt there (2 x input: $6 per 1M on claude-sonnet-4-5). Checks the admitted ones spent within `limit`.
 */
export async function hourCacheCalls(
  base: string,
  limit: number,
  callOf: (id: string) => Promise<Billed>,
): Promise<{ admitted: number; spent: number }> {
  const client = new Anthropic({ baseURL: base, apiKey: 'x', maxRetries: 0 });
  // 12,000 digits: ~4,000 tokens, about what characters / 3 estimates
  const prompt = Array.from({ length: 12_000 }, (_, i) => String((i * 7919) % 10)).join('');
  const admitted = await admittedIds(async () => {
    const r = await client.messages
      .create(
        {
          model: 'claude-sonnet-4-5',
          max_tokens: 10,
          messages: [
            {
              role: 'user',
              content: [{ type: 'text', text: prompt, cache_control: { type: 'ephemeral', ttl: '1h' } }],
            },
          ],
        },
        // the simulator writes the whole prompt to the 1-hour cache
        {
          headers: {
            'x-llmscope-user': 'cache-writer',
            'x-simulator-cache-write-tokens': '100000',
            'x-simulator-cache-write-1h-tokens': '100000',
          },
        },
      )
      .withResponse();
    return r.response.headers.get('x-request-id');
  });
  expect(admitted.length).toBeGreaterThan(0);
  expect(admitted.length).toBeLessThan(CALLS);

  const calls = await Promise.all(admitted.map(callOf));
  for (const c of calls) {
    expect(c.cacheWriteInputTokens).toBeGreaterThan(3_000);
    expect(c.cacheWriteInputTokens).toBe(c.inputTokens);
    expect(c.cacheWritePrice).toBeCloseTo(6 / 1e6, 12);
  }
  const spent = calls.reduce((sum, c) => sum + (c.costUsd ?? 0), 0);
  expect(spent).toBeLessThanOrEqual(limit);
  return { admitted: admitted.length, spent };
}

/** The budgets both tests configure. */
export const BUDGETS = [
  { name: 'agent', scope: 'user', match: 'agent', period: 'day', limit: 0.4, action: 'block' },
  { name: 'agent-stream', scope: 'user', match: 'agent-stream', period: 'day', limit: 0.4, action: 'block' },
  { name: 'hour-cache', scope: 'user', match: 'cache-writer', period: 'day', limit: 0.05, action: 'block' },
];
