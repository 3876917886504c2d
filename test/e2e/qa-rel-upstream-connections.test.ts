// Many concurrent streams through one gateway process. Each provider's connections were capped at 128 by default
// (providers[].connections), far below server.maxConcurrentCalls (4096): the 129th concurrent stream was admitted,
// then waited in llmscope for a connection until a whole stream ahead of it ended, and its record put that wait in
// the upstream's TTFT (5.4 s on a 5 s stream, overhead_ms 0.2), so the provider was blamed for llmscope's queue.
// Unset, the cap is gone: every call in flight has its own connection, bounded by server.maxConcurrentCalls.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

/** More concurrent streams than the old default cap (128). */
const STREAMS = 160;

let stack: Stack;

beforeAll(async () => {
  // Each stream lasts 100 × 100 ms = 10 s: far longer than it takes all of them to start, even on a busy host.
  stack = await startStack({ sim: { ttftMs: 0, tpotMs: 100, outputTokens: 100 } });
});

afterAll(async () => {
  await stack?.close();
});

describe('concurrent streams past 128 through one process', () => {
  it('every stream gets its first token before any stream ends', async () => {
    const client = new OpenAI({ baseURL: `${stack.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
    const order: ('first' | 'end')[] = [];
    await Promise.all(
      Array.from({ length: STREAMS }, async (_, i) => {
        const stream = await client.chat.completions.create({
          model: 'gpt-4o-mini',
          stream: true,
          messages: [{ role: 'user', content: `stream ${i}` }],
        });
        let first = true;
        for await (const chunk of stream) {
          if (first && chunk.choices[0]?.delta.content) {
            first = false;
            order.push('first');
          }
        }
        order.push('end');
      }),
    );
    expect(order).toHaveLength(2 * STREAMS);
    // Before: the 32 streams past the cap got their first token only after 128 streams had ended.
    const firstEnd = order.indexOf('end');
    expect(order.slice(firstEnd).filter((e) => e === 'first')).toHaveLength(0);
    const calls = await stack.waitForCalls(STREAMS, 30_000);
    expect(calls.filter((c) => c.status === 'ok')).toHaveLength(STREAMS);
  }, 120_000);
});
