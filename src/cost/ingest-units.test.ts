// Decision 152: a record sent to POST /api/ingest for a model priced per unit (dall-e-3 by the image, whisper-1 by the
// second, tts-1 by the character) could not say its units, so without cost_usd it was stored with cost null and not
// counted unpriced: $0 in every view, silently. Now its `price.unit` and `price.units` (the record's own shape, as
// /api/requests returns it) are read and priced from the catalog when it gives no cost_usd (a cost_usd still wins);
// a per-unit model's record with neither is counted unpriced; units that do not fit are refused 400, naming the
// record's field, nothing of the batch stored. The recorded calls read back on SQLite and PostgreSQL (UNPRICED_SQL).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../../test/pg.js';
import { ingestCalls } from '../api/ingest.js';
import { callToWire, type LlmCall, Recorder } from '../calls/index.js';
import { unpricedCall } from '../calls/units.js';
import { renderError } from '../errors.js';
import { createStore, type Store, sumCallsByMetadata } from '../store/index.js';
import { costConfigOf } from './config.js';
import { priceEnricher } from './per-call.js';
import { PriceBook } from './pricing.js';

const T = Date.UTC(2026, 10, 2, 12);
const rec = (id: string, extra: Record<string, unknown>) => ({
  request_id: id,
  started_at: T,
  ended_at: T + 1000,
  provider: 'openai',
  metadata: { tenant: 'x' },
  ...extra,
});

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
});

describe.each([
  ['sqlite', async () => createStore('sqlite::memory:')],
  ['postgres', async () => createStore(await (pg as TestPostgres).freshSchemaUrl())],
] as const)('ingested per-unit calls on %s', (_name, make) => {
  let store: Store;
  let server: Server;
  let url: string;
  let recorder: Recorder;
  const prices = new PriceBook(costConfigOf({}).pricing);
  beforeAll(async () => {
    store = await make();
    await store.migrate();
    recorder = new Recorder();
    recorder.addEnricher(priceEnricher(prices));
    recorder.addSink({ name: 'store', lossless: true, write: (calls) => store.insertCalls(calls) });
    server = createServer((req, res) => {
      ingestCalls(req, res, 1 << 20, recorder, store, 5000, undefined, (m, p, at) =>
        prices.billingUnitOf(m, p, at),
      ).catch((err) => {
        const r = renderError(err);
        res.writeHead(r.status, { 'content-type': 'application/json', ...r.headers });
        res.end(JSON.stringify(r.body));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/api/ingest`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
  });

  const post = async (body: unknown) => {
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: r.status, body: (await r.json()) as { error?: { code: string; param: string; message: string } } };
  };
  const stored = async (id: string): Promise<LlmCall> => {
    await recorder.flush();
    return (await store.getCall(id)) as LlmCall;
  };

  it('prices a record by its price.unit and price.units from the catalog; a cost_usd still wins', async () => {
    const r = await post([
      rec('img', { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image', units: 2 } }),
      rec('stt', { model: 'whisper-1', endpoint: 'audio.transcriptions', price: { unit: 'second', units: 90 } }),
      rec('tts', { model: 'tts-1', endpoint: 'audio.speech', price: { unit: 'character', units: 1000 } }),
      rec('own', {
        model: 'dall-e-3',
        endpoint: 'images.generations',
        cost_usd: 0.5,
        price: { unit: 'image', units: 2 },
      }),
    ]);
    expect(r.status).toBe(202);
    // before: cost null for the three (their units were read and left)
    expect((await stored('img')).costUsd).toBeCloseTo(0.08, 10); // 2 images at $0.04 (1024x1024 standard)
    expect((await stored('stt')).costUsd).toBeCloseTo(0.009, 10); // 90 s at $0.006 a minute
    expect((await stored('tts')).costUsd).toBeCloseTo(0.015, 10); // 1,000 characters at $15 per 1M
    expect((await stored('own')).costUsd).toBe(0.5);
    // the record as /api/requests gives it back keeps its units
    expect(callToWire(await stored('img')).price).toMatchObject({ unit: 'image', units: 2, unit_price: 0.04 });
    expect(callToWire(await stored('own')).price).toBeNull();
  });

  it('an exported record taken back, without its cost_usd, is priced the same', async () => {
    const wire = callToWire(await stored('stt'));
    const { cost_usd: _c, ...rest } = wire;
    const r = await post({ ...rest, request_id: 'stt-again' });
    expect(r.status).toBe(202);
    expect((await stored('stt-again')).costUsd).toBeCloseTo(0.009, 10);
  });

  it('a per-unit model with neither cost_usd nor units is counted unpriced, not $0', async () => {
    const r = await post([
      rec('tts-bare', { model: 'tts-1', endpoint: 'audio.speech' }),
      // not: a failed call (no usage), a token model's call without tokens
      rec('tts-500', { model: 'tts-1', endpoint: 'audio.speech', http_status: 500 }),
      rec('chat-bare', { model: 'gpt-4o', endpoint: 'chat.completions' }),
    ]);
    expect(r.status).toBe(202);
    const bare = await stored('tts-bare');
    expect(bare.costUsd).toBeNull();
    expect(unpricedCall(bare)).toBe(true); // before: false (a price applied, cost null: $0 in the views)
    expect(unpricedCall(await stored('tts-500'))).toBe(false);
    expect(unpricedCall(await stored('chat-bare'))).toBe(false);
    const byMeta = await sumCallsByMetadata(store.backend, { from: T - 1000, to: T + 10_000, key: 'tenant' });
    expect(byMeta.map((m) => m.unpriced)).toEqual([1]);
  });

  it('refuses units that do not fit with 400 naming the record and field; nothing of the batch is stored', async () => {
    const good = rec('good', { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image', units: 1 } });
    const cases: [Record<string, unknown>, string, RegExp][] = [
      [
        { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'second', units: 3 } },
        '1.price.unit',
        /priced per image, not per second/,
      ],
      [
        { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image', units: -1 } },
        '1.price.units',
        /at least 0/,
      ],
      [
        { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image', units: 1.5 } },
        '1.price.units',
        /whole count/,
      ],
      [
        { model: 'tts-1', endpoint: 'audio.speech', price: { unit: 'character', units: 2.5 } },
        '1.price.units',
        /whole count/,
      ],
      [
        { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'image' } },
        '1.price.units',
        /needs price.units/,
      ],
      [{ model: 'dall-e-3', endpoint: 'images.generations', price: { units: 2 } }, '1.price.unit', /needs price.unit/],
      [
        { model: 'dall-e-3', endpoint: 'images.generations', price: { unit: 'pixel', units: 2 } },
        '1.price.unit',
        /image, second or character/,
      ],
      [
        { model: 'gpt-4o', endpoint: 'audio.speech', price: { unit: 'character', units: 2 } },
        '1.price.unit',
        /by the token/,
      ],
      [{ model: 'dall-e-3', price: { unit: 'image', units: 2 } }, '1.endpoint', /not chat.completions/],
    ];
    for (const [extra, param, message] of cases) {
      const r = await post([good, rec('bad', extra)]);
      expect({ status: r.status, code: r.body.error?.code, param: r.body.error?.param }, JSON.stringify(extra)).toEqual(
        {
          status: 400,
          code: 'invalid_body',
          param,
        },
      );
      expect(r.body.error?.message).toMatch(message);
    }
    // in {"calls": [...]}, the path says so
    const r = await post({ calls: [rec('bad', cases[0]?.[0] as Record<string, unknown>)] });
    expect(r.body.error?.param).toBe('calls.0.price.unit');
    await recorder.flush();
    expect(await store.getCall('good')).toBeNull();
    // a second is not whole: 12.5 s of audio is taken; a model no price names takes any unit (its call unpriced)
    const ok = await post([
      rec('half', { model: 'whisper-1', endpoint: 'audio.transcriptions', price: { unit: 'second', units: 12.5 } }),
      rec('mine', { model: 'my-tts', endpoint: 'audio.speech', price: { unit: 'character', units: 12 } }),
    ]);
    expect(ok.status).toBe(202);
    expect((await stored('half')).costUsd).toBeCloseTo(0.00125, 10);
    expect(unpricedCall(await stored('mine'))).toBe(true);
  });
});
