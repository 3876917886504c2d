// A large non-streamed answer (7 MB: one message with 90,000 tool calls, inside the relay's 8 MiB parse cap) is read
// for its usage a piece at a time once it has gone to its client, the event loop handed back between turns (decision
// 43): before, JSON.parse of it, with its copy and decode, held the loop 0.2-0.5 s after the answer, and no other
// client was served meanwhile. The client gets the answer whole, the call is recorded with the upstream's exact
// tokens, its cost and finish reason, its stored answer text bounded; a call sent once the large answer has reached
// its client is answered before the large one's record is made (before: always after).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT_HEAD_CHARS, TEXT_TAIL_CHARS } from '../../src/calls/bounded-text.js';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { builtinModules } from '../../src/cli/modules.js';
import { MAX_PARSE_BYTES } from '../../src/gateway/relay.js';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

const TOOL_CALLS = 90_000;
const CONTENT = 'checked '.repeat(40_000); // 320,000 characters of answer text beside the tool calls
const USAGE = { prompt_tokens: 31, completion_tokens: 1_080_017, total_tokens: 1_080_048 };

const big = Buffer.from(
  JSON.stringify({
    id: 'chatcmpl-large',
    object: 'chat.completion',
    created: 1,
    model: 'gpt-4o-mini-2024-07-18',
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: CONTENT,
          tool_calls: Array.from({ length: TOOL_CALLS }, (_, i) => ({
            id: `c${i}`,
            type: 'function',
            function: { name: 'f', arguments: `{"n":${i}}` },
          })),
        },
        finish_reason: 'tool_calls',
      },
    ],
    usage: USAGE,
  }),
);
const small = JSON.stringify({
  id: 'chatcmpl-small',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4.1-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Small.' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
});

describe('a large non-streamed answer with many tool calls', () => {
  let upstream: Server;
  let app: App;
  let client: OpenAI;
  const calls: LlmCall[] = [];
  const capture: Sink = { name: 'capture', write: (b) => void calls.push(...b) };
  /** The models of the calls given to the recorder, in the order they were given. */
  const recordedModels: string[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const answer = (JSON.parse(body) as { model: string }).model === 'gpt-4o-mini' ? big : small;
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
        res.end(answer);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    app = await createApp(
      configOf({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
        providers: [{ name: 'openai', baseUrl: `http://127.0.0.1:${port}/v1`, models: ['gpt-*'] }],
        storage: { url: 'sqlite::memory:' },
        telemetry: { captureContent: true },
      }),
      { modules: builtinModules(), sinks: [capture], logDestination: { write: () => {} } },
    );
    const recorder = app.ctx.recorder;
    const record = recorder.record.bind(recorder);
    recorder.record = (call: LlmCall) => {
      recordedModels.push(call.model ?? '');
      record(call);
    };
    client = new OpenAI({ baseURL: `${await app.listen()}/v1`, apiKey: 'sk-test-not-a-real-key', maxRetries: 0 });
  });
  afterAll(async () => {
    await app?.close();
    upstream?.closeAllConnections();
    await new Promise((r) => upstream?.close(r));
  });

  it('is answered whole, other calls are served while it is read, and it is recorded exactly', async () => {
    expect(big.length).toBeGreaterThan(6 * 1024 * 1024);
    expect(big.length).toBeLessThan(MAX_PARSE_BYTES);
    const answer = await client.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'check each item' }],
    });
    expect(answer.choices[0]?.message.tool_calls).toHaveLength(TOOL_CALLS);
    expect(answer.usage).toEqual(USAGE);

    // Another client's call, sent once the large answer has come: answered while the large one is still being read.
    const other = await client.chat.completions.create({
      model: 'gpt-4.1-mini',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(other.choices[0]?.message.content).toBe('Small.');
    expect(recordedModels).not.toContain('gpt-4o-mini');

    let call: LlmCall | undefined;
    for (let i = 0; i < 1000 && !call; i++) {
      await app.ctx.recorder.flush();
      call = calls.find((c) => c.model === 'gpt-4o-mini');
      if (!call) await new Promise((r) => setTimeout(r, 20));
    }
    expect(call).toBeDefined();
    const c = call as LlmCall;
    expect(c.status).toBe('ok');
    expect(c.inputTokens).toBe(USAGE.prompt_tokens);
    expect(c.outputTokens).toBe(USAGE.completion_tokens);
    expect(c.tokenSource).not.toBe('estimate');
    expect(c.costUsd).toBeGreaterThan(0);
    expect(c.finishReason).toBe('tool_calls');
    expect(c.responseBytes).toBe(big.length);
    // the stored answer text: its head and tail, the whole length beside it
    expect(c.content?.output?.length).toBeLessThanOrEqual(TEXT_HEAD_CHARS + TEXT_TAIL_CHARS + 16);
    expect(c.content?.output?.startsWith('checked checked')).toBe(true);
    expect(c.content?.output?.endsWith('checked ')).toBe(true);
  }, 120_000);
});

describe('a large answer still being read when llmscope stops', () => {
  it('is recorded before the recorder closes', async () => {
    const upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': big.length });
        res.end(big);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const calls: LlmCall[] = [];
    const app = await createApp(
      configOf({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
        providers: [
          {
            name: 'openai',
            baseUrl: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}/v1`,
            models: ['gpt-*'],
          },
        ],
        storage: { url: 'sqlite::memory:' },
      }),
      {
        modules: builtinModules(),
        sinks: [{ name: 'capture', write: (b) => void calls.push(...b) }],
        logDestination: { write: () => {} },
      },
    );
    try {
      const client = new OpenAI({
        baseURL: `${await app.listen()}/v1`,
        apiKey: 'sk-test-not-a-real-key',
        maxRetries: 0,
      });
      const answer = await client.chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'check each item' }],
      });
      expect(answer.choices[0]?.message.tool_calls).toHaveLength(TOOL_CALLS);
      // as SIGTERM does: the answer has gone, its usage is still being read
      await app.close();
      expect(calls.map((c) => [c.model, c.outputTokens])).toEqual([['gpt-4o-mini', USAGE.completion_tokens]]);
    } finally {
      upstream.closeAllConnections();
      await new Promise((r) => upstream.close(r));
    }
  }, 60_000);
});
