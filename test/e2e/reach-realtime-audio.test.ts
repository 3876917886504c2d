// Realtime audio through llmscope with the official `openai` client's OpenAIRealtimeWS: audio tokens priced at the
// catalog's audio rates (gpt-realtime: $32 / $0.40 / $64 per 1M audio tokens in / cached / out, beside $4 / $0.40 /
// $16 for text). The simulator reports audio tokens for an answer asked for as audio (its content stays text).
import { connect } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costOf, createCostModule } from '../../src/cost/index.js';
import { type Stack, selfSignedCert, startStack, until } from './helpers.js';

type Event = Record<string, unknown> & { type: string };
interface Usage {
  input_tokens: number;
  output_tokens: number;
  input_token_details: {
    text_tokens: number;
    audio_tokens: number;
    cached_tokens: number;
    cached_tokens_details: { text_tokens: number; audio_tokens: number };
  };
  output_token_details: { text_tokens: number; audio_tokens: number };
}
/** gpt-realtime in the catalog. */
const GPT_REALTIME = {
  input: 4,
  cachedInput: 0.4,
  output: 16,
  cacheWrite: null,
  audioInput: 32,
  cachedAudioInput: 0.4,
  audioOutput: 64,
};

/** What the catalog charges for a response's usage, audio at the audio rates. */
const costOfUsage = (u: Usage) =>
  costOf(
    {
      input: u.input_tokens,
      cachedInput: u.input_token_details.cached_tokens,
      output: u.output_tokens,
      audioInput: u.input_token_details.audio_tokens,
      cachedAudioInput: u.input_token_details.cached_tokens_details.audio_tokens,
      audioOutput: u.output_token_details.audio_tokens,
    },
    GPT_REALTIME,
  );

let cert: string;
let key: string;
beforeAll(() => {
  ({ cert, key } = selfSignedCert('llmscope-rt-audio-'));
});

async function session(baseURL: string, headers: Record<string, string> = {}, query = '') {
  const client = new OpenAI({ baseURL, apiKey: 'sk-test' });
  const rt = new OpenAIRealtimeWS(
    { model: `gpt-realtime${query}`, options: { headers, rejectUnauthorized: false } },
    client,
  );
  const events: Event[] = [];
  rt.on('event', (e) => events.push(e as unknown as Event));
  rt.on('error', () => undefined);
  const closed = new Promise<void>((ok) => rt.socket.once('close', () => ok()));
  await new Promise<void>((ok, fail) => {
    rt.socket.once('open', () => ok());
    rt.socket.once('error', fail);
  });
  const count = (type: string) => events.filter((e) => e.type === type).length;
  return { rt, events, closed, count };
}

const realtimeCalls = (s: Stack) => s.calls.filter((c) => c.endpoint === 'realtime');

describe('Realtime audio priced at audio rates', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 1, outputTokens: 8 },
      config: { server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', tls: { cert, key } } },
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s.close());

  it('records an audio answer with its audio tokens and the exact cost, audio at the audio rates', async () => {
    const before = realtimeCalls(s).length;
    const c = await session(`${s.base}/v1`, { 'x-simulator-cached-tokens': '6' });
    c.rt.send({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'] } });
    c.rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] },
    });
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    c.rt.close();
    await c.closed;
    const done = c.events.find((e) => e.type === 'response.done') as unknown as { response: { usage: Usage } };
    const u = done.response.usage;
    // 8 text tokens and their audio
    expect(u.output_token_details).toEqual({ text_tokens: 8, audio_tokens: 48 });
    const call = await until(() => realtimeCalls(s)[before], 10_000);
    await s.app.ctx.recorder.flush();
    expect(call).toMatchObject({
      model: 'gpt-realtime',
      inputTokens: u.input_tokens,
      cachedInputTokens: 6,
      outputTokens: 56,
      tokenSource: 'usage',
    });
    expect(call.events).toContainEqual(
      expect.objectContaining({
        name: 'realtime.audio_tokens',
        attributes: { input_audio_tokens: 0, cached_audio_tokens: 0, output_audio_tokens: 48 },
      }),
    );
    expect(call.costUsd).toBe(costOfUsage(u));
    // (6 cached × $0.40 + the rest of the prompt × $4 + 8 × $16 + 48 × $64) / 1M: the audio is most of it
    expect(call.costUsd).toBe(Math.round(((u.input_tokens - 6) * 4 + 6 * 0.4 + 8 * 16 + 48 * 64) * 1e6) / 1e12);
  });
});
