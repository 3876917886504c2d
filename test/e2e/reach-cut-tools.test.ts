// A stream the client cancels while the model streams a tool call's arguments or its thinking, on each route that
// streams server-sent events, with the official SDKs: the provider bills those tokens as output, so the call is
// recorded as cancelled with the output it streamed so far counted — not 0 output tokens, as if only the answer's
// text were output. (A Gemini stream carries its usage in every chunk: it needs no counting.) Its prompt is counted
// as the provider bills it too: the messages' text and OpenAI's chat framing.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, simProviders, startStack } from './helpers.js';

/** Tool arguments long enough to cut half-way: the simulator streams them one token per event. */
const ARGS = JSON.stringify({
  city: 'Paris',
  days: 5,
  note: 'compare the morning and evening forecasts for each day and report the wettest one with its rainfall',
});
const TOOL = JSON.stringify({ name: 'get_weather', arguments: ARGS });
/** Events the client reads before it leaves. */
const READ = 8;

describe('reach: a stream cancelled in a tool call or thinking counts the output it streamed', () => {
  let s: Stack;
  let anthropic: Anthropic;
  let openai: OpenAI;
  /** The tokens of the whole tool call, as the simulator reports them when the stream runs to its end. */
  const full: Record<string, number> = {};

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 20, tpotMs: 15, outputTokens: 12 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic'),
      }),
      app: { modules: [createCostModule] },
    });
    anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-test', maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
  });
  afterAll(() => s.close());

  /**
   * Reads a stream until `counts(event)` has said yes READ times, then aborts and stops reading; returns how many it
   * counted. It leaves the loop at once: after the abort the SDKs still yield the events they had already received
   * and decoded (a chunk holds several under load), which the client never looks at.
   */
  async function readThenCancel<E>(stream: AsyncIterable<E>, ac: AbortController, counts: (e: E) => boolean) {
    let n = 0;
    try {
      for await (const e of stream) {
        if (counts(e) && ++n === READ) {
          ac.abort();
          break;
        }
      }
    } catch {
      /* aborted */
    }
    return n;
  }

  const expectCounted = async (id: string, seen: number, whole: number | undefined) => {
    const call = await s.callOf(id);
    expect(call.status).toBe('cancelled');
    expect(seen).toBe(READ);
    // at least what the client read (the gateway may have passed on a few more before the cancel reached it)
    expect(call.outputTokens).toBeGreaterThanOrEqual(READ);
    if (whole !== undefined) expect(call.outputTokens).toBeLessThan(whole);
    expect(call.tokenSource).toBe('tokenizer');
    expect(call.costUsd).toBeGreaterThan(0);
    return call;
  };

  it('Anthropic: a tool_use block cut in its input_json_delta events', async () => {
    const tools = [{ name: 'get_weather', input_schema: { type: 'object' as const } }];
    const body = {
      model: 'claude-sonnet-4-5',
      max_tokens: 500,
      tools,
      messages: [{ role: 'user' as const, content: 'Weather?' }],
    };
    const whole = await anthropic.messages.create(body, { headers: { 'x-simulator-tool-call': TOOL } });
    expect(whole.stop_reason).toBe('tool_use');
    full.anthropic = whole.usage.output_tokens;
    const ac = new AbortController();
    const stream = await anthropic.messages.create(
      { ...body, stream: true },
      { headers: { 'x-simulator-tool-call': TOOL, 'x-request-id': 'cut-anth-tool' }, signal: ac.signal },
    );
    const seen = await readThenCancel(
      stream,
      ac,
      (e) => e.type === 'content_block_delta' && e.delta.type === 'input_json_delta',
    );
    await expectCounted('cut-anth-tool', seen, full.anthropic);
  });

  it('Anthropic: extended thinking cut in its thinking_delta events', async () => {
    const ac = new AbortController();
    const stream = await anthropic.messages.create(
      {
        model: 'claude-sonnet-4-5',
        max_tokens: 2000,
        thinking: { type: 'enabled', budget_tokens: 1024 },
        messages: [{ role: 'user', content: 'Think first.' }],
        stream: true,
      },
      { headers: { 'x-simulator-reasoning-tokens': '60', 'x-request-id': 'cut-anth-think' }, signal: ac.signal },
    );
    const seen = await readThenCancel(
      stream,
      ac,
      (e) => e.type === 'content_block_delta' && e.delta.type === 'thinking_delta',
    );
    await expectCounted('cut-anth-think', seen, 60 + 12);
  });

  it('Responses: a function call cut in its function_call_arguments.delta events', async () => {
    const ac = new AbortController();
    const stream = await openai.responses.create(
      {
        model: 'gpt-4o-mini',
        input: 'Weather?',
        tools: [{ type: 'function', name: 'get_weather', parameters: { type: 'object' }, strict: false }],
        stream: true,
      },
      { headers: { 'x-simulator-tool-call': TOOL, 'x-request-id': 'cut-resp-tool' }, signal: ac.signal },
    );
    const seen = await readThenCancel(stream, ac, (e) => e.type === 'response.function_call_arguments.delta');
    await expectCounted('cut-resp-tool', seen, undefined);
  });

  it('Chat completions: tool_calls cut in their argument deltas', async () => {
    const body = {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user' as const, content: 'Weather?' }],
      tools: [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object' } } }],
    };
    const whole = await openai.chat.completions.create(body, { headers: { 'x-simulator-tool-call': TOOL } });
    full.chat = whole.usage?.completion_tokens ?? 0;
    const ac = new AbortController();
    const stream = await openai.chat.completions.create(
      { ...body, stream: true },
      { headers: { 'x-simulator-tool-call': TOOL, 'x-request-id': 'cut-chat-tool' }, signal: ac.signal },
    );
    const seen = await readThenCancel(stream, ac, (c) =>
      Boolean(c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments),
    );
    await expectCounted('cut-chat-tool', seen, full.chat);
  });

  it("counts a cancelled chat or Responses stream's prompt as the provider bills it: its text and the chat framing", async () => {
    const messages = [
      { role: 'system' as const, content: 'You are terse.' },
      { role: 'user' as const, content: 'Name three rivers.' },
    ];
    const billed = (await openai.chat.completions.create({ model: 'gpt-4o-mini', messages })).usage?.prompt_tokens;
    const ac = new AbortController();
    const chat = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-chat-framing' }, signal: ac.signal },
    );
    await readThenCancel(chat, ac, (c) => Boolean(c.choices[0]?.delta.content));
    const c = await s.callOf('cut-chat-framing');
    expect(c.status).toBe('cancelled');
    // the messages' text was counted joined by newlines: within a token a message of what was billed (11 fewer before: no framing)
    expect(Math.abs((c.inputTokens ?? 0) - (billed ?? 0))).toBeLessThanOrEqual(messages.length);

    const input = 'Name three rivers.';
    const rBilled = (await openai.responses.create({ model: 'gpt-4o-mini', input })).usage?.input_tokens;
    const ac2 = new AbortController();
    const resp = await openai.responses.create(
      { model: 'gpt-4o-mini', input, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-resp-framing' }, signal: ac2.signal },
    );
    await readThenCancel(resp, ac2, (e) => e.type === 'response.output_text.delta');
    const r = await s.callOf('cut-resp-framing');
    expect(r.status).toBe('cancelled');
    expect(r.inputTokens).toBe(rBilled);
  });

  it("counts the model's earlier tool calls in a cancelled stream's prompt: their names and arguments are billed", async () => {
    const patch =
      '*** Begin Patch\n*** Update File: src/app.ts\n@@\n-const retries = 3;\n+const retries = 5;\n*** End Patch';
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
      { role: 'user', content: 'What is the weather in Paris this week?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: ARGS } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'Rain on Tuesday, 12 mm.' },
      { role: 'user', content: 'And in Rome?' },
    ];
    const billed = (await openai.chat.completions.create({ model: 'gpt-4o-mini', messages })).usage?.prompt_tokens;
    const ac = new AbortController();
    const chat = await openai.chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-chat-history' }, signal: ac.signal },
    );
    await readThenCancel(chat, ac, (c) => Boolean(c.choices[0]?.delta.content));
    const c = await s.callOf('cut-chat-history');
    expect(c.status).toBe('cancelled');
    // within a token a message and a tool call (the arguments' ~30 tokens were missing before)
    expect(Math.abs((c.inputTokens ?? 0) - (billed ?? 0))).toBeLessThanOrEqual(messages.length + 2);

    // a Codex turn: a shell call and an apply_patch (a custom tool) with their outputs
    const input: OpenAI.Responses.ResponseInputItem[] = [
      { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Raise the retries to 5.' }] },
      { type: 'function_call', call_id: 'call_1', name: 'shell', arguments: '{"command":["rg","-n","retries","src"]}' },
      { type: 'function_call_output', call_id: 'call_1', output: 'src/app.ts:3:const retries = 3;' },
      { type: 'custom_tool_call', call_id: 'call_2', name: 'apply_patch', input: patch },
      { type: 'custom_tool_call_output', call_id: 'call_2', output: 'Success. Updated src/app.ts' },
    ];
    const rBilled = (await openai.responses.create({ model: 'gpt-4o-mini', input })).usage?.input_tokens;
    const ac2 = new AbortController();
    const resp = await openai.responses.create(
      { model: 'gpt-4o-mini', input, stream: true },
      { headers: { 'x-simulator-output-tokens': '60', 'x-request-id': 'cut-resp-history' }, signal: ac2.signal },
    );
    await readThenCancel(resp, ac2, (e) => e.type === 'response.output_text.delta');
    const r = await s.callOf('cut-resp-history');
    expect(r.status).toBe('cancelled');
    expect(Math.abs((r.inputTokens ?? 0) - (rBilled ?? 0))).toBeLessThanOrEqual(4);
  });
});
