import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { encode } from 'gpt-tokenizer/encoding/o200k_base';
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_JUDGE_REPLY, JUDGE_MARKER, type RequestRecord, type Simulator, startSimulator } from './server.js';
import { REFUSALS } from './text.js';

const tokens = (s: string) => encode(s, { disallowedSpecial: new Set() }).length;
const MESSAGES = [{ role: 'user' as const, content: 'Tell me about latency.' }];
// OpenAI's cookbook count for these messages: 3 per message + role + content, +3 to prime the reply.
const PROMPT_TOKENS = 3 + 3 + tokens('user') + tokens('Tell me about latency.');

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 20, seed: 7 });
  client = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => sim.close());

/** A raw POST, for what the SDK hides (exact SSE bytes, error statuses, headers). */
async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** SSE payloads (without `data: `), in order. */
function events(text: string): string[] {
  expect(text.endsWith('\n\n')).toBe(true);
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((e) => {
      expect(e.startsWith('data: ')).toBe(true);
      return e.slice(6);
    });
}

describe('chat completions', () => {
  it('answers in OpenAI’s non-streaming shape with realistic usage', async () => {
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: MESSAGES });
    expect(r.id).toMatch(/^chatcmpl-[A-Za-z0-9]{29}$/);
    expect(r.object).toBe('chat.completion');
    expect(r.model).toBe('gpt-4o-mini');
    expect(Math.abs(r.created - Date.now() / 1000)).toBeLessThan(5);
    expect(r.system_fingerprint).toMatch(/^fp_[0-9a-f]{8}$/);
    expect(r.choices).toHaveLength(1);
    const c = r.choices[0]!;
    expect(c).toMatchObject({ index: 0, finish_reason: 'stop', logprobs: null });
    expect(c.message).toMatchObject({ role: 'assistant', refusal: null });
    expect(tokens(c.message.content!)).toBe(20);
    expect(r.usage).toEqual({
      prompt_tokens: PROMPT_TOKENS,
      completion_tokens: 20,
      total_tokens: PROMPT_TOKENS + 20,
      prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
      completion_tokens_details: {
        reasoning_tokens: 0,
        audio_tokens: 0,
        accepted_prediction_tokens: 0,
        rejected_prediction_tokens: 0,
      },
    });
  });

  it('streams one token per chunk, without usage unless asked', async () => {
    const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: MESSAGES, stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '', refusal: null });
    const content = chunks.slice(1, -1);
    expect(content).toHaveLength(20);
    for (const ch of content) {
      expect(ch.object).toBe('chat.completion.chunk');
      expect(ch.model).toBe('gpt-4o');
      expect(ch.id).toBe(chunks[0]!.id);
      expect(tokens(ch.choices[0]!.delta.content!)).toBe(1);
      expect(ch.choices[0]!.finish_reason).toBeNull();
    }
    const last = chunks[chunks.length - 1]!;
    expect(last.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    for (const ch of chunks) expect('usage' in ch).toBe(false);
    const text = content.map((c) => c.choices[0]!.delta.content).join('');
    expect(tokens(text)).toBe(20);

    const raw = await post('/chat/completions', { model: 'gpt-4o', messages: MESSAGES, stream: true });
    expect(raw.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const ev = events(raw.text);
    expect(ev).toHaveLength(1 + 20 + 1 + 1);
    expect(ev[ev.length - 1]).toBe('[DONE]');
    expect(raw.text).not.toContain('usage');
  });

  it('with include_usage: "usage":null on every chunk, then a usage chunk with choices []', async () => {
    const raw = await post('/chat/completions', {
      model: 'gpt-4o',
      messages: MESSAGES,
      stream: true,
      stream_options: { include_usage: true },
    });
    const ev = events(raw.text);
    expect(ev[ev.length - 1]).toBe('[DONE]');
    const json = ev.slice(0, -1).map((e) => JSON.parse(e));
    const usageChunk = json[json.length - 1];
    expect(usageChunk.choices).toEqual([]);
    expect(usageChunk.usage).toMatchObject({ prompt_tokens: PROMPT_TOKENS, completion_tokens: 20 });
    const others = json.slice(0, -1);
    for (const [i, e] of ev.slice(0, -2).entries()) {
      expect(e.endsWith(',"usage":null}')).toBe(true);
      expect(others[i].usage).toBeNull();
    }
    const contentChunks = others.filter((c) => c.choices[0].delta.content);
    expect(contentChunks).toHaveLength(usageChunk.usage.completion_tokens);
    expect(others[others.length - 1].choices[0].finish_reason).toBe('stop');
  });

  it('stops at max_tokens (or max_completion_tokens) with finish_reason length, as a prefix of the full answer', async () => {
    const full = await client.chat.completions.create({ model: 'm', messages: MESSAGES });
    const capped = await client.chat.completions.create({ model: 'm', messages: MESSAGES, max_tokens: 5 });
    expect(capped.choices[0]!.finish_reason).toBe('length');
    expect(capped.usage!.completion_tokens).toBe(5);
    expect(full.choices[0]!.message.content!.startsWith(capped.choices[0]!.message.content!)).toBe(true);
    const stream = await client.chat.completions.create({
      model: 'm',
      messages: MESSAGES,
      max_completion_tokens: 3,
      stream: true,
    });
    const deltas: string[] = [];
    let finish: string | null = null;
    for await (const ch of stream) {
      if (ch.choices[0]?.delta.content) deltas.push(ch.choices[0].delta.content);
      finish = ch.choices[0]?.finish_reason ?? finish;
    }
    expect(deltas).toHaveLength(3);
    expect(finish).toBe('length');
  });

  it('gives the same text for the same seed and request, other text otherwise', async () => {
    const other = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 20, seed: 7 });
    const reseeded = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 20, seed: 8 });
    try {
      const ask = async (s: Simulator, content: string) => {
        const c = new OpenAI({ baseURL: s.url, apiKey: 'x', maxRetries: 0 });
        const r = await c.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content }] });
        return r.choices[0]!.message.content;
      };
      const a = await ask(sim, 'hello');
      expect(await ask(other, 'hello')).toBe(a);
      expect(await ask(sim, 'hello')).toBe(a);
      expect(await ask(reseeded, 'hello')).not.toBe(a);
      expect(await ask(sim, 'hello!')).not.toBe(a);
    } finally {
      await other.close();
      await reseeded.close();
    }
  });

  it('obeys per-request length and cached-token headers', async () => {
    const r = await client.chat.completions.create(
      { model: 'm', messages: MESSAGES },
      { headers: { 'x-simulator-output-tokens': '7', 'x-simulator-cached-tokens': '4' } },
    );
    expect(r.usage!.completion_tokens).toBe(7);
    expect(tokens(r.choices[0]!.message.content!)).toBe(7);
    expect(r.usage!.prompt_tokens_details!.cached_tokens).toBe(4);
  });

  it('replies with exactly the x-simulator-reply text, one real token per chunk', async () => {
    const reply = 'The answer is 42, as "usual".';
    const stream = await client.chat.completions.create(
      { model: 'm', messages: MESSAGES, stream: true, stream_options: { include_usage: true } },
      { headers: { 'x-simulator-reply': reply } },
    );
    const deltas: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const ch of stream) {
      if (ch.choices[0]?.delta.content) deltas.push(ch.choices[0].delta.content);
      usage = ch.usage ?? usage;
    }
    expect(deltas.join('')).toBe(reply);
    expect(deltas).toHaveLength(tokens(reply));
    expect(usage!.completion_tokens).toBe(tokens(reply));
  });

  it('answers judge prompts with the JSON after the marker, the reply header, or a default verdict', async () => {
    const judge = async (content: string, headers: Record<string, string> = {}) =>
      (
        await client.chat.completions.create(
          {
            model: 'judge',
            messages: [
              { role: 'system', content: 'grade' },
              { role: 'user', content },
            ],
          },
          { headers },
        )
      ).choices[0]!.message.content;
    expect(await judge(`Grade this. ${JUDGE_MARKER} {"verdict":"fail","score":0.2}`)).toBe(
      '{"verdict":"fail","score":0.2}',
    );
    expect(await judge(`Grade this. ${JUDGE_MARKER}`, { 'x-simulator-reply': '{"score":3}' })).toBe('{"score":3}');
    expect(await judge(`${JUDGE_MARKER} grade it`)).toBe(DEFAULT_JUDGE_REPLY);
  });
});

describe('completions, embeddings, models', () => {
  it('answers legacy completions, streaming and not', async () => {
    const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say something' });
    expect(r.id).toMatch(/^cmpl-/);
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]).toMatchObject({ index: 0, logprobs: null, finish_reason: 'stop' });
    expect(tokens(r.choices[0]!.text)).toBe(20);
    expect(r.usage).toEqual({ prompt_tokens: tokens('Say something'), completion_tokens: 20, total_tokens: 22 });

    const stream = await client.completions.create({
      model: 'gpt-3.5-turbo-instruct',
      prompt: 'Say something',
      stream: true,
      stream_options: { include_usage: true },
    });
    const texts: string[] = [];
    let usage: OpenAI.CompletionUsage | undefined;
    let finish: string | null = null;
    for await (const ch of stream) {
      expect(ch.object).toBe('text_completion');
      if (ch.choices[0]?.text) texts.push(ch.choices[0].text);
      finish = ch.choices[0]?.finish_reason ?? finish;
      usage = ch.usage ?? usage;
    }
    expect(texts.join('')).toBe(r.choices[0]!.text);
    expect(texts).toHaveLength(20);
    expect(finish).toBe('stop');
    expect(usage!.completion_tokens).toBe(20);
  });

  it('returns deterministic unit vectors, as floats or base64 (the SDK default)', async () => {
    const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: 'hello world' });
    expect(r.object).toBe('list');
    expect(r.model).toBe('text-embedding-3-small');
    expect(r.usage).toEqual({ prompt_tokens: tokens('hello world'), total_tokens: tokens('hello world') });
    const v = r.data[0]!.embedding;
    expect(v).toHaveLength(1536);
    expect(Math.hypot(...v)).toBeCloseTo(1, 5);

    const raw = await post('/embeddings', {
      model: 'text-embedding-3-small',
      input: ['hello world', 'goodbye'],
      dimensions: 256,
      encoding_format: 'float',
    });
    const body = JSON.parse(raw.text);
    expect(body.data.map((d: { index: number; object: string }) => [d.index, d.object])).toEqual([
      [0, 'embedding'],
      [1, 'embedding'],
    ]);
    expect(body.data[0].embedding).toHaveLength(256);
    const again = await client.embeddings.create({
      model: 'text-embedding-3-small',
      input: ['hello world'],
      dimensions: 256,
    });
    const a = body.data[0].embedding as number[];
    const b = again.data[0]!.embedding;
    for (let i = 0; i < 256; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
    const cosine = a.reduce((s, x, i) => s + x * body.data[1].embedding[i], 0);
    expect(Math.abs(cosine)).toBeLessThan(0.3);
  });

  it('lists models', async () => {
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('gpt-4o-mini');
    expect(page.data[0]).toMatchObject({ object: 'model', owned_by: 'openai' });
    expect((await client.models.retrieve('llama-3.1-8b-instruct')).owned_by).toBe('meta');
  });
});

describe('bad input', () => {
  const shape = (text: string) => {
    const body = JSON.parse(text);
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    return body.error;
  };

  it.each([
    ['malformed JSON', '/chat/completions', '{"model":', 400, null, /could not parse the JSON body/],
    ['a body that is not an object', '/chat/completions', '[1,2]', 400, null, /expected a JSON object/],
    ['no model', '/chat/completions', { messages: MESSAGES }, 400, null, /must provide a model/],
    ['no messages', '/chat/completions', { model: 'm' }, 400, 'messages', /Missing required parameter: 'messages'/],
    ['messages not an array', '/chat/completions', { model: 'm', messages: 'hi' }, 400, 'messages', /Invalid type/],
    ['empty messages', '/chat/completions', { model: 'm', messages: [] }, 400, 'messages', /empty array/],
    ['max_tokens 0', '/chat/completions', { model: 'm', messages: MESSAGES, max_tokens: 0 }, 400, 'max_tokens', />= 1/],
    [
      'stream_options without stream',
      '/chat/completions',
      { model: 'm', messages: MESSAGES, stream_options: { include_usage: true } },
      400,
      'stream_options',
      /only allowed when 'stream' is enabled/,
    ],
    ['embeddings without input', '/embeddings', { model: 'e' }, 400, 'input', /Missing required parameter/],
    ['an unknown route', '/chat/complete', { model: 'm' }, 404, null, /Invalid URL \(POST \/v1\/chat\/complete\)/],
  ])('%s', async (_name, path, body, status, param, message) => {
    const r = await post(path, body);
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/json');
    const err = shape(r.text);
    expect(err.type).toBe('invalid_request_error');
    expect(err.param).toBe(param);
    expect(err.message).toMatch(message);
  });

  it('rejects bad simulator headers with a message naming them', async () => {
    const r = await post('/chat/completions', { model: 'm', messages: MESSAGES }, { 'x-simulator-tpot-ms': 'fast' });
    expect(r.status).toBe(400);
    expect(shape(r.text).message).toMatch(/x-simulator-tpot-ms must be a number of milliseconds/);
    const f = await post('/chat/completions', { model: 'm', messages: MESSAGES }, { 'x-simulator-fault': 'boom' });
    expect(shape(f.text).message).toMatch(/x-simulator-fault must be one of rate_limit, server_error/);
  });

  it('serves /healthz, and 404s GET on a POST route', async () => {
    expect(await (await fetch(sim.url.replace('/v1', '/healthz'))).json()).toEqual({ status: 'ok' });
    const r = await fetch(`${sim.url}/chat/completions`);
    expect(r.status).toBe(404);
  });
});

describe('faults', () => {
  const ask = (fault: string, extra: object = {}) =>
    client.chat.completions.create(
      { model: 'gpt-4o', messages: MESSAGES, ...extra },
      { headers: { 'x-simulator-fault': fault } },
    );

  it('rate_limit: 429 with OpenAI’s body and retry headers', async () => {
    const err = await ask('rate_limit').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.type).toBe('requests');
    expect(err.message).toMatch(/Rate limit reached for gpt-4o/);
    expect(err.headers.get('retry-after')).toBe('1');
    expect(err.headers.get('retry-after-ms')).toBe('1000');
  });

  it('server_error: 500 with OpenAI’s body', async () => {
    const err = await ask('server_error').catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect(err.type).toBe('server_error');
    expect(err.message).toMatch(/The server had an error while processing your request/);
  });

  it('refusal: a refusal phrase in content and in the refusal field', async () => {
    const r = await ask('refusal');
    const m = r.choices[0]!.message;
    expect(REFUSALS).toContain(m.content);
    expect(m.refusal).toBe(m.content);
    expect(r.usage!.completion_tokens).toBe(tokens(m.content!));

    const stream = await ask('refusal', { stream: true });
    let refusal = '';
    let content = '';
    for await (const ch of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
      refusal += ch.choices[0]?.delta.refusal ?? '';
      content += ch.choices[0]?.delta.content ?? '';
    }
    expect(refusal).toBe(m.content);
    expect(content).toBe(m.content);
  });

  it('content_filter: half the answer, finish_reason content_filter', async () => {
    const r = await ask('content_filter');
    expect(r.choices[0]!.finish_reason).toBe('content_filter');
    expect(r.usage!.completion_tokens).toBe(10);
  });

  it('cut: the stream stops half-way without [DONE]; non-streaming requests lose the connection', async () => {
    const before = sim.stats.cancelled;
    const stream = await ask('cut', { stream: true });
    const deltas: string[] = [];
    const err = await (async () => {
      for await (const ch of stream as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>) {
        if (ch.choices[0]?.delta.content) deltas.push(ch.choices[0].delta.content);
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(deltas).toHaveLength(10);

    const err2 = await ask('cut').catch((e) => e);
    expect(err2).toBeInstanceOf(OpenAI.APIConnectionError);
    expect(sim.stats.cancelled).toBe(before); // the simulator's own cut is not a client cancellation
  });

  it('timeout: never answers until the client gives up, which is counted as a cancellation', async () => {
    const before = { ...sim.stats, faults: { ...sim.stats.faults } };
    const started = performance.now();
    const r = await client.chat.completions
      .create({ model: 'm', messages: MESSAGES }, { headers: { 'x-simulator-fault': 'timeout' }, timeout: 300 })
      .catch((e) => e);
    expect(r).toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
    expect(performance.now() - started).toBeGreaterThanOrEqual(300);
    await waitFor(() => sim.stats.cancelled >= before.cancelled + 1);
    expect(sim.stats.faults.timeout).toBeGreaterThanOrEqual(before.faults.timeout + 1);
  });

  it('injects faults by rate, reproducibly for a seed', async () => {
    const run = async () => {
      const s = await startSimulator({
        ttftMs: 0,
        tpotMs: 0,
        outputTokens: 2,
        seed: 3,
        errorRate: 0.2,
        rateLimitRate: 0.1,
        refusalRate: 0.1,
      });
      const statuses: number[] = [];
      for (let i = 0; i < 200; i++) {
        const res = await fetch(`${s.url}/chat/completions`, {
          method: 'POST',
          body: JSON.stringify({ model: 'm', messages: MESSAGES }),
        });
        const body = await res.json();
        statuses.push(res.status === 200 && body.choices[0].message.refusal ? 1 : res.status);
      }
      await s.close();
      return { statuses, faults: s.stats.faults };
    };
    const a = await run();
    const count = (code: number) => a.statuses.filter((s) => s === code).length;
    expect(count(500)).toBeGreaterThan(25);
    expect(count(500)).toBeLessThan(60);
    expect(count(429)).toBeGreaterThan(8);
    expect(count(429)).toBeLessThan(35);
    expect(count(1)).toBeGreaterThan(8);
    expect(count(1)).toBeLessThan(35);
    expect(a.faults).toMatchObject({ server_error: count(500), rate_limit: count(429), refusal: count(1) });
    expect((await run()).statuses).toEqual(a.statuses);
  });
});

function median(xs: readonly number[]): number {
  const a = [...xs].sort((x, y) => x - y);
  const m = a.length >> 1;
  return a.length % 2 ? (a[m] as number) : ((a[m - 1] as number) + (a[m] as number)) / 2;
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('timing', () => {
  let timed: Simulator;
  beforeAll(async () => {
    timed = await startSimulator({ ttftMs: 120, tpotMs: 15, outputTokens: 40 });
  });
  afterAll(() => timed.close());

  /** Client-side times (ms) of each content chunk, from just before the call and from the request's arrival. */
  async function measure(c: OpenAI, headers: Record<string, string> = {}) {
    let arrival = 0;
    const onRequest = (r: RequestRecord) => {
      arrival = r.at - performance.timeOrigin;
    };
    timed.events.on('request', onRequest);
    const t0 = performance.now();
    const stream = await c.chat.completions.create({ model: 'm', messages: MESSAGES, stream: true }, { headers });
    const at: number[] = [];
    for await (const ch of stream) if (ch.choices[0]?.delta.content) at.push(performance.now());
    timed.events.off('request', onRequest);
    return { fromCall: at.map((t) => t - t0), fromArrival: at.map((t) => t - arrival) };
  }

  it('streams the first token after ttft and each next one tpot later, without drift', async () => {
    const c = new OpenAI({ baseURL: timed.url, apiKey: 'x', maxRetries: 0 });
    // Warm the connection and the code paths (client and server), so the measure is of the simulator's timing.
    await measure(c, { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '0' });
    // Never early, in every attempt. On time to a few ms in at least one: on a loaded machine another process can
    // hold the CPU when a token is due, and any one stream can be late by that, but a simulator that waits too long
    // (or drifts) is late in every attempt; a quiet machine passes the first.
    const misses: string[] = [];
    for (let attempt = 1; ; attempt++) {
      const { fromCall, fromArrival } = await measure(c);
      expect(fromCall).toHaveLength(40);
      expect(fromCall[0]).toBeGreaterThanOrEqual(120);
      expect(fromCall[39]).toBeGreaterThanOrEqual(120 + 39 * 15);
      const late = fromArrival.map((t, i) => t - (120 + i * 15));
      for (const l of late) expect(l).toBeGreaterThanOrEqual(0);
      // From just before the SDK call, which adds its own work (usually 1–3 ms, more on a busy machine).
      // From the request's arrival at the simulator: tokens on time (typically < 1 ms late) and no drift: sleeping
      // tpot after each token would make the last tokens 30+ ms later than the first ones, a tpot over 15.2 ms.
      const drift = median(late.slice(-10)) - median(late.slice(0, 10));
      const tpot = 15 + drift / 30;
      const miss = [
        fromCall[0]! < 140 ? '' : `first token ${fromCall[0]!.toFixed(1)} ms after the call`,
        fromCall[39]! < 120 + 39 * 15 + 20 ? '' : `last token ${fromCall[39]!.toFixed(1)} ms after the call`,
        median(late) < 8 ? '' : `tokens ${median(late).toFixed(1)} ms late (median)`,
        tpot > 14.8 && tpot < 15.2 ? '' : `tpot ${tpot.toFixed(2)} ms`,
      ].filter(Boolean);
      if (miss.length === 0) break;
      misses.push(`attempt ${attempt}: ${miss.join(', ')}`);
      if (attempt === 8) expect.fail(`late in every attempt:\n${misses.join('\n')}`);
    }
  });

  it('sends non-streaming answers after ttft + (n − 1) × tpot, and honours timing headers', async () => {
    const c = new OpenAI({ baseURL: timed.url, apiKey: 'x', maxRetries: 0 });
    await c.chat.completions.create(
      { model: 'm', messages: MESSAGES },
      { headers: { 'x-simulator-ttft-ms': '0', 'x-simulator-tpot-ms': '0' } },
    );
    /** ms one call takes; never less than `min`, within 20 ms of it in at least one of 8 attempts (see above). */
    const onTime = async (min: number, call: () => Promise<unknown>) => {
      const took: number[] = [];
      for (let attempt = 1; attempt <= 8; attempt++) {
        const t0 = performance.now();
        await call();
        took.push(performance.now() - t0);
        expect(took.at(-1)).toBeGreaterThanOrEqual(min);
        if ((took.at(-1) as number) < min + 20) return;
      }
      expect.fail(`took ${took.map((t) => t.toFixed(1)).join(', ')} ms, expected ${min} to ${min + 20}`);
    };
    await onTime(705, () => c.chat.completions.create({ model: 'm', messages: MESSAGES }));
    await onTime(50, () =>
      c.chat.completions.create(
        { model: 'm', messages: MESSAGES },
        { headers: { 'x-simulator-ttft-ms': '30', 'x-simulator-tpot-ms': '2', 'x-simulator-output-tokens': '11' } },
      ),
    );
  });

  it('with jitter, varies delays around the means, reproducibly', async () => {
    const jittered = await startSimulator({ ttftMs: 40, tpotMs: 10, outputTokens: 60, jitter: true, seed: 5 });
    try {
      const c = new OpenAI({ baseURL: jittered.url, apiKey: 'x', maxRetries: 0 });
      const t0 = performance.now();
      const stream = await c.chat.completions.create({ model: 'm', messages: MESSAGES, stream: true });
      const at: number[] = [];
      for await (const ch of stream) if (ch.choices[0]?.delta.content) at.push(performance.now() - t0);
      const gaps = at.slice(1).map((t, i) => t - at[i]!);
      const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
      expect(mean).toBeGreaterThan(8);
      expect(mean).toBeLessThan(12.5);
      expect(Math.max(...gaps) - Math.min(...gaps)).toBeGreaterThan(5);
    } finally {
      await jittered.close();
    }
  });

  it('writes everything at once when ttft = tpot = 0, and waits out backpressure', async () => {
    const n = 30_000;
    const res = await request(`${sim.url}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-output-tokens': String(n) },
      body: JSON.stringify({ model: 'm', messages: MESSAGES, stream: true, stream_options: { include_usage: true } }),
    });
    await new Promise((r) => setTimeout(r, 200)); // let the server fill the socket while nobody reads
    const text = await res.body.text();
    const ev = events(text);
    expect(ev).toHaveLength(1 + n + 1 + 1 + 1);
    expect(JSON.parse(ev[ev.length - 2]!).usage.completion_tokens).toBe(n);
  });
});

describe('client going away', () => {
  it('stops generating at once, and records when, with the request id', async () => {
    const s = await startSimulator({ ttftMs: 10, tpotMs: 20, outputTokens: 200 });
    try {
      const controller = new AbortController();
      const res = await request(`${s.url}/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-request-id': 'req-abort-1' },
        body: JSON.stringify({ model: 'm', messages: MESSAGES, stream: true }),
        signal: controller.signal,
      });
      // the answer carries the provider's own id, as OpenAI's does; the cancel record the client's
      expect(res.headers['x-request-id']).toMatch(/^req_[0-9a-f]{32}$/);
      let chunks = 0;
      let abortedAt = 0;
      const cancelled = once(s.events, 'cancel');
      try {
        for await (const _ of res.body) {
          if (++chunks === 3) {
            abortedAt = performance.timeOrigin + performance.now();
            controller.abort();
          }
        }
      } catch {
        // the abort
      }
      const [record] = await cancelled;
      expect(record.requestId).toBe('req-abort-1');
      expect(record.path).toBe('/v1/chat/completions');
      expect(record.at - abortedAt).toBeGreaterThanOrEqual(0);
      expect(record.at - abortedAt).toBeLessThan(100);
      expect(record.elapsedMs).toBeLessThan(1000);
      expect(s.stats.cancelled).toBe(1);
      expect(s.stats.cancellations).toEqual([record]);
      await waitFor(() => s.stats.inFlight === 0);
    } finally {
      await s.close();
    }
  });

  it('close() ends hanging requests and resolves', async () => {
    const s = await startSimulator({ ttftMs: 0, tpotMs: 0 });
    const pending = fetch(`${s.url}/chat/completions`, {
      method: 'POST',
      headers: { 'x-simulator-fault': 'timeout' },
      body: JSON.stringify({ model: 'm', messages: MESSAGES }),
    }).catch((e) => e);
    await waitFor(() => s.stats.faults.timeout === 1);
    const t0 = performance.now();
    await s.close();
    expect(performance.now() - t0).toBeLessThan(500);
    expect(await pending).toBeInstanceOf(Error);
    expect(s.stats.cancelled).toBe(0);
    expect(s.stats.inFlight).toBe(0);
  });
});
