// Multipart platform calls are admitted by their form's model (decision 137). POST /v1/audio/transcriptions,
// /v1/audio/translations, /v1/images/edits and /v1/images/variations name their model in a multipart form, which the
// gateway relays as it arrives; admission ran before the form was read, so it knew no model: a key whose `models` is
// [gpt-4o-mini] ran whisper-1 and dall-e-2 edits, and a `block` budget reserved nothing for them (a used-up budget let
// a transcription through; a dall-e-2 edit of n=10 walked past room for one image). Now admission waits for the form's
// model field (before or after the file: Node's openai client writes the file first, httpx the fields first), the
// upload relayed meanwhile with its closing bytes held back, so the provider never holds a whole refused request.
// The real `serve` (built CLI: needs `npm run build`) and the official openai client, in one process, under
// `serve --workers 2`, and under it on PostgreSQL, against the simulator behind a recording relay (what the provider received, and whether whole).
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startPostgres } from '../pg.js';
import { getJson, killServe, type ServeRun, startServeWithConfig } from './helpers.js';

const MINI_KEY = `lsk_${'m'.repeat(40)}`;
const SPENT_KEY = `lsk_${'s'.repeat(40)}`;
const IMG_KEY = `lsk_${'i'.repeat(40)}`;
const OK_KEY = `lsk_${'o'.repeat(40)}`;

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

/** A multipart body of these parts in this order (a Buffer value is a file), and its content type. */
function form(parts: [string, string | Buffer][]): { body: Buffer; type: string } {
  const b = `w7-${createHash('sha1').update(String(Math.random())).digest('hex')}`;
  const out: Buffer[] = [];
  for (const [name, v] of parts) {
    const file = typeof v !== 'string';
    out.push(
      Buffer.from(
        `--${b}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${name}.wav"\r\nContent-Type: audio/wav` : ''}\r\n\r\n`,
      ),
      typeof v === 'string' ? Buffer.from(v) : v,
      Buffer.from('\r\n'),
    );
  }
  out.push(Buffer.from(`--${b}--\r\n`));
  return { body: Buffer.concat(out), type: `multipart/form-data; boundary=${b}` };
}

/** What the provider was sent: each request's path, its body's bytes, whether it came whole, and what it answered. */
interface Seen {
  path: string;
  body: Buffer;
  whole: boolean;
  answer?: Buffer;
}

/** A relay in front of the simulator that keeps what each request brought (the provider's view). */
async function recordingRelay(sim: Simulator): Promise<{ url: string; seen: Seen[]; server: Server }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    const s: Seen = { path: req.url ?? '', body: Buffer.alloc(0), whole: false };
    seen.push(s);
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('close', () => {
      s.body = Buffer.concat(chunks);
    });
    req.on('end', () => {
      s.whole = true;
      s.body = Buffer.concat(chunks);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
      const up = httpRequest(`${sim.url.replace(/\/v1$/, '')}${req.url}`, { method: req.method, headers }, (r) => {
        const back: Buffer[] = [];
        r.on('data', (c: Buffer) => back.push(c));
        r.on('end', () => {
          s.answer = Buffer.concat(back);
          const h = { ...r.headers };
          delete h['transfer-encoding'];
          delete h.connection;
          res.writeHead(r.statusCode ?? 502, { ...h, 'content-length': String(s.answer.length) });
          res.end(s.answer);
        });
      });
      up.on('error', () => res.destroy());
      up.end(s.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, seen, server };
}

type ApiError = InstanceType<typeof OpenAI.APIError>;

async function refusal(call: () => Promise<unknown>): Promise<ApiError> {
  const err = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OpenAI.APIError);
  return err as ApiError;
}

interface Row {
  request_id: string;
  endpoint: string;
  model: string;
  status: string;
  http_status: number;
  error_type: string | null;
  user: string | null;
  cost_usd: number | null;
}

interface Bucket {
  value: string | null;
  spent_usd: number;
  reserved_usd: number;
  in_flight: number;
}

async function buckets(base: string): Promise<Bucket[]> {
  const b = await getJson<{ budgets: { buckets: Bucket[] }[] }>(`${base}/api/cost/budgets`);
  return b.budgets[0]?.buckets ?? [];
}

async function exercise(base: string, seen: Seen[]): Promise<void> {
  const client = (key: string) => new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
  const mini = client(MINI_KEY);
  const audio = wav(1);
  const big = wav(40); // 1.9 MB: still being sent when a refusal of a model sent before it comes back
  const png = () => toFile(Buffer.alloc(300_000, 7), 'a.png', { type: 'image/png' });
  const wholeTo = (path: string) => seen.filter((s) => s.path === path && s.whole).length;

  // A key whose models are [gpt-4o-mini]: whisper-1 refused, the model sent after the file (Node's order) or before it
  // (httpx's: the refusal comes while the client still sends the file, and it reads the 403, not a reset).
  const afterFile = await refusal(async () =>
    mini.audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'whisper-1' }),
  );
  const beforeFile = await refusal(async () =>
    mini.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(big, 'a.wav') }),
  );
  const translation = await refusal(async () =>
    mini.audio.translations.create({ model: 'whisper-1', file: await toFile(big, 'a.wav') }),
  );
  const edit = await refusal(async () =>
    mini.images.edit({ image: await png(), prompt: 'add a hat', model: 'dall-e-2', n: 1, size: '256x256' }),
  );
  for (const err of [afterFile, beforeFile, translation, edit]) {
    expect({ status: err.status, code: err.code, type: err.type, param: err.param }).toEqual({
      status: 403,
      code: 'model_not_allowed',
      type: 'permission_error',
      param: 'model',
    });
    expect(err.message).toContain('may not call model');
  }
  expect(afterFile.message).toContain('"whisper-1"');
  expect(edit.message).toContain('"dall-e-2"');
  // An edit naming no model is OpenAI's dall-e-2, and refused as it.
  const unnamed = await refusal(async () => mini.images.edit({ image: await png(), prompt: 'add a hat' }));
  expect({ status: unnamed.status, code: unnamed.code }).toEqual({ status: 403, code: 'model_not_allowed' });
  expect(unnamed.message).toContain('"dall-e-2"');
  // The provider never had a whole refused request.
  expect(wholeTo('/v1/audio/transcriptions') + wholeTo('/v1/audio/translations') + wholeTo('/v1/images/edits')).toBe(0);

  // The key still calls what it may.
  const chat = await mini.chat.completions.create({
    model: 'gpt-4o-mini',
    messages: [{ role: 'user', content: 'hi' }],
  });
  expect(chat.id).toBeTruthy();

  // A user with $0.005 left of a block budget: a 40 s upload (about 121 s at 16 kB a second, $0.012 at whisper-1's
  // price) is refused 429 before the provider has it whole. Before, admission knew no model, priced nothing, and let
  // it through (a budget used up refused it already).
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
      cost_usd: 0.025,
      user: 'spent',
    }),
  });
  expect(ingest.status).toBe(202);
  await expect
    .poll(async () => (await buckets(base)).find((x) => x.value === 'spent')?.spent_usd ?? 0, { timeout: 10_000 })
    .toBeGreaterThanOrEqual(0.025);
  for (const order of ['file first', 'model first'] as const) {
    const spent = client(SPENT_KEY);
    const err = await refusal(async () =>
      order === 'file first'
        ? spent.audio.transcriptions.create({ file: await toFile(big, 'a.wav'), model: 'whisper-1' })
        : spent.audio.transcriptions.create({ model: 'whisper-1', file: await toFile(big, 'a.wav') }),
    );
    expect({ order, status: err.status, code: err.code }).toEqual({ order, status: 429, code: 'budget_exceeded' });
    expect(err.headers?.get('x-llmscope-budget')).toBe('per-user');
    expect(err.message).toMatch(/about 12\d seconds of audio/);
  }
  expect(wholeTo('/v1/audio/transcriptions')).toBe(0);

  // Room for one dall-e-2 image ($0.02 at 1024x1024 of a $0.03 budget): n=10 refused (its n read after the file), n=1
  // goes, and costs its image.
  const img = client(IMG_KEY);
  const ten = await refusal(async () =>
    img.images.edit({ image: await png(), prompt: 'add a hat', model: 'dall-e-2', n: 10, size: '1024x1024' }),
  );
  expect({ status: ten.status, code: ten.code }).toEqual({ status: 429, code: 'budget_exceeded' });
  expect(ten.message).toContain('its 10 images');
  expect(wholeTo('/v1/images/edits')).toBe(0);
  const one = await img.images.edit({
    image: await png(),
    prompt: 'add a hat',
    model: 'dall-e-2',
    n: 1,
    size: '1024x1024',
  });
  expect(one.data?.length).toBe(1);
  expect(wholeTo('/v1/images/edits')).toBe(1);

  // An allowed upload: the provider gets the client's bytes, and the client the provider's, each exactly.
  for (const order of ['file first', 'model first'] as const) {
    const parts: [string, string | Buffer][] =
      order === 'file first'
        ? [
            ['file', audio],
            ['model', 'whisper-1'],
          ]
        : [
            ['model', 'whisper-1'],
            ['file', audio],
          ];
    const f = form(parts);
    const before = seen.length;
    const r = await fetch(`${base}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${OK_KEY}`, 'content-type': f.type },
      body: new Uint8Array(f.body),
    });
    const answer = Buffer.from(await r.arrayBuffer());
    expect(r.status).toBe(200);
    const got = seen.slice(before).filter((s) => s.path === '/v1/audio/transcriptions');
    expect(got.length).toBe(1);
    expect(got[0]?.whole).toBe(true);
    expect(got[0]?.body.equals(f.body), order).toBe(true);
    expect(got[0]?.answer?.equals(answer), order).toBe(true);
  }

  // A reservation made, then the client gone mid-upload: released.
  const f = form([
    ['model', 'whisper-1'],
    ['file', big],
  ]);
  const url = new URL(`${base}/v1/audio/transcriptions`);
  const cut = httpRequest({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: 'POST',
    headers: { authorization: `Bearer ${OK_KEY}`, 'content-type': f.type, 'content-length': String(f.body.length) },
  });
  cut.on('error', () => {});
  cut.write(f.body.subarray(0, 200_000));
  await expect
    .poll(async () => (await buckets(base)).find((x) => x.value === 'okay')?.in_flight ?? 0, { timeout: 10_000 })
    .toBe(1);
  cut.destroy();
  // And one the provider failed (its 500 passed on): released too.
  const failing = new OpenAI({
    baseURL: `${base}/v1`,
    apiKey: OK_KEY,
    maxRetries: 0,
    defaultHeaders: { 'x-simulator-fault': 'server_error' },
  });
  const failed = await refusal(async () =>
    failing.audio.transcriptions.create({ file: await toFile(audio, 'a.wav'), model: 'whisper-1' }),
  );
  expect(failed.status).toBe(500);

  // Every reservation is released, whichever way its call ended.
  await expect
    .poll(
      async () =>
        (await buckets(base)).map((b) => ({ user: b.value, reserved: b.reserved_usd, in_flight: b.in_flight })),
      { timeout: 15_000 },
    )
    .toEqual(
      expect.arrayContaining(
        ['spent', 'img', 'okay'].map((user) => expect.objectContaining({ user, reserved: 0, in_flight: 0 })),
      ),
    );
  const okay = (await buckets(base)).find((b) => b.value === 'okay');
  // Two 1 s transcriptions at whisper-1's $0.0001 a second (the one cut and the one failed cost nothing).
  expect(okay?.spent_usd).toBeCloseTo(0.0002, 8);
  expect((await buckets(base)).find((b) => b.value === 'img')?.spent_usd).toBeCloseTo(0.02, 8);

  // Each refusal is recorded as refusals are: its endpoint, the model its form named, the key's user.
  await expect
    .poll(
      async () => {
        const rows = (await getJson<{ data: Row[] }>(`${base}/api/requests?limit=200`)).data;
        return rows
          .filter((r) => r.http_status === 403 || r.http_status === 429)
          .map((r) => `${r.user} ${r.endpoint} ${r.model} ${r.http_status} ${r.error_type}`)
          .sort();
      },
      { timeout: 15_000 },
    )
    .toEqual(
      [
        'mini audio.transcriptions whisper-1 403 model_not_allowed',
        'mini audio.transcriptions whisper-1 403 model_not_allowed',
        'mini audio.translations whisper-1 403 model_not_allowed',
        'mini images.edits dall-e-2 403 model_not_allowed',
        'mini images.edits dall-e-2 403 model_not_allowed',
        'spent audio.transcriptions whisper-1 429 budget_exceeded',
        'spent audio.transcriptions whisper-1 429 budget_exceeded',
        'img images.edits dall-e-2 429 budget_exceeded',
      ].sort(),
    );
}

/**
 * Sends a form from a raw HTTP client (host 127.0.0.1): `tail`, its last 200 bytes before the closing delimiter and all
 * after it in one write; `bytewise`, its closing delimiter (`\r\n--boundary--`) a byte a write, 2 ms apart. Answers the
 * status and the answer's body. The rest waits for `started` (the provider's request begun) after the first write.
 */
async function rawUpload(
  base: string,
  key: string,
  path: string,
  f: { body: Buffer; type: string },
  mode: 'tail' | 'bytewise',
  started: () => Promise<void>,
): Promise<{ status: number; body: string }> {
  const url = new URL(`${base}${path}`);
  const b = /boundary=(\S+)/.exec(f.type)?.[1] as string;
  const close = f.body.indexOf(`\r\n--${b}--`);
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': f.type, 'content-length': String(f.body.length) },
      },
      (res) => {
        const back: Buffer[] = [];
        res.on('data', (c: Buffer) => back.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(back).toString() }));
      },
    );
    req.on('error', reject);
    (async () => {
      const head = mode === 'tail' ? close - 200 : close;
      req.write(f.body.subarray(0, head));
      await started();
      if (mode === 'tail') {
        req.end(f.body.subarray(head));
        return;
      }
      const end = close + b.length + 6;
      for (let i = close; i < end; i++) {
        await pause(2);
        req.write(f.body.subarray(i, i + 1));
      }
      req.end(f.body.subarray(end));
    })().catch(reject);
  });
}

/** `f` with `epilogue` bytes after its closing delimiter's CRLF, and its boundary. */
function withEpilogue(f: { body: Buffer; type: string }, epilogue: number) {
  const body = Buffer.concat([f.body, Buffer.alloc(epilogue - 2, 'e'), Buffer.from('\r\n')]);
  return { body, type: f.type, boundary: /boundary=(\S+)/.exec(f.type)?.[1] as string };
}

describe('multipart platform calls admitted by their form model', () => {
  let sim: Simulator;
  let relay: Awaited<ReturnType<typeof recordingRelay>>;
  let run: ServeRun | undefined;
  beforeAll(async () => {
    sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
    relay = await recordingRelay(sim);
  });
  afterAll(async () => {
    killServe(run?.proc);
    relay.server.closeAllConnections();
    await new Promise((r) => relay.server.close(r));
    await sim.close();
  });

  const config = (dir: string, storage = `sqlite:${dir}/llmscope.db`) => ({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'sim', baseUrl: relay.url }],
    storage: { url: storage },
    telemetry: { logLevel: 'warn' },
    gpu: { collector: 'none' },
    keys: [
      { id: 'mini-key', hash: hashKey(MINI_KEY), user: 'mini', models: ['gpt-4o-mini'] },
      { id: 'spent-key', hash: hashKey(SPENT_KEY), user: 'spent' },
      { id: 'img-key', hash: hashKey(IMG_KEY), user: 'img' },
      { id: 'ok-key', hash: hashKey(OK_KEY), user: 'okay', models: ['whisper-1'] },
    ],
    budgets: [{ name: 'per-user', scope: 'user', period: 'day', limit: 0.03, action: 'block' }],
  });

  it('one process: key models and budgets hold, model before or after the file; reservations released', async () => {
    relay.seen.length = 0;
    run = await startServeWithConfig({ config, prefix: 'form-admission-' });
    try {
      await exercise(run.base, relay.seen);
    } finally {
      await run.stop();
    }
  }, 120_000);

  // Decision 159: a form with an epilogue after its closing delimiter longer than the bytes held back (128) reached
  // the provider whole, closing delimiter and all, while admission had still to answer; a refused upload could be acted
  // on by a provider that parses as it reads. Everything from the closing delimiter on now waits for admission.
  it('an epilogue after the closing delimiter waits for admission: never sent when refused, byte-identical when not', async () => {
    relay.seen.length = 0;
    run = await startServeWithConfig({ config, prefix: 'form-admission-epilogue-' });
    const base = run.base;
    const to = (path: string) => relay.seen.filter((s) => s.path === path);
    /** The provider's request for `path` after `before` of them, once it has ended (whole or cut). */
    const received = async (path: string, before: number): Promise<Seen> => {
      await expect.poll(() => to(path).length, { timeout: 10_000 }).toBe(before + 1);
      await expect.poll(() => to(path)[before]?.body.length ?? 0, { timeout: 10_000 }).toBeGreaterThan(40_000);
      return to(path)[before] as Seen;
    };
    /** Sends `f` to `path` once the provider has begun the request before it (the `before`th to that path). */
    const upload = (key: string, path: string, f: { body: Buffer; type: string }, mode: 'tail' | 'bytewise') => {
      const before = to(path).length;
      return rawUpload(base, key, path, f, mode, () =>
        expect.poll(() => to(path).length, { timeout: 10_000 }).toBe(before + 1),
      );
    };
    const png = Buffer.alloc(50_000, 7);
    // An edit that names no quality is admitted at the form's end (decision 137): after the whole epilogue has come.
    const edit = (n: string, size: string) =>
      form([
        ['image', png],
        ['prompt', 'add a hat'],
        ['model', 'dall-e-2'],
        ['n', n],
        ['size', size],
      ]);
    try {
      // Refused by the key's models, the model and all after it in one write (4 KiB of epilogue): the provider had the
      // file, relayed as it came, never the form's end.
      const T = '/v1/audio/transcriptions';
      const refused = withEpilogue(
        form([
          ['file', wav(1)],
          ['model', 'whisper-1'],
        ]),
        4096,
      );
      const r = await upload(MINI_KEY, T, refused, 'tail');
      expect({ status: r.status, code: JSON.parse(r.body).error?.code }, r.body).toEqual({
        status: 403,
        code: 'model_not_allowed',
      });
      const sent = await received(T, 0);
      expect(sent.whole).toBe(false);
      expect(sent.body.includes(`--${refused.boundary}--`)).toBe(false);

      // Refused by the budget at the form's end ($0.20 for 10 images, $0.03 a day), the delimiter a byte a write.
      const E = '/v1/images/edits';
      const ten = withEpilogue(edit('10', '1024x1024'), 4096);
      const r10 = await upload(IMG_KEY, E, ten, 'bytewise');
      expect({ status: r10.status, code: JSON.parse(r10.body).error?.code }, r10.body).toEqual({
        status: 429,
        code: 'budget_exceeded',
      });
      const sent10 = await received(E, 0);
      expect(sent10.whole).toBe(false);
      expect(sent10.body.includes(`--${ten.boundary}--`)).toBe(false);

      // Admitted: the provider gets the client's bytes exactly, epilogue and all, whichever way they came.
      const one = withEpilogue(edit('1', '256x256'), 4096);
      const r1 = await upload(IMG_KEY, E, one, 'bytewise');
      expect(r1.status, r1.body).toBe(200);
      const sent1 = await received(E, 1);
      expect(sent1.whole).toBe(true);
      expect(sent1.body.equals(one.body)).toBe(true);
      const okay = withEpilogue(
        form([
          ['file', wav(1)],
          ['model', 'whisper-1'],
        ]),
        4096,
      );
      const rOk = await upload(OK_KEY, T, okay, 'tail');
      expect(rOk.status, rOk.body).toBe(200);
      const sentOk = await received(T, 1);
      expect(sentOk.whole).toBe(true);
      expect(sentOk.body.equals(okay.body)).toBe(true);

      // An epilogue over 64 KiB before admission: 400 in OpenAI's shape, the provider never had the delimiter.
      const long = withEpilogue(edit('1', '256x256'), 70_000);
      const rLong = await upload(IMG_KEY, E, long, 'tail');
      expect({ status: rLong.status, error: JSON.parse(rLong.body).error }).toMatchObject({
        status: 400,
        error: { code: 'invalid_body', type: 'invalid_request_error' },
      });
      const sentLong = await received(E, 2);
      expect(sentLong.whole).toBe(false);
      expect(sentLong.body.includes(`--${long.boundary}--`)).toBe(false);
    } finally {
      await run.stop();
    }
  }, 60_000);

  it('serve --workers 2: the same, admissions in the recorder process', async () => {
    relay.seen.length = 0;
    run = await startServeWithConfig({ config, workers: 2, prefix: 'form-admission-workers-' });
    try {
      await exercise(run.base, relay.seen);
    } finally {
      await run.stop();
    }
  }, 150_000);

  it('serve --workers 2 on PostgreSQL: the same, on the ledger in the database', async () => {
    relay.seen.length = 0;
    const pg = await startPostgres();
    try {
      const url = await pg.freshDatabaseUrl();
      run = await startServeWithConfig({
        config: (dir) => config(dir, url),
        workers: 2,
        prefix: 'form-admission-pg-',
      });
      try {
        await exercise(run.base, relay.seen);
      } finally {
        await run.stop();
      }
    } finally {
      await pg.stop();
    }
  }, 180_000);
});
