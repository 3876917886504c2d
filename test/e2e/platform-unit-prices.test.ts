// DALL·E, whisper-1 and tts-1 are priced per unit (decision 118): per image by quality and size, per second of audio
// (whisper-1's $0.006 a minute), per 1M characters of input. Before, their calls were recorded with cost null, so a
// `block` budget let them through until other calls spent it, and the cost pages and /metrics counted nothing of them.
// Admission reserves what the request says they will cost (DALL·E: n images at the price; speech: its characters), and
// a GPT image model its images' output tokens by quality and size (decision 120), not reserveOutputTokens (4,096). The
// real `serve` (built CLI: needs `npm run build`) and the official openai client against the simulator (media.ts:
// DALL·E answers without usage, whisper-1 with `usage: {type: "duration"}`, speech as audio bytes), in one process
// and under `serve --workers 2` (admission in the recorder process, from the worker's estimate).
import OpenAI, { toFile } from 'openai';
import { chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, killServe, metricValue, parseMetrics, type ServeRun, startServeWithConfig } from './helpers.js';

/** `seconds` of 24 kHz 16-bit mono silence, as a WAV file (the simulator reads its duration from the header). */
function wav(seconds: number): Buffer {
  const pcm = Buffer.alloc(Math.round(seconds * 48_000));
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

type ApiError = InstanceType<typeof OpenAI.APIError>;

interface Row {
  request_id: string;
  endpoint: string;
  model: string;
  status: string;
  user: string | null;
  cost_usd: number | null;
  price: { unit?: string; unit_price?: number; units?: number; source: string } | null;
}

/** The request page's price table of a call: its rows' cells (the total row apart). */
async function priceRows(base: string, id: string): Promise<string[][]> {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/#/requests/${encodeURIComponent(id)}`);
    await page.waitForSelector('#price');
    const rows = await page.$$eval('#price tbody tr', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    expect(errors).toEqual([]);
    return rows;
  } finally {
    await browser.close();
  }
}

async function exercise(base: string, page = false): Promise<void> {
  const client = (user: string) =>
    new OpenAI({
      baseURL: `${base}/v1`,
      apiKey: 'sk-test',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-user': user },
    });
  const pat = client('pat');

  // Exact costs on the record, one of each.
  const hd = await pat.images.generate({ model: 'dall-e-3', prompt: 'a red fox', quality: 'hd', size: '1792x1024' });
  expect(hd.usage).toBeUndefined();
  await pat.images.generate({ model: 'dall-e-2', prompt: 'a red fox', n: 2, size: '256x256' });
  const w = await pat.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav(2.5), 'a.wav') });
  expect(w.usage).toEqual({ type: 'duration', seconds: 3 });
  // A translation's verbose_json carries no usage here: its duration (1.2 s) is billed as 2 whole seconds.
  const tr = await pat.audio.translations.create({
    model: 'whisper-1',
    file: await toFile(wav(1.2), 'b.wav'),
    response_format: 'verbose_json',
  });
  expect((tr as unknown as { duration: number }).duration).toBeCloseTo(1.2, 6);
  await (await pat.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there.' })).arrayBuffer();
  // Characters, not UTF-16 units: the emoji is one.
  await (await pat.audio.speech.create({ model: 'tts-1-hd', voice: 'alloy', input: 'Hi 👋' })).arrayBuffer();
  // Multipart (dall-e-2): a variation's and an edit's n and size are read from the form as it passes.
  const png = async () => toFile(Buffer.alloc(200_000, 7), 'a.png', { type: 'image/png' });
  const v = await pat.images.createVariation({ model: 'dall-e-2', image: await png(), n: 3, size: '512x512' });
  expect(v.data?.length).toBe(3);
  await pat.images.edit({ model: 'dall-e-2', image: await png(), prompt: 'add a hat', n: 2, size: '1024x1024' });

  const want: Record<string, { cost: number; unit: string; unit_price: number; units: number }> = {
    'images.generations dall-e-3': { cost: 0.12, unit: 'image', unit_price: 0.12, units: 1 },
    'images.generations dall-e-2': { cost: 0.032, unit: 'image', unit_price: 0.016, units: 2 },
    'audio.transcriptions whisper-1': { cost: 0.0003, unit: 'second', unit_price: 0.0001, units: 3 },
    'audio.translations whisper-1': { cost: 0.0002, unit: 'second', unit_price: 0.0001, units: 2 },
    'audio.speech tts-1': { cost: 0.00018, unit: 'character', unit_price: 0.000015, units: 12 },
    'audio.speech tts-1-hd': { cost: 0.00012, unit: 'character', unit_price: 0.00003, units: 4 },
    'images.variations dall-e-2': { cost: 0.054, unit: 'image', unit_price: 0.018, units: 3 },
    'images.edits dall-e-2': { cost: 0.04, unit: 'image', unit_price: 0.02, units: 2 },
  };
  const rows = async () => (await getJson<{ data: Row[] }>(`${base}/api/requests?limit=200`)).data;
  await expect.poll(async () => (await rows()).filter((r) => r.user === 'pat').length, { timeout: 15_000 }).toBe(8);
  for (const r of (await rows()).filter((x) => x.user === 'pat')) {
    const k = `${r.endpoint} ${r.model}`;
    const x = want[k];
    expect(x, k).toBeDefined();
    expect({ k, status: r.status, unit: r.price?.unit, units: r.price?.units }).toEqual({
      k,
      status: 'ok',
      unit: x?.unit,
      units: x?.units,
    });
    expect(r.cost_usd, k).toBeCloseTo(x?.cost as number, 12);
    expect(r.price?.unit_price, k).toBeCloseTo(x?.unit_price as number, 15);
  }
  if (page) {
    // The request page shows the units, the price of one and the cost (not a token table of zeros).
    const id = (await rows()).find((r) => r.endpoint === 'images.generations' && r.model === 'dall-e-2')
      ?.request_id as string;
    expect(await priceRows(base, id)).toEqual([
      ['images', '2', '$0.016 / image', '$0.032'],
      ['total', '', 'openai/dall-e-2', '$0.032'],
    ]);
  }
  const total = Object.values(want).reduce((a, x) => a + x.cost, 0);
  // In /api/cost/* and the budget's spend, and in /metrics' cost counter.
  await expect
    .poll(
      async () => {
        const s = await getJson<{ groups: { key: string; cost_usd: number; unpriced_requests: number }[] }>(
          `${base}/api/cost/summary?group_by=user`,
        );
        return s.groups.find((g) => g.key === 'pat')?.cost_usd ?? 0;
      },
      { timeout: 15_000 },
    )
    .toBeCloseTo(total, 9);
  const byModel = await getJson<{ groups: { key: string; cost_usd: number; unpriced_requests: number }[] }>(
    `${base}/api/cost/summary?group_by=model`,
  );
  for (const m of ['dall-e-3', 'dall-e-2', 'whisper-1', 'tts-1', 'tts-1-hd'])
    expect(byModel.groups.find((g) => g.key === m)?.unpriced_requests, m).toBe(0);
  await expect
    .poll(
      async () => {
        const b = await getJson<{
          budgets: { name: string; buckets: { value: string | null; spent_usd: number }[] }[];
        }>(`${base}/api/cost/budgets`);
        return b.budgets.find((x) => x.name === 'per-user')?.buckets.find((x) => x.value === 'pat')?.spent_usd ?? 0;
      },
      { timeout: 15_000 },
    )
    .toBeCloseTo(total, 9);
  const metrics = parseMetrics(await (await fetch(`${base}/metrics`)).text());
  expect(metricValue(metrics, 'llm_cost_usd_total', { model: 'dall-e-3' })).toBeCloseTo(0.12, 9);
  expect(metricValue(metrics, 'llm_cost_usd_total', { model: 'whisper-1' })).toBeCloseTo(0.0005, 9);

  // A block budget with room for 2 dall-e-3 images ($0.04 each, $0.09) refuses the 3rd, before the provider is asked.
  const dalle = client('dalle');
  for (let i = 0; i < 2; i++) await dalle.images.generate({ model: 'dall-e-3', prompt: 'a fox' });
  const third = await dalle.images.generate({ model: 'dall-e-3', prompt: 'a fox' }).catch((e: unknown) => e);
  expect(third).toBeInstanceOf(OpenAI.APIError);
  expect({ status: (third as ApiError).status, code: (third as ApiError).code }).toEqual({
    status: 429,
    code: 'budget_exceeded',
  });
  expect((third as ApiError).message).toContain("its 1 image at the model's price per image");

  // gpt-image-1 (decision 120): a high-quality 1536x1024 image reserves its 6,208 output tokens ($0.248 at $40 per
  // 1M), more than the $0.20 budget, so it is refused rather than let through on 4,096 reserved ($0.16); a low one
  // (272 tokens, $0.011) passes where 4,096 would not fit.
  const img = client('img');
  const high = await img.images
    .generate({ model: 'gpt-image-1', prompt: 'a fox', quality: 'high', size: '1536x1024' })
    .catch((e: unknown) => e);
  expect((high as ApiError).status).toBe(429);
  expect((high as ApiError).message).toContain('$0.2483');
  const tiny = client('tiny');
  const low = await tiny.images.generate({ model: 'gpt-image-1', prompt: 'a fox', quality: 'low', size: '1024x1024' });
  expect(low.usage?.output_tokens).toBe(272);

  // GET /api/cost/prices shows the per-unit prices (null for a model priced by the token alone).
  const perUnit = async (model: string) =>
    (await getJson<{ per_unit: unknown }>(`${base}/api/cost/prices?model=${model}`)).per_unit;
  expect(await perUnit('dall-e-3')).toEqual({
    image: {
      standard: { '1024x1024': 0.04, '1024x1792': 0.08, '1792x1024': 0.08 },
      hd: { '1024x1024': 0.08, '1024x1792': 0.12, '1792x1024': 0.12 },
    },
  });
  expect(await perUnit('whisper-1')).toEqual({ minute: 0.006 });
  expect(await perUnit('tts-1-hd')).toEqual({ million_characters: 30 });
  expect(await perUnit('gpt-4o')).toBeNull();
}

describe('per-unit prices: DALL·E, whisper-1 and tts-1 priced, and budgets hold on them', () => {
  let sim: Simulator;
  let run: ServeRun | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
  });
  afterAll(async () => {
    killServe(run?.proc);
    await sim.close();
  });

  const config = (dir: string) => ({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'sim', baseUrl: sim.url }],
    storage: { url: `sqlite:${dir}/llmscope.db` },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
    budgets: [
      { name: 'per-user', scope: 'user', match: 'pat', period: 'day', limit: 100, action: 'alert' },
      { name: 'dalle', scope: 'user', match: 'dalle', period: 'day', limit: 0.09, action: 'block' },
      { name: 'img', scope: 'user', match: 'img', period: 'day', limit: 0.2, action: 'block' },
      { name: 'tiny', scope: 'user', match: 'tiny', period: 'day', limit: 0.02, action: 'block' },
      { name: 'nomodel', scope: 'user', match: 'nomodel', period: 'day', limit: 0.03, action: 'block' },
    ],
  });

  it('an image generation naming no model is priced as dall-e-2, OpenAI default, and held by budgets', async () => {
    run = await startServeWithConfig({ config, prefix: 'unit-prices-nomodel-' });
    try {
      const base = run.base;
      const c = new OpenAI({
        baseURL: `${base}/v1`,
        apiKey: 'sk-test',
        maxRetries: 0,
        defaultHeaders: { 'x-llmscope-user': 'nomodel' },
      });
      // dall-e-2 at 256x256: $0.016 an image; the $0.03 budget has room for one, not two
      await c.images.generate({ prompt: 'a fox', size: '256x256' });
      const second = await c.images.generate({ prompt: 'a fox', size: '256x256' }).catch((e: unknown) => e);
      expect((second as ApiError).status).toBe(429);
      let rows: Row[] = [];
      for (let i = 0; i < 50 && rows.length < 2; i++) {
        rows = (await getJson<{ data: Row[] }>(`${base}/api/requests?user=nomodel`)).data;
        if (rows.length < 2) await new Promise((r) => setTimeout(r, 100));
      }
      const ok = rows.find((r) => r.status === 'ok');
      // before: model unknown, cost null (unpriced), and the second image admitted
      expect(ok).toMatchObject({ endpoint: 'images.generations', model: 'dall-e-2', cost_usd: 0.016 });
      expect(rows.find((r) => r.status !== 'ok')).toMatchObject({ model: 'dall-e-2' });
    } finally {
      await run.stop();
    }
  }, 90_000);

  it('one process: exact costs recorded, summed and counted; the 3rd dall-e-3 image refused', async () => {
    run = await startServeWithConfig({ config, prefix: 'unit-prices-' });
    try {
      await exercise(run.base, true);
    } finally {
      await run.stop();
    }
  }, 90_000);

  it('serve --workers 2: the same, admitted in the recorder process', async () => {
    run = await startServeWithConfig({ config, workers: 2, prefix: 'unit-prices-workers-' });
    try {
      await exercise(run.base);
    } finally {
      await run.stop();
    }
  }, 120_000);
});
