// Realtime audio through llmscope with the official `openai` client's OpenAIRealtimeWS: audio tokens priced at the
// catalog's audio rates (gpt-realtime: $32 / $0.40 / $64 per 1M audio tokens in / cached / out, beside $4 / $0.40 /
// $16 for text). The simulator reports audio tokens for an answer asked for as audio (its content stays text).
// Input audio transcriptions are recorded as calls of the transcription model, in a conversation session with
// transcription on and in a transcription-only session (the beta's ?intent=transcription); whisper-1's, billed by
// duration, with no tokens and its seconds as an event, priced by them (per minute, by the second).
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
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

  it('records an input audio transcription as a call of the transcription model; cached audio at its rate', async () => {
    const before = s.calls.length;
    const c = await session(`${s.base}/v1`, { 'x-simulator-cached-tokens': '12' });
    c.rt.send({
      type: 'session.update',
      session: {
        type: 'realtime',
        output_modalities: ['audio'],
        audio: { input: { transcription: { model: 'gpt-4o-transcribe' } } },
      },
    });
    // one second of PCM16 at 24 kHz: 10 audio tokens
    c.rt.send({ type: 'input_audio_buffer.append', audio: Buffer.alloc(48_000).toString('base64') });
    c.rt.send({ type: 'input_audio_buffer.commit' });
    await until(() => c.count('conversation.item.input_audio_transcription.completed') === 1, 10_000, 5);
    c.rt.send({ type: 'response.create' });
    await until(() => c.count('response.done') === 1, 10_000, 5);
    c.rt.close();
    await c.closed;
    const t = c.events.find((e) => e.type === 'conversation.item.input_audio_transcription.completed') as unknown as {
      item_id: string;
      usage: { input_tokens: number; output_tokens: number };
    };
    expect(t.usage.input_tokens).toBe(10);
    const calls = await until(() => (s.calls.length >= before + 2 ? s.calls.slice(before) : null), 10_000);
    await s.app.ctx.recorder.flush();
    const tr = calls.find((x) => x.model === 'gpt-4o-transcribe');
    expect(tr).toMatchObject({
      requestId: t.item_id,
      endpoint: 'realtime',
      status: 'ok',
      inputTokens: 10,
      outputTokens: t.usage.output_tokens,
      tokenSource: 'usage',
    });
    // 10 audio tokens × $6 + the transcript × $10, per 1M
    expect(tr?.costUsd).toBe(Math.round((10 * 6 + t.usage.output_tokens * 10) * 1e6) / 1e12);

    // the response after it: its prompt holds the audio (10 tokens), 5 of them cached (12 cached: 7 text, then audio)
    const done = c.events.find((e) => e.type === 'response.done') as unknown as { response: { usage: Usage } };
    const u = done.response.usage;
    expect(u.input_token_details.cached_tokens_details).toMatchObject({ text_tokens: 7, audio_tokens: 5 });
    const resp = calls.find((x) => x.model === 'gpt-realtime');
    expect(resp?.costUsd).toBe(costOfUsage(u));
    expect(resp?.costUsd).toBe(Math.round((0 * 4 + 7 * 0.4 + 5 * 32 + 5 * 0.4 + 8 * 16 + 48 * 64) * 1e6) / 1e12);
  });

  it('records a transcription-only session (?intent=transcription): tokens priced, whisper-1 by its seconds', async () => {
    const before = s.calls.length;
    const ws = new WebSocket(`${s.base.replace(/^http/, 'ws')}/v1/realtime?intent=transcription`, {
      headers: { authorization: 'Bearer sk-test', 'openai-beta': 'realtime=v1' },
      rejectUnauthorized: false,
    });
    const events: Event[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString()) as Event));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    const transcribe = async (model: string, n: number) => {
      ws.send(
        JSON.stringify({ type: 'transcription_session.update', session: { input_audio_transcription: { model } } }),
      );
      // half a second: 5 audio tokens
      ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(24_000).toString('base64') }));
      ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
      await until(
        () => events.filter((e) => e.type === 'conversation.item.input_audio_transcription.completed').length === n,
        10_000,
        5,
      );
    };
    await transcribe('whisper-1', 1);
    await transcribe('gpt-4o-mini-transcribe', 2);
    expect(events[0]?.type).toBe('transcription_session.created');
    ws.close();
    const done = events.filter(
      (e) => e.type === 'conversation.item.input_audio_transcription.completed',
    ) as unknown as {
      item_id: string;
      usage: { type: string; output_tokens?: number; seconds?: number };
    }[];
    expect(done[0]?.usage).toEqual({ type: 'duration', seconds: 0.5 });
    const calls = await until(() => (s.calls.length >= before + 2 ? s.calls.slice(before) : null), 10_000);
    await s.app.ctx.recorder.flush();
    const whisper = calls.find((x) => x.model === 'whisper-1');
    expect(whisper).toMatchObject({
      requestId: done[0]?.item_id,
      endpoint: 'realtime',
      status: 'ok',
      inputTokens: null,
      outputTokens: null,
    });
    // whisper-1 is billed by the second ($0.006 a minute): 0.5 s
    expect(whisper?.costUsd).toBeCloseTo(0.00005, 12);
    expect(whisper?.price).toMatchObject({ unit: 'second', units: 0.5, source: 'openai/whisper-1' });
    expect(whisper?.events).toContainEqual(
      expect.objectContaining({ name: 'realtime.transcription_duration', attributes: { seconds: 0.5 } }),
    );
    const mini = calls.find((x) => x.model === 'gpt-4o-mini-transcribe');
    const out = done[1]?.usage.output_tokens as number;
    expect(mini).toMatchObject({ requestId: done[1]?.item_id, inputTokens: 5, outputTokens: out });
    // 5 audio tokens × $3 + the transcript × $5, per 1M
    expect(mini?.costUsd).toBe(Math.round((5 * 3 + out * 5) * 1e6) / 1e12);
  });
});
