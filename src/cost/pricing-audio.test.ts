// Audio tokens at audio rates: a Realtime call's audio parts (its `realtime.audio_tokens` event) are priced at the
// catalog's or config's audio input, cached audio input and audio output rates; the rest at the text rates. A model
// without audio rates prices them as text; a call of another endpoint never reads the event.
import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { costConfigOf } from './config.js';
import { costOf, PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';

const book = (pricing: unknown = {}) => new PriceBook(costConfigOf({ pricing }).pricing);

/** A Realtime call: 1000 input (800 audio), 500 of them cached (400 audio), 300 output (240 audio). */
function realtimeCall(over: Partial<LlmCall> = {}, audio = true): LlmCall {
  return fakeCall({
    endpoint: 'realtime',
    provider: 'openai',
    model: 'gpt-realtime',
    inputTokens: 1000,
    cachedInputTokens: 500,
    outputTokens: 300,
    events: audio
      ? [
          {
            time: 0,
            name: 'realtime.audio_tokens',
            attributes: { input_audio_tokens: 800, cached_audio_tokens: 400, output_audio_tokens: 240 },
          },
        ]
      : [],
    ...over,
  });
}

describe('audio tokens at audio rates', () => {
  it('prices a Realtime call: text at text rates, audio at audio rates, cached audio at the cached audio rate', () => {
    const p = book().priceCall(realtimeCall());
    // text: 100 uncached × $4 + 100 cached × $0.40 + 60 output × $16; audio: 400 × $32 + 400 cached × $0.40 + 240 × $64
    expect(p.costUsd).toBe(0.02972);
    // the record's price has the audio rates beside the text ones, so it explains its cost
    expect(p.price).toEqual({
      input: 4 / 1e6,
      cachedInput: 0.4 / 1e6,
      output: 16 / 1e6,
      audioInput: 32 / 1e6,
      cachedAudioInput: 0.4 / 1e6,
      audioOutput: 64 / 1e6,
      source: 'openai/gpt-realtime',
    });
    // without the audio parts, everything at the text rates (500 × $4 + 500 × $0.40 + 300 × $16), text prices only
    const text = book().priceCall(realtimeCall({}, false));
    expect(text.costUsd).toBe(0.007);
    expect(text.price).toEqual({
      input: 4 / 1e6,
      cachedInput: 0.4 / 1e6,
      output: 16 / 1e6,
      source: 'openai/gpt-realtime',
    });
  });

  it('reads the audio parts only on Realtime calls', () => {
    const chat = realtimeCall({ endpoint: 'chat.completions' });
    expect(book().priceCall(chat).costUsd).toBe(0.007);
  });

  it('prices audio as text for a model without audio rates', () => {
    const b = book({ models: [{ model: 'my-voice', input: 1, cachedInput: 0.5, output: 2 }] });
    // 500 × $1 + 500 × $0.50 + 300 × $2
    expect(b.priceCall(realtimeCall({ model: 'my-voice' })).costUsd).toBe(0.00135);
    expect(b.priceCall(realtimeCall({ model: 'my-voice' })).price).not.toHaveProperty('audioInput');
  });

  it('takes audio rates from config; cached audio defaults to the audio input rate', () => {
    const b = book({
      models: [{ model: 'my-voice', input: 1, cachedInput: 0.5, output: 2, audioInput: 10, audioOutput: 20 }],
    });
    // text 100 × 1 + 100 × 0.5 + 60 × 2 = 270; audio 400 × 10 + 400 × 10 + 240 × 20 = 12800
    expect(b.priceCall(realtimeCall({ model: 'my-voice' })).costUsd).toBe(0.01307);
    expect(() =>
      costConfigOf({ pricing: { models: [{ model: 'x', input: 1, output: 1, audioInput: -1 }] } }),
    ).toThrow();
  });

  it('has the Realtime and transcription models, the snapshots resolved', () => {
    const b = book();
    const t = Date.parse('2026-12-01T00:00:00Z');
    expect(b.resolve('gpt-realtime-2025-08-28', 'openai', t)?.base).toMatchObject({
      input: 4,
      audioInput: 32,
      cachedAudioInput: 0.4,
      audioOutput: 64,
    });
    expect(b.resolve('gpt-4o-mini-realtime-preview-2024-12-17', 'openai', t)?.source).toBe(
      'openai/gpt-4o-mini-realtime-preview',
    );
    expect(b.resolve('gpt-4o-realtime-preview', 'openai', t)?.base).toMatchObject({ audioInput: 40, audioOutput: 80 });
    // a transcription: 20 text + 100 audio tokens in, 30 out: 20 × $2.50 + 100 × $6 + 30 × $10
    const tr = realtimeCall({
      model: 'gpt-4o-transcribe',
      inputTokens: 120,
      cachedInputTokens: 0,
      outputTokens: 30,
      events: [
        {
          time: 0,
          name: 'realtime.audio_tokens',
          attributes: { input_audio_tokens: 100, cached_audio_tokens: 0, output_audio_tokens: 0 },
        },
      ],
    });
    expect(b.priceCall(tr).costUsd).toBe(0.00095);
    expect(b.resolve('gpt-4o-mini-transcribe', 'openai', t)?.base).toMatchObject({ input: 1.25, audioInput: 3 });
    // gpt-realtime-mini is not gpt-realtime (its audio rates unconfirmed: left unpriced, never borrowed)
    expect(b.resolve('gpt-realtime-mini-2025-10-06', 'openai', t)).toBeNull();
  });

  it('costOf never counts more audio than the tokens it is part of', () => {
    const prices = { input: 1, cachedInput: 1, output: 1, cacheWrite: null, audioInput: 10, audioOutput: 10 };
    // 50 audio claimed of 10 input, 99 of 5 output: at most all of them at the audio rate
    expect(costOf({ input: 10, cachedInput: 0, output: 5, audioInput: 50, audioOutput: 99 }, prices)).toBe(0.00015);
  });
});
