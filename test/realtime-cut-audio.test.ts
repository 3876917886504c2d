// Spans the Realtime meter (a core provider) and the cost capability's pricing, so it lives outside src/ (the layer
// rules of test/architecture.test.ts forbid a core folder importing a capability, its tests included).
// A Realtime response the client's close cut: it has no usage, so its tokens are counted from what it streamed. Its
// text deltas were counted with the tokenizer; its audio deltas were not counted at all, though OpenAI bills the
// audio it generated (1 token per 50 ms of it). Now the meter's count of them is part of the output tokens and of
// the realtime.audio_tokens event, so the audio is priced at the model's audio rate.
import { describe, expect, it } from 'vitest';
import { arrivedInternals, type LlmCall } from '../src/calls/index.js';
import { fakeCall } from '../src/calls/testing.js';
import { countTokens, tokenEnricher } from '../src/calls/tokens.js';
import { audioTokensOf, costOf } from '../src/cost/pricing.js';
import { RealtimeMeter, type RealtimeResponse } from '../src/providers/openai-realtime/meter.js';

const f = (o: unknown) => Buffer.from(JSON.stringify(o));

/** gpt-realtime's prices (per 1M tokens: $4 / $16 text in / out, $32 / $64 audio). */
const PRICES = {
  input: 4,
  cachedInput: 0.4,
  output: 16,
  cacheWrite: null,
  cacheWrite1h: null,
  audioInput: 32,
  cachedAudioInput: 0.4,
  audioOutput: 64,
};

describe('a Realtime response cut by the client: its streamed audio is counted', () => {
  it('as output audio tokens beside its text, priced at the audio rate', () => {
    const out: RealtimeResponse[] = [];
    const m = new RealtimeMeter('gpt-realtime', (r) => out.push(r));
    m.client(
      f({ type: 'conversation.item.create', item: { role: 'user', content: [{ text: 'Say hello' }] } }),
      false,
      0,
    );
    m.client(f({ type: 'response.create' }), false, 1);
    m.server(f({ type: 'response.created', response: { id: 'resp_1' } }), false, 2);
    // 1.5 s of PCM16 24 kHz audio in 15 deltas (30 tokens) and its transcript so far
    for (let k = 0; k < 15; k++) {
      const delta = Buffer.alloc(4_800, k).toString('base64');
      m.server(f({ type: 'response.output_audio.delta', response_id: 'resp_1', delta }), false, 3 + k);
      if (k % 5 === 0)
        m.server(
          f({ type: 'response.output_audio_transcript.delta', response_id: 'resp_1', delta: 'Hello ' }),
          false,
          3,
        );
    }
    m.end(50);
    const [r] = out as [RealtimeResponse];
    expect(r).toMatchObject({ status: 'open', usage: null, outputText: 'Hello Hello Hello ' });
    expect(r.audio).toEqual({ input: 0, cachedInput: 0, output: 30 });

    // the call the proxy makes of it (proxy.ts call(): a client's close, no usage; its audio on the internals and
    // in the realtime.audio_tokens event), counted by the token enricher as the recorder does
    const internal = arrivedInternals(r.startedAt, 'a'.repeat(16), 'b'.repeat(16), null);
    internal.promptText = r.promptText;
    internal.outputText = r.outputText;
    internal.outputAudioTokens = r.audio?.output;
    const call: LlmCall = fakeCall({
      endpoint: 'realtime',
      model: 'gpt-realtime',
      stream: true,
      status: 'cancelled',
      httpStatus: 499,
      errorType: 'client_closed_request',
      inputTokens: null,
      outputTokens: null,
      cachedInputTokens: null,
      tokenSource: null,
      events: [
        {
          time: r.doneAt,
          name: 'realtime.audio_tokens',
          attributes: { input_audio_tokens: 0, cached_audio_tokens: 0, output_audio_tokens: 30 },
        },
      ],
      internal,
    });
    tokenEnricher.enrich(call);
    const text = countTokens('Hello Hello Hello ');
    // before, only the transcript's tokens: the audio cost nothing
    expect(call.outputTokens).toBe(text + 30);
    expect(call.tokenSource).toBe('tokenizer');
    const tokens = {
      input: call.inputTokens ?? 0,
      cachedInput: 0,
      output: call.outputTokens ?? 0,
      ...audioTokensOf(call),
    };
    expect(tokens.audioOutput).toBe(30);
    expect(costOf(tokens, PRICES)).toBeCloseTo(((call.inputTokens ?? 0) * 4 + text * 16 + 30 * 64) / 1e6, 12);
  });
});
