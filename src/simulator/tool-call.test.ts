import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './server.js';

const tokens = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;
const MESSAGES = [{ role: 'user' as const, content: 'Is my project web-shop down?' }];
const TOOLS = [{ type: 'function' as const, function: { name: 'get_project_status', parameters: { type: 'object' } } }];
const CALL = JSON.stringify({ name: 'get_project_status', arguments: '{"project":"web-shop"}' });

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ ttftMs: 0, tpotMs: 0, seed: 3 });
  client = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => sim.close());

describe('x-simulator-tool-call', () => {
  it('answers with a tool call instead of content', async () => {
    const r = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: MESSAGES, tools: TOOLS },
      { headers: { 'x-simulator-tool-call': CALL } },
    );
    const choice = r.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    const call = choice.message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    if (call?.type !== 'function') throw new Error('not a function call');
    expect(call.function).toEqual({ name: 'get_project_status', arguments: '{"project":"web-shop"}' });
    expect(r.usage?.completion_tokens).toBe(tokens('{"project":"web-shop"}'));
  });

  it('streams the tool name first, then the arguments, as OpenAI does', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: MESSAGES, tools: TOOLS, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-simulator-tool-call': CALL } },
    );
    let name = '';
    let id = '';
    let args = '';
    let finish: string | null = null;
    let completionTokens = 0;
    for await (const chunk of stream) {
      const c = chunk.choices[0];
      if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      if (!c) continue;
      for (const t of c.delta.tool_calls ?? []) {
        expect(t.index).toBe(0);
        if (t.id) id = t.id;
        if (t.function?.name) name += t.function.name;
        args += t.function?.arguments ?? '';
      }
      expect(c.delta.content ?? null).toBeNull();
      finish = c.finish_reason ?? finish;
    }
    expect(id).toMatch(/^call_/);
    expect(name).toBe('get_project_status');
    expect(args).toBe('{"project":"web-shop"}');
    expect(finish).toBe('tool_calls');
    expect(completionTokens).toBe(tokens(args));
  });

  it('takes a bare tool name (arguments {}), and rejects a malformed header', async () => {
    const r = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: MESSAGES, tools: TOOLS },
      { headers: { 'x-simulator-tool-call': 'open_ticket' } },
    );
    const call = r.choices[0]!.message.tool_calls?.[0];
    expect(call?.type === 'function' && call.function).toEqual({ name: 'open_ticket', arguments: '{}' });

    const res = await fetch(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-tool-call': '{"arguments":{}}' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: MESSAGES }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('invalid_simulator_header');
    expect(body.error.message).toMatch(/x-simulator-tool-call/);
  });

  it('leaves a refusal a refusal', async () => {
    const r = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages: MESSAGES, tools: TOOLS },
      { headers: { 'x-simulator-tool-call': CALL, 'x-simulator-fault': 'refusal' } },
    );
    expect(r.choices[0]!.message.tool_calls).toBeUndefined();
    expect(r.choices[0]!.message.refusal).toBeTruthy();
  });
});
