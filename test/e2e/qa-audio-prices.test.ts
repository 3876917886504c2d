// Audio prices shown where prices are shown: GET /api/cost/prices gives a model's audio prices beside its text ones,
// a Realtime call priced at audio prices keeps them in its record's `price`, and the dashboard's request page (real
// Chromium) puts the call's audio tokens on lines of their own, so its price table adds up to the call's cost.
// Before, the route and the page had the text prices only: an audio answer's table showed its 48 audio output
// tokens at $16 / 1M beside a cost made of them at $64 / 1M. Needs `npm run build` first (npm test builds).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type * as ModulesTs from '../../src/cli/modules.js';
import type * as ConfigTs from '../../src/config/index.js';
import type { ConfigInput } from '../../src/config/index.js';
import type * as ServerTs from '../../src/server.js';
import type * as SimulatorTs from '../../src/simulator/index.js';
import type { CallDetail } from '../../src/wire/index.js';
import { until } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const dist = (p: string) => new URL(`../../dist/${p}`, import.meta.url);
const built = existsSync(fileURLToPath(dist('ui/index.html'))) && existsSync(fileURLToPath(dist('server.js')));
const load = async <T>(p: string): Promise<T> => (await import(dist(p).href)) as T;

type Event = Record<string, unknown> & { type: string };

describe.skipIf(!built || !existsSync(CHROMIUM))('audio prices in the prices route and on the request page', () => {
  let base = '';
  let close: () => Promise<void> = async () => undefined;
  let browser: Browser;

  beforeAll(async () => {
    const { createApp } = await load<typeof ServerTs>('server.js');
    const { builtinModules } = await load<typeof ModulesTs>('cli/modules.js');
    const { validateConfig } = await load<typeof ConfigTs>('config/index.js');
    const { startSimulator } = await load<typeof SimulatorTs>('simulator/index.js');
    const sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 1, outputTokens: 8, seed: 2 });
    const r = validateConfig({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'simulator', baseUrl: sim.url }],
      storage: { url: 'sqlite::memory:' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      alerts: { defaultRules: false },
    } as ConfigInput);
    if (!r.ok) throw new Error(`bad config: ${JSON.stringify(r.issues)}`);
    const app = await createApp(r.config, { modules: builtinModules() });
    base = await app.listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    close = async () => {
      await browser.close();
      await app.close();
      await sim.close();
    };
  }, 60_000);
  afterAll(() => close());

  const json = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${base}${path}`);
    expect(res.status).toBe(200);
    return (await res.json()) as T;
  };

  it("GET /api/cost/prices gives a model's audio prices, each absent one at the price it defaults to", async () => {
    const rt = await json<{ per_million: Record<string, number | null> }>('/api/cost/prices?model=gpt-realtime');
    expect(rt.per_million).toEqual({
      input: 4,
      cached_input: 0.4,
      output: 16,
      cache_write: null,
      audio_input: 32,
      cached_audio_input: 0.4,
      audio_output: 64,
    });
    // a transcription model has an audio input price only: its cached audio at it, its output (text) at the text price
    const tr = await json<{ per_million: Record<string, number | null> }>('/api/cost/prices?model=gpt-4o-transcribe');
    expect(tr.per_million).toMatchObject({ audio_input: 6, cached_audio_input: 6, audio_output: 10 });
    // a text model has none
    const text = await json<{ per_million: Record<string, number | null> }>('/api/cost/prices?model=gpt-4o-mini');
    expect(Object.keys(text.per_million).sort()).toEqual(['cache_write', 'cached_input', 'input', 'output']);
  });

  it("a Realtime audio call's page lists its audio tokens at the audio prices, and its lines add up to its cost", async () => {
    const ws = new WebSocket(`${base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, {
      headers: { authorization: 'Bearer sk-test', 'x-simulator-cached-tokens': '12' },
    });
    const events: Event[] = [];
    ws.on('message', (d) => events.push(JSON.parse(d.toString()) as Event));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    ws.send(JSON.stringify({ type: 'session.update', session: { type: 'realtime', output_modalities: ['audio'] } }));
    // one second of PCM16 at 24 kHz: 10 audio tokens in the prompt, part of them cached (the cached ones: text first)
    ws.send(JSON.stringify({ type: 'input_audio_buffer.append', audio: Buffer.alloc(48_000).toString('base64') }));
    ws.send(JSON.stringify({ type: 'input_audio_buffer.commit' }));
    ws.send(JSON.stringify({ type: 'response.create' }));
    await until(() => events.some((e) => e.type === 'response.done'), 10_000, 5);
    ws.close();
    const list = await until(async () => {
      const l = await json<{ data: { request_id: string; cost_usd: number | null }[] }>(
        '/api/requests?endpoint=realtime&limit=5',
      );
      return l.data[0]?.cost_usd != null ? l : null;
    }, 10_000);
    const id = list.data[0]?.request_id as string;
    const c = await json<CallDetail>(`/api/requests/${encodeURIComponent(id)}`);
    const audio = c.events.find((e) => e.name === 'realtime.audio_tokens')?.attributes;
    expect(audio).toMatchObject({ input_audio_tokens: 10, output_audio_tokens: 48 });
    const cachedAudio = audio?.cached_audio_tokens as number;
    expect(cachedAudio).toBeGreaterThan(0);
    // the record keeps the audio prices it was charged (per token)
    expect(c.price).toMatchObject({ input: 4e-6, output: 16e-6, audio_input: 32e-6, audio_output: 64e-6 });
    expect(c.price?.cached_audio_input).toBeCloseTo(0.4e-6, 15);

    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/#/requests/${encodeURIComponent(id)}`);
    await page.waitForSelector('#price');
    const rows = await page.$$eval('#price tbody tr:not(.total)', (trs) =>
      trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')),
    );
    await page.close();
    expect(errors).toEqual([]);
    const byLabel = new Map(rows.map((r) => [r[0], r]));
    const tokens = (k: string) => Number((byLabel.get(k)?.[1] ?? '').replace(/,/g, ''));
    const all = c.input_tokens as number;
    const cached = c.cached_input_tokens as number;
    expect(tokens('audio input')).toBe(10 - cachedAudio);
    expect(tokens('cached audio input')).toBe(cachedAudio);
    expect(tokens('input')).toBe(all - cached - (10 - cachedAudio));
    expect(tokens('cached input')).toBe(cached - cachedAudio);
    expect(tokens('output')).toBe(8);
    expect(tokens('audio output')).toBe(48);
    expect(byLabel.get('audio output')?.[2]).toBe('$64.00 / 1M');
    expect(byLabel.get('audio input')?.[2]).toBe('$32.00 / 1M');
    // each line's tokens at the price it shows add up to the call's cost
    const perToken: Record<string, number> = {
      input: 4,
      'audio input': 32,
      'cached input': 0.4,
      'cached audio input': 0.4,
      output: 16,
      'audio output': 64,
    };
    const sum = rows.reduce((s, r) => s + tokens(r[0] as string) * (perToken[r[0] as string] as number), 0);
    expect(Math.round(sum * 1e6) / 1e12).toBe(c.cost_usd);
    expect(rows.length).toBe(6);
  });
});
