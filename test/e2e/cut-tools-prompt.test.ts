// A stream the client cancels before the upstream's usage comes is counted by llmscope's tokenizer: its prompt
// includes the request's tool definitions, which the provider bills as prompt (an agent's 20 tools are often most of
// it), not the messages' text alone. With the official openai client, on chat completions and the Responses API.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

const WEATHER = {
  type: 'object',
  properties: {
    city: { type: 'string', description: 'the city to forecast, e.g. Paris' },
    days: { type: 'integer', description: 'how many days ahead, 1 to 10' },
  },
  required: ['city'],
};

describe('a cancelled stream counts its tool definitions in its prompt', () => {
  let s: Stack;
  let openai: OpenAI;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 20, tpotMs: 15, outputTokens: 12 } });
    openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => s.close());

  /** Reads `n` events that `counts` says yes to, then aborts. */
  async function readThenCancel<E>(stream: AsyncIterable<E>, ac: AbortController, counts: (e: E) => boolean) {
    let n = 0;
    try {
      for await (const e of stream) if (counts(e) && ++n === 4) break;
    } catch {
      /* aborted */
    }
    ac.abort();
  }

  it('chat completions and Responses: within a few tokens of what the provider bills', async () => {
    const tools = Array.from({ length: 6 }, (_, k) => ({
      type: 'function' as const,
      function: { name: `get_weather_${k}`, description: 'Forecast for a city, day by day.', parameters: WEATHER },
    }));
    const messages = [{ role: 'user' as const, content: 'Weather in Paris?' }];
    const billed = (await openai.chat.completions.create({ model: 'gpt-4o-mini', messages, tools })).usage
      ?.prompt_tokens as number;
    const ac = new AbortController();
    const chat = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages, tools, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-tools-chat' }, signal: ac.signal },
    );
    await readThenCancel(chat, ac, (c) => Boolean(c.choices[0]?.delta.content));
    const c = await s.callOf('cut-tools-chat');
    expect(c.status).toBe('cancelled');
    expect(c.tokenSource).toBe('tokenizer');
    // six definitions are most of this prompt (~300 tokens of ~320): they were left out before
    expect(billed).toBeGreaterThan(200);
    expect(Math.abs((c.inputTokens ?? 0) - billed)).toBeLessThanOrEqual(2);

    const rTools = tools.map((t) => ({ type: 'function' as const, strict: false, ...t.function }));
    const input = 'Weather in Paris?';
    const rBilled = (await openai.responses.create({ model: 'gpt-4o-mini', input, tools: rTools })).usage
      ?.input_tokens as number;
    const ac2 = new AbortController();
    const resp = await openai.responses.create(
      { model: 'gpt-4o-mini', input, tools: rTools, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-tools-resp' }, signal: ac2.signal },
    );
    await readThenCancel(resp, ac2, (e) => e.type === 'response.output_text.delta');
    const r = await s.callOf('cut-tools-resp');
    expect(r.status).toBe('cancelled');
    expect(rBilled).toBeGreaterThan(200);
    expect(Math.abs((r.inputTokens ?? 0) - rBilled)).toBeLessThanOrEqual(2);
  });
});
