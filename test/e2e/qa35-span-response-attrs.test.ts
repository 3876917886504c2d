// The exported span of a streamed call names the model that answered and the response's id, as a non-streamed call's
// does (OpenTelemetry GenAI `gen_ai.response.model` and `gen_ai.response.id`, recommended; QA35). A streamed chat
// completion, a Responses stream and an Anthropic Messages stream through the gateway exported neither, though every
// chunk (message_start, response.completed) says them; a Gemini generateContent call exported neither either: Google
// names them modelVersion and responseId; nor did a Gemini stream (SSE or JSON array). The values are checked against
// what the client itself received.
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, simProviders, startStack } from './helpers.js';

const exporter = new InMemorySpanExporter();
let s: Stack;
let client: OpenAI;

beforeAll(async () => {
  s = await startStack({
    sim: { ttftMs: 2, tpotMs: 1, outputTokens: 5 },
    config: (sim) => ({ providers: simProviders(sim, 'openai', 'anthropic', 'gemini') }),
    app: { spanExporter: exporter },
  });
  client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => s?.close());

/** The exported `{operation} {model}` span of the call with this request id. */
async function spanOf(requestId: string): Promise<ReadableSpan> {
  for (let t = 0; t < 200; t++) {
    await s.app.ctx.recorder.flush();
    const sp = exporter.getFinishedSpans().find((x) => x.attributes['llmscope.request_id'] === requestId);
    if (sp) return sp;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no span exported for ${requestId}`);
}

async function post(path: string, body: unknown, headers: Record<string, string>): Promise<string> {
  const r = await fetch(`${s.base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  expect(r.status).toBe(200);
  return r.text();
}

const messages = [{ role: 'user' as const, content: 'Hello' }];

describe('gen_ai.response.model and gen_ai.response.id on the exported span', () => {
  it('a streamed chat completion (openai client)', async () => {
    const stream = await client.chat.completions.create(
      { model: 'gpt-4o-mini', messages, stream: true },
      { headers: { 'x-request-id': 'qa35-chat-stream' } },
    );
    let id = '';
    let model = '';
    for await (const c of stream) {
      id ||= c.id;
      model ||= c.model;
    }
    expect(id).not.toBe('');
    const sp = await spanOf('qa35-chat-stream');
    expect(sp.attributes['gen_ai.response.model']).toBe(model);
    expect(sp.attributes['gen_ai.response.id']).toBe(id);
  });

  it('a Responses stream (openai client)', async () => {
    const stream = await client.responses.create(
      { model: 'gpt-4o-mini', input: 'Hello', stream: true },
      { headers: { 'x-request-id': 'qa35-responses-stream' } },
    );
    let done: { id: string; model: string } | null = null;
    for await (const e of stream) if (e.type === 'response.completed') done = e.response;
    expect(done).not.toBeNull();
    const sp = await spanOf('qa35-responses-stream');
    expect(sp.attributes['gen_ai.response.model']).toBe(done?.model);
    expect(sp.attributes['gen_ai.response.id']).toBe(done?.id);
  });

  it('an Anthropic Messages stream', async () => {
    const text = await post(
      '/v1/messages',
      { model: 'claude-3-5-haiku-20241022', max_tokens: 32, stream: true, messages },
      { 'x-request-id': 'qa35-anthropic-stream', 'anthropic-version': '2023-06-01', 'x-api-key': 'k' },
    );
    const start = text
      .split('\n')
      .filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)))
      .find((e) => e.type === 'message_start');
    expect(start?.message?.id).toMatch(/^msg_/);
    const sp = await spanOf('qa35-anthropic-stream');
    expect(sp.attributes['gen_ai.response.model']).toBe(start.message.model);
    expect(sp.attributes['gen_ai.response.id']).toBe(start.message.id);
  });

  it('a Gemini generateContent call (modelVersion, responseId)', async () => {
    const body = JSON.parse(
      await post(
        '/v1beta/models/gemini-2.0-flash:generateContent',
        { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] },
        { 'x-request-id': 'qa35-gemini', 'x-goog-api-key': 'k' },
      ),
    );
    expect(typeof body.responseId).toBe('string');
    const sp = await spanOf('qa35-gemini');
    expect(sp.attributes['gen_ai.response.model']).toBe(body.modelVersion);
    expect(sp.attributes['gen_ai.response.id']).toBe(body.responseId);
  });

  it.each([
    ['server-sent events', '?alt=sse'],
    ['a JSON array', ''],
  ])('a Gemini stream as %s', async (_, query) => {
    const id = `qa35-gemini-stream${query ? '-sse' : '-array'}`;
    const text = await post(
      `/v1beta/models/gemini-2.0-flash:streamGenerateContent${query}`,
      { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }] },
      { 'x-request-id': id, 'x-goog-api-key': 'k' },
    );
    const first = query
      ? JSON.parse((text.split('\n').find((l) => l.startsWith('data: ')) as string).slice(6))
      : JSON.parse(text)[0];
    expect(typeof first.responseId).toBe('string');
    const sp = await spanOf(id);
    expect(sp.attributes['gen_ai.response.model']).toBe(first.modelVersion);
    expect(sp.attributes['gen_ai.response.id']).toBe(first.responseId);
  });

  it('a non-streamed chat completion keeps them', async () => {
    const { data } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages }, { headers: { 'x-request-id': 'qa35-chat' } })
      .withResponse();
    const sp = await spanOf('qa35-chat');
    expect(sp.attributes['gen_ai.response.model']).toBe(data.model);
    expect(sp.attributes['gen_ai.response.id']).toBe(data.id);
  });
});
