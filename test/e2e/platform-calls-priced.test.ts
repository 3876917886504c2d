// Image, speech and transcription calls through llmscope are recorded with their latency, status, model and the
// tokens their answer's `usage` reports, priced from the catalog, and budgets settle on that cost (decision 108).
// Before, they were passed through unrecorded: nothing of them in the ledger, the cost pages or a budget's spend.
// The official openai client against the simulator (which answers in OpenAI's shapes and usage rules, media.ts).
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, type Stack, startStack } from './helpers.js';

/** Half a second of 24 kHz 16-bit mono silence, as a WAV file. */
function wav(): Buffer {
  const pcm = Buffer.alloc(24_000);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + pcm.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(24_000, 24);
  h.writeUInt32LE(48_000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([h, pcm]);
}

describe('platform calls recorded and priced', () => {
  let s: Stack;
  let openai: OpenAI;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0 },
      config: {
        budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 100, action: 'alert' }],
      } as never,
      app: { modules: [createCostModule] },
    });
    openai = new OpenAI({
      baseURL: `${s.base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-user': 'pat' },
    });
  });
  afterAll(() => s.close());

  it('gpt-image-1 and gpt-4o-transcribe by their usage; dall-e-3, whisper-1 and tts-1 without tokens, per unit', async () => {
    const image = await openai.images.generate({ model: 'gpt-image-1', prompt: 'a red fox', quality: 'low' });
    expect(image.usage).toMatchObject({ input_tokens: 3, output_tokens: 272 });
    const dalle = await openai.images.generate({ model: 'dall-e-3', prompt: 'a red fox' });
    expect(dalle.usage).toBeUndefined();
    const t = await openai.audio.transcriptions.create({
      model: 'gpt-4o-transcribe',
      file: await toFile(wav(), 'a.wav'),
    });
    expect(t.usage).toMatchObject({ type: 'tokens', input_tokens: 5, input_token_details: { audio_tokens: 5 } });
    const outputTokens = (t.usage as { output_tokens: number }).output_tokens;
    const w = await openai.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav(), 'a.wav') });
    expect(w.usage).toEqual({ type: 'duration', seconds: 1 });
    const speech = Buffer.from(
      await (await openai.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there.' })).arrayBuffer(),
    );
    expect(speech.length).toBeGreaterThan(0);

    const calls = await s.waitForCalls(5);
    const by = (endpoint: string, model: string) => {
      const c = calls.find((x) => x.endpoint === endpoint && x.model === model);
      expect(c, `${endpoint} ${model}`).toBeDefined();
      return c as (typeof calls)[number];
    };
    const img = by('images.generations', 'gpt-image-1');
    expect(img).toMatchObject({ status: 'ok', httpStatus: 200, user: 'pat', inputTokens: 3, outputTokens: 272 });
    expect(img.tokenSource).toBe('usage');
    // 3 prompt tokens at $5 and 272 image tokens at $40 per 1M
    expect(img.costUsd).toBeCloseTo((3 * 5 + 272 * 40) / 1e6, 12);
    expect(img.latencyMs).toBeGreaterThan(0);
    const tr = by('audio.transcriptions', 'gpt-4o-transcribe');
    expect(tr).toMatchObject({ status: 'ok', inputTokens: 5, outputTokens });
    // 5 audio input tokens at $6, the transcript at $10 per 1M
    expect(tr.costUsd).toBeCloseTo((5 * 6 + outputTokens * 10) / 1e6, 12);
    // Per unit (decision 118; platform-unit-prices.test has more): one standard 1024x1024 image at $0.04, 1 second
    // of audio at $0.006 a minute, 12 characters at $15 per 1M.
    for (const [endpoint, model, cost] of [
      ['images.generations', 'dall-e-3', 0.04],
      ['audio.transcriptions', 'whisper-1', 0.0001],
      ['audio.speech', 'tts-1', 0.00018],
    ] as const) {
      const c = by(endpoint, model);
      expect({ endpoint, model, status: c.status, tokens: c.inputTokens, cost: c.costUsd }).toEqual({
        endpoint,
        model,
        status: 'ok',
        tokens: null,
        cost,
      });
    }
    // A call the provider refuses is recorded with what it said, as a chat call's error is.
    const bad = await openai.images
      .generate({ model: 'gpt-image-1', prompt: 'a fox', size: '256x256' })
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    const [refused] = await s.waitForCalls(6).then((all) => all.filter((c) => c.httpStatus === 400));
    expect(refused).toMatchObject({
      endpoint: 'images.generations',
      model: 'gpt-image-1',
      status: 'client_error',
      errorType: 'invalid_request_error',
    });
    expect(refused?.errorMessage).toContain('Invalid size or quality');
    // The user's budget settled on what they cost.
    await expect
      .poll(async () => {
        const b = await getJson<{ budgets: { buckets: { value: string | null; spent_usd: number }[] }[] }>(
          `${s.base}/api/cost/budgets`,
        );
        return b.budgets[0]?.buckets.find((x) => x.value === 'pat')?.spent_usd ?? 0;
      })
      .toBeCloseTo((3 * 5 + 272 * 40 + 5 * 6 + outputTokens * 10) / 1e6 + 0.04 + 0.0001 + 0.00018, 10);
  });
});
