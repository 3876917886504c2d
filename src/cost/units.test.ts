// Per-unit prices (decision 118): DALL·E per image, whisper-1 per second, tts-1 per character; the units a request
// says, a call's `billing.units` event, the config's per-unit prices and check-config's errors for bad ones, and the
// GPT image models' output-token table admission reserves (decision 120). The end-to-end proof is
// test/e2e/platform-unit-prices.test.ts.
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../calls/index.js';
import { audioSecondsOf, formFieldReader } from '../providers/openai-compatible/platform-usage.js';
import { costConfigOf, pricingSchema } from './config.js';
import { isUnpriced, priceEnricher } from './per-call.js';
import { PriceBook } from './pricing.js';
import { fakeCall } from './testing.js';
import {
  type BilledUnits,
  characterCount,
  imageOutputTokens,
  requestUnitsOf,
  unitCostOf,
  unitEstimateOf,
  unitsEvent,
} from './units.js';

const book = (pricing: unknown = {}) => new PriceBook(costConfigOf({ pricing }).pricing);
const call = (endpoint: Endpoint, model: string, units: BilledUnits | null) =>
  fakeCall({
    endpoint,
    model,
    inputTokens: null,
    outputTokens: null,
    events: units ? [unitsEvent(units, Date.now())] : [],
  });

describe('per-unit prices', () => {
  it('prices DALL·E per image by quality and size, whisper-1 per second, tts per character', () => {
    const b = book();
    const hd = b.priceCall(
      call('images.generations', 'dall-e-3', { unit: 'image', count: 2, size: '1024x1792', quality: 'hd' }),
    );
    expect(hd.costUsd).toBeCloseTo(0.24, 12);
    expect(hd.price).toMatchObject({ unit: 'image', unitPrice: 0.12, units: 2, source: 'openai/dall-e-3' });
    // no size or quality (or auto): DALL·E's defaults, standard 1024x1024; dall-e-2 has only standard
    expect(b.priceCall(call('images.generations', 'dall-e-3', { unit: 'image', count: 1 })).costUsd).toBe(0.04);
    expect(
      b.priceCall(call('images.variations', 'dall-e-2', { unit: 'image', count: 3, size: '512x512', quality: 'hd' }))
        .costUsd,
    ).toBeCloseTo(0.054, 12);
    const w = b.priceCall(call('audio.transcriptions', 'whisper-1', { unit: 'second', count: 90 }));
    expect(w.costUsd).toBeCloseTo(0.009, 12);
    expect(w.price).toMatchObject({ unit: 'second', units: 90 });
    expect(b.priceCall(call('audio.speech', 'tts-1-hd', { unit: 'character', count: 1000 })).costUsd).toBeCloseTo(
      0.03,
      12,
    );
    // a size the table lacks, or no units recorded: unknown (null), never $0, and not counted unpriced
    const odd = b.priceCall(call('images.generations', 'dall-e-3', { unit: 'image', count: 1, size: '640x480' }));
    expect(odd).toMatchObject({ costUsd: null, unpriced: false });
    expect(b.priceCall(call('audio.speech', 'tts-1', null))).toMatchObject({ costUsd: null, unpriced: false });
    // units on a chat call are not read: only the platform endpoints are billed per unit
    expect(b.priceCall(call('chat.completions', 'tts-1', { unit: 'character', count: 10 })).costUsd).toBeNull();
  });

  it('counts a call billed per unit to a model no price names as unpriced, as a token call to one is', () => {
    // QA43: a speech call to `my-tts` (docs/cost.md's pricing example, without the config) was recorded with cost
    // null but counted nowhere: unpriced_requests 0, its Cost page row $0.00, no unpriced_model warning.
    const b = book();
    const priced = (c: ReturnType<typeof call>) => {
      priceEnricher(b).enrich(c);
      return c;
    };
    const unknown = call('audio.speech', 'my-tts', { unit: 'character', count: 12 });
    expect(b.priceCall(unknown)).toMatchObject({ costUsd: null, price: null, unpriced: true });
    expect(isUnpriced(priced(unknown))).toBe(true);
    expect(isUnpriced(priced(call('images.generations', 'my-image-model', { unit: 'image', count: 1 })))).toBe(true);
    // a priced model whose units are not in its table, or a call with no units: cost unknown, not a missing price
    const odd = priced(call('images.generations', 'dall-e-3', { unit: 'image', count: 1, size: '640x480' }));
    expect(odd.costUsd).toBeNull();
    expect(isUnpriced(odd)).toBe(false);
    expect(isUnpriced(priced(call('audio.speech', 'my-tts', null)))).toBe(false);
    // units on a chat call are not read
    expect(isUnpriced(priced(call('chat.completions', 'my-tts', { unit: 'character', count: 10 })))).toBe(false);
  });

  it('takes per-unit prices from the config, alone or over the catalog, and check-config refuses bad ones', () => {
    const b = book({
      models: [
        { model: 'my-image-model', perImage: { standard: { '1024x1024': 0.5 } } },
        { model: 'whisper-1', perMinute: 0.012 },
        { model: 'my-voice', perMillionCharacters: 20, input: 1, output: 2 },
      ],
    });
    expect(b.priceCall(call('images.generations', 'my-image-model', { unit: 'image', count: 2 })).costUsd).toBe(1);
    expect(b.priceCall(call('audio.translations', 'whisper-1', { unit: 'second', count: 30 })).costUsd).toBeCloseTo(
      0.006,
      12,
    );
    const voice = b.priceCall(call('audio.speech', 'my-voice', { unit: 'character', count: 100 }));
    expect(voice).toMatchObject({ costUsd: 0.002, price: { source: 'config', unit: 'character' } });
    const bad = (rule: Record<string, unknown>) => {
      const r = pricingSchema.safeParse({ models: [{ model: 'x', ...rule }] });
      return r.success ? null : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    };
    expect(bad({ perImage: { standard: { big: 0.1 } } })).toMatch(/perImage\.standard\.big: a size such as 1024x1024/);
    expect(bad({ perImage: { standard: { '1024x1024': -1 } } })).toMatch(/perImage/);
    expect(bad({ perImage: {} })).toMatch(/at least one quality/);
    expect(bad({ perMinute: -0.006 })).toMatch(/perMinute/);
    expect(bad({ perMillionCharacters: 15, sameAs: 'tts-1' })).toMatch(/price a model one way/);
    // named at the field that is one too many, not at an `input` the rule does not have (QA43)
    expect(bad({ perMillionCharacters: 15, sameAs: 'tts-1' })).toMatch(/^models\.0\.sameAs: price a model one way/);
    expect(bad({ perMinute: 0.006, gpuHours: { gpus: 1, pricePerGpuHour: 2 } })).toMatch(/^models\.0\.gpuHours: /);
    expect(bad({ sameAs: 'gpt-4o', gpuHours: { gpus: 1, pricePerGpuHour: 2 } })).toMatch(/^models\.0\.gpuHours: /);
    expect(bad({ perMinute: 0.006 })).toBeNull();
  });

  it('reads the units a request says and what admission reserves for them', () => {
    expect(requestUnitsOf('images.generations', { n: 3, size: '1792x1024', quality: 'hd' })).toEqual({
      unit: 'image',
      count: 3,
      size: '1792x1024',
      quality: 'hd',
    });
    expect(requestUnitsOf('images.generations', { n: 'x' })).toEqual({ unit: 'image', count: 1 });
    expect(requestUnitsOf('audio.speech', { input: 'Hi 👋 é' })).toEqual({ unit: 'character', count: 6 });
    expect(characterCount('👋👋')).toBe(2);
    expect(requestUnitsOf('audio.transcriptions', {}, 160_000)).toEqual({ unit: 'second', count: 10 });
    expect(requestUnitsOf('audio.transcriptions', {}, 0)).toBeNull();
    expect(requestUnitsOf('chat.completions', { input: 'x' })).toBeNull();
    const dalle3 = { perImage: { standard: { '1024x1024': 0.04 }, hd: { '1024x1792': 0.12 } } };
    // a size the table lacks reserves the table's largest price (the provider will refuse it, or bill its own)
    expect(unitEstimateOf(dalle3, { unit: 'image', count: 2, size: '640x480' })).toBeCloseTo(0.24, 12);
    expect(unitCostOf(dalle3, { unit: 'image', count: 2, size: '640x480' })).toBeNull();
    // gpt-image-1: output tokens by quality and size (OpenAI's table), the largest when either is unknown or auto
    expect(imageOutputTokens({ unit: 'image', count: 2, size: '1536x1024', quality: 'high' })).toBe(12_416);
    expect(imageOutputTokens({ unit: 'image', count: 1, size: '1024x1024', quality: 'low' })).toBe(272);
    expect(imageOutputTokens({ unit: 'image', count: 1, quality: 'auto' })).toBe(6240);
  });

  it("reads whisper-1's billed seconds from its answer: usage of type duration, else verbose_json's duration", () => {
    expect(audioSecondsOf('{"text":"Hi.","usage":{"type":"duration","seconds":7}}')).toBe(7);
    expect(audioSecondsOf('{"task":"transcribe","language":"english","duration":8.47,"text":"x","segments":[]}')).toBe(
      9,
    );
    // the transcript's own words are text, not the key
    expect(audioSecondsOf('{"text":"the \\"duration\\": 99 of it"}')).toBeNull();
    expect(audioSecondsOf('{"text":"x","usage":{"type":"tokens","input_tokens":5,"output_tokens":2}}')).toBeNull();
    expect(audioSecondsOf('plain text transcript')).toBeNull();
  });

  it("reads a multipart image edit's n and size as its body passes, split across chunks anywhere", () => {
    const body = Buffer.from(
      '--b\r\nContent-Disposition: form-data; name="image"; filename="a.png"\r\n\r\n\x89PNG....\r\n' +
        '--b\r\nContent-Disposition: form-data; name="n"\r\n\r\n3\r\n' +
        '--b\r\nContent-Disposition: form-data; name="size"\r\n\r\n512x512\r\n--b--\r\n',
    );
    for (let cut = 1; cut < body.length; cut++) {
      const got: string[] = [];
      for (const f of ['n', 'size', 'quality']) {
        const read = formFieldReader(f);
        for (const part of [body.subarray(0, cut), body.subarray(cut)]) {
          const v = read(part);
          if (v !== null) got.push(`${f}=${v}`);
        }
      }
      expect(got, `cut at ${cut}`).toEqual(['n=3', 'size=512x512']);
    }
  });
});
