// Drop-in: an app whose OpenAI client also uses the platform's other APIs (files, batches, moderations, images,
// audio, vector stores, fine-tuning, uploads, conversations, Assistants and threads), or whose Anthropic client uses
// the beta Files API, keeps working with its base URL pointed at llmscope: each such call is passed through to the
// format's provider unrecorded, with its method, path, query, headers and body bytes as the client sent them
// (a multipart upload's boundary included), and the client gets the upstream's answer unchanged (binary ones too).
// The POSTs that spend money (images, speech, transcriptions, batches.create) are recorded as calls besides (decision
// 108), their bytes still relayed as sent.
// The upstream here is a small recording server, so the bytes it got can be compared with the bytes the client sent.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Anthropic, { toFile as anthropicToFile } from '@anthropic-ai/sdk';
import OpenAI, { toFile } from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

const SPEECH = Buffer.from([0xff, 0xf3, 0x44, 0xc4, 0x00, 0x00, 0x00, 0x03, 0x48, 0x00, 0x80, 0xfe, 0x00, 0x01]);
const BETA = 'files-api-2025-04-14';
const CONTENT = Buffer.from('{"custom_id":"r1"}\n\u0000\u00ff binary tail', 'latin1');

/** Answers as the platform would, by path: binary for a file's content and for speech, JSON otherwise. */
function answer(method: string, url: string): { status: number; type: string; body: Buffer } {
  const path = url.split('?')[0] as string;
  const json = (v: unknown, status = 200) => ({
    status,
    type: 'application/json',
    body: Buffer.from(JSON.stringify(v)),
  });
  if (path.endsWith('/content')) return { status: 200, type: 'application/octet-stream', body: CONTENT };
  if (path.endsWith('/audio/speech')) return { status: 200, type: 'audio/mpeg', body: SPEECH };
  if (path.endsWith('/models')) return json({ object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] });
  if (path.endsWith('/files') && method === 'GET')
    return json({ object: 'list', data: [{ id: 'file-1', object: 'file' }], has_more: false, first_id: 'file-1' });
  if (method === 'DELETE') return json({ id: path.split('/').pop(), object: 'file', deleted: true });
  if (path.endsWith('/batches/batch_missing'))
    return json({ error: { message: 'No batch', type: 'invalid_request_error' } }, 404);
  return json({ id: 'obj_1', object: 'thing', echoed: path });
}

describe('reach: the platform’s other APIs pass through unrecorded', () => {
  let s: Stack;
  let upstream: Server;
  let up: string;
  const seen: Seen[] = [];
  /** Body bytes the upstream has received so far, across requests. */
  let arrived = 0;
  /** Requests whose body the upstream saw end early (llmscope's client went away mid-upload). */
  let cutOff = 0;
  /** What the client put on the wire, read back from the Request it built. */
  const sent: { method: string; url: string; headers: Headers; body: Buffer }[] = [];
  const spy = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const req = new Request(input, init);
    // The SDKs probe fetch's FormData support with a `data:` URL first: not a request to llmscope.
    if (!req.url.startsWith('http')) return fetch(input, init);
    const body = Buffer.from(await req.arrayBuffer());
    sent.push({ method: req.method, url: req.url, headers: req.headers, body });
    return fetch(req.url, {
      method: req.method,
      headers: req.headers,
      body: body.length > 0 ? body : undefined,
      signal: init?.signal ?? null,
    });
  };
  let openai: OpenAI;
  let anthropic: Anthropic;

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        chunks.push(c);
        arrived += c.length;
      });
      req.on('close', () => {
        if (!req.complete) cutOff++;
      });
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const a = answer(req.method ?? '', req.url ?? '');
        res.writeHead(a.status, { 'content-type': a.type, 'x-upstream': 'yes', 'openai-processing-ms': '7' });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    s = await startStack({
      config: () => ({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', bodyLimit: 256 * 1024 },
        providers: [
          { name: 'openai', baseUrl: `${up}/openai/v1`, models: ['gpt-*'] },
          { name: 'local', baseUrl: `${up}/local/v1`, models: ['llama-*'] },
          { name: 'claude', type: 'anthropic', baseUrl: `${up}/anthropic/v1`, models: ['claude-*'] },
        ],
      }),
    });
    openai = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-client', fetch: spy, maxRetries: 0 });
    anthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-client', fetch: spy, maxRetries: 0 });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => upstream.close(r));
  });
  beforeEach(() => {
    seen.length = 0;
    sent.length = 0;
  });

  /** The one request the client sent and the one the upstream got, compared: method, path, query, headers, bytes. */
  const sameRequest = (prefix: string): Seen => {
    expect(sent.map((x) => `${x.method} ${x.url}`)).toHaveLength(1);
    expect(seen).toHaveLength(1);
    const c = sent[0] as (typeof sent)[number];
    const u = seen[0] as Seen;
    const url = new URL(c.url);
    expect(u.method).toBe(c.method);
    expect(u.url).toBe(`${prefix}${url.pathname.replace(/^\/v1/, '')}${url.search}`);
    expect(u.body.equals(c.body), `${c.method} ${c.url}: body bytes`).toBe(true);
    if (c.body.length > 0) expect(u.headers['content-type']).toBe(c.headers.get('content-type'));
    for (const h of ['authorization', 'x-api-key', 'anthropic-version', 'anthropic-beta', 'openai-organization'])
      expect(u.headers[h], h).toBe(c.headers.get(h) ?? undefined);
    return u;
  };

  it('files: multipart upload byte-identical with its boundary, list with ?limit=, binary content, delete', async () => {
    const data = Buffer.concat([Buffer.from('{"custom_id":"a"}\n'), Buffer.from([0, 1, 2, 254, 255, 13, 10])]);
    const created = await openai.files.create({ file: await toFile(data, 'batch.jsonl'), purpose: 'batch' });
    expect(created).toMatchObject({ id: 'obj_1', echoed: '/openai/v1/files' });
    const u = sameRequest('/openai/v1');
    expect(u.method).toBe('POST');
    expect(u.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(u.body.includes(data)).toBe(true);

    seen.length = 0;
    sent.length = 0;
    const page = await openai.files.list({ limit: 2, purpose: 'batch' });
    expect(page.data.map((f) => f.id)).toEqual(['file-1']);
    expect(sameRequest('/openai/v1').url).toBe('/openai/v1/files?limit=2&purpose=batch');

    seen.length = 0;
    sent.length = 0;
    const content = await openai.files.content('file-1');
    expect(content.headers.get('content-type')).toBe('application/octet-stream');
    expect(content.headers.get('x-upstream')).toBe('yes');
    expect(Buffer.from(await content.arrayBuffer()).equals(CONTENT)).toBe(true);
    sameRequest('/openai/v1');

    seen.length = 0;
    sent.length = 0;
    expect(await openai.files.delete('file-1')).toEqual({ id: 'file-1', object: 'file', deleted: true });
    expect(sameRequest('/openai/v1').method).toBe('DELETE');
  });

  it('an upload is streamed to the provider as it arrives, not held until its end', async () => {
    const head = Buffer.from('--b\r\ncontent-disposition: form-data; name="file"; filename="x.bin"\r\n\r\n');
    const first = Buffer.concat([head, Buffer.alloc(64 * 1024, 3)]);
    const rest = Buffer.concat([Buffer.alloc(100 * 1024, 4), Buffer.from('\r\n--b--\r\n')]);
    const start = arrived;
    let streamedBeforeEnd = false;
    const r = await fetch(`${s.base}/v1/files`, {
      method: 'POST',
      headers: {
        'content-type': 'multipart/form-data; boundary=b',
        'content-length': String(first.length + rest.length),
      },
      body: new ReadableStream({
        async start(c) {
          c.enqueue(first);
          // The rest is sent only once the provider has the first part: a gateway holding the body would stall here.
          for (let t = 0; t < 200 && arrived - start < first.length; t++)
            await new Promise((res) => setTimeout(res, 10));
          streamedBeforeEnd = arrived - start >= first.length;
          c.enqueue(rest);
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(200);
    expect(streamedBeforeEnd).toBe(true);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.body.equals(Buffer.concat([first, rest]))).toBe(true);
    expect(seen[0]?.headers['content-length']).toBe(String(first.length + rest.length));
  });

  it('a client gone mid-upload ends the provider’s request too, not left waiting for the rest', async () => {
    const start = arrived;
    const ac = new AbortController();
    const sending = fetch(`${s.base}/v1/audio/transcriptions`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=b', 'content-length': String(200 * 1024) },
      body: new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(32 * 1024));
        },
      }),
      duplex: 'half',
      signal: ac.signal,
    } as RequestInit).catch((e: unknown) => e);
    // All of it but the last 128 bytes, which a transcription's upload holds back until the form's model has been
    // read and admitted (decision 137): this one's form never names it.
    const relayed = 32 * 1024 - 128;
    for (let t = 0; t < 200 && arrived - start < relayed; t++) await new Promise((r) => setTimeout(r, 10));
    expect(arrived - start).toBe(relayed);
    ac.abort();
    await sending;
    for (let t = 0; t < 200 && cutOff === 0; t++) await new Promise((r) => setTimeout(r, 10));
    expect(cutOff).toBe(1);
    expect(seen).toHaveLength(0);
  });

  it('batches, moderations, images (routed by the body’s model), fine-tuning, uploads, conversations, vector stores, Assistants and threads', async () => {
    const calls: [() => Promise<unknown>, string][] = [
      [
        () =>
          openai.batches.create({
            input_file_id: 'file-1',
            endpoint: '/v1/chat/completions',
            completion_window: '24h',
          }),
        '/openai/v1',
      ],
      [() => openai.batches.retrieve('batch_1'), '/openai/v1'],
      [() => openai.batches.cancel('batch_1'), '/openai/v1'],
      // A model no provider's patterns name goes to the default provider; one a provider serves goes to it.
      [() => openai.moderations.create({ model: 'omni-moderation-latest', input: 'hi' }), '/openai/v1'],
      [() => openai.images.generate({ model: 'llama-image-1', prompt: 'a cat' }), '/local/v1'],
      [() => openai.images.generate({ model: 'gpt-image-1', prompt: 'a cat', size: '1024x1024' }), '/openai/v1'],
      [() => openai.fineTuning.jobs.create({ model: 'gpt-4o-mini', training_file: 'file-1' }), '/openai/v1'],
      [() => openai.fineTuning.jobs.list({ limit: 3 }), '/openai/v1'],
      [
        () => openai.uploads.create({ bytes: 10, filename: 'a.jsonl', mime_type: 'text/jsonl', purpose: 'batch' }),
        '/openai/v1',
      ],
      [() => openai.conversations.create({ metadata: { topic: 'x' } }), '/openai/v1'],
      [() => openai.vectorStores.create({ name: 'docs' }), '/openai/v1'],
      [() => openai.vectorStores.files.list('vs_1', { limit: 5 }), '/openai/v1'],
      [() => openai.beta.assistants.create({ model: 'gpt-4o', name: 'helper' }), '/openai/v1'],
      [() => openai.beta.threads.create({}), '/openai/v1'],
      // Stored chat completions: the list is a GET on the call route itself.
      [() => openai.chat.completions.list({ limit: 2, model: 'gpt-4o' }), '/openai/v1'],
      [() => openai.chat.completions.retrieve('chatcmpl-1'), '/openai/v1'],
      [() => openai.chat.completions.messages.list('chatcmpl-1', { limit: 3 }), '/openai/v1'],
      [() => openai.chat.completions.delete('chatcmpl-1'), '/openai/v1'],
    ];
    for (const [call, prefix] of calls) {
      seen.length = 0;
      sent.length = 0;
      await call();
      sameRequest(prefix);
    }
    // The upstream's own error reaches the client as it sent it.
    seen.length = 0;
    sent.length = 0;
    const err = await openai.batches.retrieve('batch_missing').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toEqual({
      message: 'No batch',
      type: 'invalid_request_error',
    });
  });

  it('audio: a multipart transcription byte-identical; speech’s binary answer unchanged', async () => {
    const wav = Buffer.alloc(4096, 7);
    await openai.audio.transcriptions.create({ file: await toFile(wav, 'a.wav'), model: 'whisper-1', language: 'en' });
    const u = sameRequest('/openai/v1');
    expect(u.url).toBe('/openai/v1/audio/transcriptions');
    expect(u.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);

    seen.length = 0;
    sent.length = 0;
    const speech = await openai.audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'hello' });
    expect(speech.headers.get('content-type')).toBe('audio/mpeg');
    expect(Buffer.from(await speech.arrayBuffer()).equals(SPEECH)).toBe(true);
    sameRequest('/openai/v1');
  });

  it('Anthropic’s beta Files API goes to the Anthropic provider, anthropic-version and anthropic-beta as sent', async () => {
    const pdf = Buffer.from('%PDF-1.4\n\u0000\u00ffbytes', 'latin1');
    await anthropic.beta.files.upload({
      file: await anthropicToFile(pdf, 'doc.pdf', { type: 'application/pdf' }),
      betas: [BETA],
    });
    const u = sameRequest('/anthropic/v1');
    expect(u.headers['anthropic-beta']).toBe(BETA);
    expect(u.headers['x-api-key'] ?? u.headers.authorization).toContain('sk-ant-client');
    expect(u.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);

    seen.length = 0;
    sent.length = 0;
    await anthropic.beta.files.list({ limit: 4, betas: [BETA] });
    expect(sameRequest('/anthropic/v1').url).toBe('/anthropic/v1/files?limit=4');

    seen.length = 0;
    sent.length = 0;
    const content = await anthropic.beta.files.download('file_1', { betas: [BETA] });
    expect(Buffer.from(await content.arrayBuffer()).equals(CONTENT)).toBe(true);
    sameRequest('/anthropic/v1');

    seen.length = 0;
    sent.length = 0;
    await anthropic.beta.files.delete('file_1', { betas: [BETA] });
    expect(sameRequest('/anthropic/v1').method).toBe('DELETE');
  });

  it('Anthropic’s Skills and its own beta APIs (agents, sessions) go to the Anthropic provider', async () => {
    const calls: (() => Promise<unknown>)[] = [
      () => anthropic.beta.skills.list({ limit: 2 }),
      () => anthropic.beta.agents.list(),
      () => anthropic.beta.sessions.retrieve('sess_1'),
    ];
    for (const call of calls) {
      seen.length = 0;
      sent.length = 0;
      await call();
      sameRequest('/anthropic/v1');
    }
    // Without anthropic-version (not an Anthropic client) /v1/agents is no route of llmscope's.
    const r = await fetch(`${s.base}/v1/agents`);
    expect(r.status).toBe(404);
    const body = (await r.json()) as { type?: string; error: { type: string; message: string } };
    expect(body.type).toBeUndefined(); // OpenAI's shape
    expect(body.error.message).toContain('unknown route GET /v1/agents');
    // With it, a path llmscope does not serve gets its 404 in Anthropic's shape, which the SDK reads.
    const e = await anthropic.get('/v1/no-such-api').catch((err: unknown) => err);
    expect(e).toBeInstanceOf(Anthropic.NotFoundError);
    expect((e as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'not_found_error' },
    });
  });

  it('a body over server.bodyLimit gets 413 in the format’s shape, without reaching the upstream', async () => {
    const big = Buffer.alloc(300 * 1024, 1);
    const e1 = await openai.files
      .create({ file: await toFile(big, 'big.jsonl'), purpose: 'batch' })
      .catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.APIError);
    expect((e1 as InstanceType<typeof OpenAI.APIError>).status).toBe(413);
    expect((e1 as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: 'invalid_request_error' });
    expect((e1 as Error).message).toContain('server.bodyLimit');

    const e2 = await anthropic.beta.files
      .upload({ file: await anthropicToFile(big, 'big.pdf', { type: 'application/pdf' }) })
      .catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(Anthropic.APIError);
    expect((e2 as InstanceType<typeof Anthropic.APIError>).status).toBe(413);
    expect((e2 as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'request_too_large' },
    });
    expect(seen).toHaveLength(0);

    // Sent without a content-length (chunked), the limit holds as the bytes arrive.
    const chunked = await fetch(`${s.base}/v1/files`, {
      method: 'POST',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 5; i++) c.enqueue(new Uint8Array(100 * 1024));
          c.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(seen).toHaveLength(0);
  });

  it('/v1/models stays llmscope’s; of these calls only the POSTs that spend money are recorded', async () => {
    // llmscope answers the model list itself (from its providers' lists and patterns), not the upstream's bytes.
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toContain('gpt-4o');
    expect(sent).toHaveLength(1);
    expect(seen.every((x) => x.url.endsWith('/models'))).toBe(true);
    const r = await fetch(`${s.base}/api/requests?limit=100`);
    expect(r.status).toBe(200);
    // Images, speech, transcriptions and batches.create are calls (decision 108: admitted by budgets and key limits,
    // recorded); files, batch polls, moderations, fine-tuning, vector stores... stay unrecorded.
    const data = ((await r.json()) as { data: { endpoint: string; status: string; http_status: number }[] }).data;
    // (The transcription whose client went mid-upload: cancelled, 499, as a chat call's.)
    const recorded = [
      'audio.speech 200',
      'audio.transcriptions 200',
      'audio.transcriptions 499',
      'batches 200',
      'images.generations 200',
      'images.generations 200',
    ];
    expect(data.map((c) => `${c.endpoint} ${c.http_status}`).sort()).toEqual(recorded);
    expect(s.calls.map((c) => `${c.endpoint} ${c.httpStatus}`).sort()).toEqual(recorded);
  });
});

describe('reach: virtual keys are checked on the platform pass-throughs', () => {
  let s: Stack;
  let upstream: Server;
  const seen: Seen[] = [];

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        const a = answer(req.method ?? '', req.url ?? '');
        res.writeHead(a.status, { 'content-type': a.type });
        res.end(a.body);
      });
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const up = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    s = await startStack({
      config: () => ({
        providers: [
          { name: 'openai', baseUrl: `${up}/openai/v1` },
          { name: 'claude', type: 'anthropic', baseUrl: `${up}/anthropic/v1` },
        ],
        gpu: { collector: 'none' },
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(async () => {
    await s.close();
    await new Promise((r) => upstream.close(r));
  });

  it('no key or an unknown one: 401 in the format’s shape, the upstream never asked; a live lsk_ key passes, not sent on', async () => {
    const created = await fetch(`${s.base}/api/keys`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'platform', team: 'search' }),
    });
    expect(created.status).toBe(201);
    const key = ((await created.json()) as { key: string }).key;

    const bad = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-unknown', maxRetries: 0 });
    const e1 = await bad.files.list().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(OpenAI.AuthenticationError);
    expect((e1 as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
    const badAnthropic = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-unknown', maxRetries: 0 });
    const e2 = await badAnthropic.beta.files.list({ betas: [BETA] }).catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((e2 as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'authentication_error' },
    });
    expect(seen).toHaveLength(0);

    const good = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: key, maxRetries: 0 });
    const page = await good.files.list({ limit: 1 });
    expect(page.data.map((f) => f.id)).toEqual(['file-1']);
    const goodAnthropic = new Anthropic({ baseURL: s.base, apiKey: key, maxRetries: 0 });
    await goodAnthropic.beta.files.list({ betas: [BETA] });
    expect(seen.map((x) => x.url)).toEqual(['/openai/v1/files?limit=1', '/anthropic/v1/files']);
    for (const x of seen) expect(JSON.stringify(x.headers)).not.toContain('lsk_');
    expect(s.calls).toEqual([]);
  });
});
