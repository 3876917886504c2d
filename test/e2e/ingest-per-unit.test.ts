// Decision 152 through the real `serve` (built CLI: needs `npm run build`): a record sent to POST /api/ingest for a
// model priced per unit is priced by its `price.unit` and `price.units`, one with neither is listed among the unpriced
// (GET /api/cost/unpriced, the Cost page's warning) rather than shown as $0, and units that do not fit the model are
// refused 400 naming the record's field, nothing of the batch stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson, killServe, type ServeRun, startServeWithConfig } from './helpers.js';

const now = new Date().toISOString();
const rec = (id: string, extra: Record<string, unknown>) => ({
  request_id: `${id}-${Math.random().toString(36).slice(2)}`,
  started_at: now,
  ended_at: now,
  provider: 'openai',
  ...extra,
});

describe('ingested per-unit calls (serve)', () => {
  let run: ServeRun | undefined;
  beforeAll(async () => {
    run = await startServeWithConfig({
      prefix: 'ingest-per-unit-',
      config: (dir) => ({
        server: { host: '127.0.0.1', port: 0 },
        providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
        storage: { url: `sqlite:${dir}/llmscope.db` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
      }),
    });
  }, 60_000);
  afterAll(() => killServe(run?.proc));

  it('prices units, counts a per-unit model without them unpriced, refuses units that do not fit', async () => {
    const base = (run as ServeRun).base;
    const post = (body: unknown) =>
      fetch(`${base}/api/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const img = rec('img', { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image', units: 3 } });
    const bare = rec('bare', { model: 'tts-1', endpoint: 'audio.speech' });
    const ok = await post([img, bare]);
    expect(ok.status).toBe(202);
    // before: cost_usd null, and tts-1 not listed
    await expect
      .poll(
        async () => (await getJson<{ cost_usd: number | null }>(`${base}/api/requests/${img.request_id}`)).cost_usd,
        {
          timeout: 10_000,
        },
      )
      .toBeCloseTo(0.12, 10);
    await expect
      .poll(
        async () =>
          (await getJson<{ models: { model: string; calls: number }[] }>(`${base}/api/cost/unpriced`)).models.find(
            (m) => m.model === 'tts-1',
          )?.calls,
        { timeout: 10_000 },
      )
      .toBe(1);
    // its warning says what is missing: tts-1 has a price, the record gave no units (not "add it under pricing.models")
    const warnings = () =>
      (run as ServeRun).stdout
        .join('')
        .split('\n')
        .filter((l) => l.includes('"unpriced_model"') && l.includes('tts-1'));
    await expect.poll(() => warnings().length, { timeout: 10_000 }).toBe(1);
    expect(warnings()[0]).toContain('said neither its cost nor its units (price.unit, price.units)');

    const bad = await post([
      rec('good', { model: 'whisper-1', endpoint: 'audio.transcriptions', price: { unit: 'second', units: 4 } }),
      rec('bad', { model: 'whisper-1', endpoint: 'audio.transcriptions', price: { unit: 'image', units: 4 } }),
    ]);
    expect(bad.status).toBe(400);
    const err = ((await bad.json()) as { error: { code: string; param: string; type: string } }).error;
    expect(err).toMatchObject({ code: 'invalid_body', type: 'invalid_request_error', param: '1.price.unit' });
    const list = await getJson<{ data: { model: string }[] }>(`${base}/api/requests?limit=50`);
    expect(list.data.some((c) => c.model === 'whisper-1')).toBe(false);
  });
});
