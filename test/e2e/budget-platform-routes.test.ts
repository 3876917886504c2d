// Budgets and key rate limits hold on OpenAI's platform routes that spend money (QA34; decision 108). Before, POST
// /v1/images/generations, /v1/audio/speech, /v1/audio/transcriptions and /v1/batches were passed through with only
// the key checked: a user whose `block` budget was spent, or a key whose rpm was used up, still reached image
// generation, speech, transcription and batches. Now each is admitted as a chat call is (the same hooks: keys, their
// rate limits, budgets) and refused with the same 429 before the provider is asked, counted in
// llmscope_budget_blocked_total and recorded (endpoint images.generations, audio.speech, ...); GETs (a batch's poll,
// the model list) are never refused. The real `serve` (built CLI: needs `npm run build`) and the official openai
// client against the simulator, in one process and under `serve --workers 2` (admissions run in the recorder process).
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, killServe, metricValue, parseMetrics, type ServeRun, startServeWithConfig } from './helpers.js';

const BUDGET_KEY = `lsk_${'b'.repeat(40)}`;
const RPM_KEY = `lsk_${'r'.repeat(40)}`;

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

/** The four spending calls through `client`, each resolving to what it answered or the error it raised. */
function spendingCalls(client: OpenAI, fileId: string) {
  return {
    'images.generations': () => client.images.generate({ model: 'gpt-image-1', prompt: 'a red fox', quality: 'low' }),
    'audio.speech': async () =>
      Buffer.from(
        await (
          await client.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello there.' })
        ).arrayBuffer(),
      ),
    'audio.transcriptions': async () =>
      client.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(wav(), 'hello.wav') }),
    batches: () =>
      client.batches.create({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h' }),
  };
}

async function refusal(call: () => Promise<unknown>): Promise<InstanceType<typeof OpenAI.APIError>> {
  const err = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as InstanceType<typeof OpenAI.APIError>;
}

interface RequestsJson {
  data: { endpoint: string; status: string; http_status: number; user: string | null; api_key_id: string | null }[];
}

async function exercise(base: string): Promise<void> {
  const bud = new OpenAI({ baseURL: `${base}/v1`, apiKey: BUDGET_KEY, maxRetries: 0 });
  const rpm = new OpenAI({ baseURL: `${base}/v1`, apiKey: RPM_KEY, maxRetries: 0 });
  const file = await bud.files.create({
    file: await toFile(
      Buffer.from('{"custom_id":"r1","method":"POST","url":"/v1/chat/completions","body":{}}\n'),
      'b.jsonl',
    ),
    purpose: 'batch',
  });

  // Before the budget is spent: every call answers.
  const calls = spendingCalls(bud, file.id);
  const image = await calls['images.generations']();
  expect(image.data?.[0]?.b64_json).toBeTruthy();
  expect((await calls['audio.speech']()).length).toBeGreaterThan(0);
  expect((await calls['audio.transcriptions']()).text).toBeTruthy();
  const batch = await calls.batches();
  expect(batch.status).toBe('validating');

  // The user's budget spent (an ingested call over its $1; a low-quality gpt-image-1 call reserves its 272 output tokens, ~$0.011, before).
  const now = new Date().toISOString();
  const ingest = await fetch(`${base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: `spent-${Math.random().toString(36).slice(2)}`,
      started_at: now,
      ended_at: now,
      provider: 'openai',
      model: 'gpt-4o',
      endpoint: 'chat.completions',
      status: 'ok',
      input_tokens: 10,
      output_tokens: 10,
      cost_usd: 1.1,
      user: 'bud',
    }),
  });
  expect(ingest.status).toBe(202);
  await expect
    .poll(
      async () => {
        const b = await getJson<{ budgets: { buckets: { value: string | null; spent_usd: number }[] }[] }>(
          `${base}/api/cost/budgets`,
        );
        return b.budgets[0]?.buckets.find((x) => x.value === 'bud')?.spent_usd ?? 0;
      },
      { timeout: 10_000 },
    )
    .toBeGreaterThanOrEqual(1.1);

  // Now each is refused as a chat call is: 429 budget_exceeded, Retry-After, the budget named.
  const chat = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${BUDGET_KEY}` },
    body: JSON.stringify({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
  });
  const chatError = ((await chat.json()) as { error: { code: string; type: string } }).error;
  expect(chat.status).toBe(429);
  for (const [name, call] of Object.entries(calls)) {
    const err = await refusal(call);
    expect({ name, status: err.status, code: err.code, type: err.type }).toEqual({
      name,
      status: 429,
      code: chatError.code,
      type: chatError.type,
    });
    expect(err.headers?.get('retry-after')).toMatch(/^\d+$/);
    expect(err.headers?.get('x-llmscope-budget')).toBe('per-user-daily');
  }
  // GETs are not refused: the batch's poll, the file list, the model list.
  expect((await bud.batches.retrieve(batch.id)).id).toBe(batch.id);
  expect((await bud.files.list()).data.map((f) => f.id)).toContain(file.id);
  expect((await bud.models.list()).data.length).toBeGreaterThan(0);

  // A key's rpm used up: its third call refused 429 rate_limit_exceeded, whichever route it is on.
  await rpm.images.generate({ model: 'gpt-image-1', prompt: 'a fox', quality: 'low' });
  await rpm.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hi.' }).then((r) => r.arrayBuffer());
  for (const [name, call] of Object.entries(spendingCalls(rpm, file.id))) {
    const err = await refusal(call);
    expect({ name, status: err.status, code: err.code }).toEqual({ name, status: 429, code: 'rate_limit_exceeded' });
    expect(err.headers?.get('retry-after')).toMatch(/^\d+$/);
  }
  expect((await rpm.batches.retrieve(batch.id)).id).toBe(batch.id);

  // Counted as chat refusals are, and recorded as they are.
  const metrics = parseMetrics(await (await fetch(`${base}/metrics`)).text());
  expect(metricValue(metrics, 'llmscope_budget_blocked_total', { budget: 'per-user-daily' })).toBe(5);
  const want = {
    'images.generations': { ok: 2, refused: 2 },
    'audio.speech': { ok: 2, refused: 2 },
    'audio.transcriptions': { ok: 1, refused: 2 },
    batches: { ok: 1, refused: 2 },
  };
  await expect
    .poll(
      async () => {
        const r = await getJson<RequestsJson>(`${base}/api/requests?limit=200`);
        const got: Record<string, { ok: number; refused: number }> = {};
        for (const c of r.data) {
          if (c.endpoint === 'chat.completions') continue;
          const g = got[c.endpoint] ?? { ok: 0, refused: 0 };
          got[c.endpoint] = g;
          if (c.status === 'ok') g.ok++;
          else if (c.status === 'rate_limited' && c.http_status === 429) g.refused++;
        }
        return got;
      },
      { timeout: 15_000 },
    )
    .toEqual(want);
  const rows = (await getJson<RequestsJson>(`${base}/api/requests?limit=200`)).data;
  expect(
    rows.filter((c) => c.endpoint !== 'chat.completions' && c.api_key_id === 'bud-key').every((c) => c.user === 'bud'),
  ).toBe(true);
}

describe('budgets and key rate limits on the platform routes that spend money', () => {
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
    keys: [
      { id: 'bud-key', hash: hashKey(BUDGET_KEY), user: 'bud' },
      { id: 'rpm-key', hash: hashKey(RPM_KEY), user: 'rpm-user', rpm: 2 },
    ],
    budgets: [{ name: 'per-user-daily', scope: 'user', period: 'day', limit: 1, action: 'block' }],
  });

  it('one process: refused 429 once spent, as chat calls are; GETs pass; recorded and counted', async () => {
    run = await startServeWithConfig({ config, prefix: 'budget-platform-' });
    try {
      await exercise(run.base);
    } finally {
      await run.stop();
    }
  }, 90_000);

  it('serve --workers 2: the same, admissions in the recorder process', async () => {
    run = await startServeWithConfig({ config, workers: 2, prefix: 'budget-platform-workers-' });
    try {
      await exercise(run.base);
    } finally {
      await run.stop();
    }
  }, 120_000);
});
