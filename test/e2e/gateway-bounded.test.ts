// Bounded work per call: no single stream or prompt can take a gateway's memory or event loop. An upstream that
// streams without end is passed to the client for as long as it reads, in bounded memory, and recorded as
// cancelled with its tokens when the client hangs up; a prompt that is one long word, to an upstream without
// usage, is counted in linear time and does not hold the next call.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEXT_HEAD_CHARS, TEXT_TAIL_CHARS } from '../../src/calls/bounded-text.js';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { countTokens } from '../../src/calls/tokens.js';
import { builtinModules } from '../../src/cli/modules.js';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

const WORDS = 'the gateway passes every byte on while it meters the stream beside it and keeps a bounded share ';
const DELTA = WORDS.repeat(Math.ceil(16_384 / WORDS.length)).slice(0, 16_384);
const EVENT = Buffer.from(
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content: DELTA }, finish_reason: null }] })}\n\n`,
);

/** Writes SSE content events until the connection closes, as fast as the reader takes them. */
const endless: Behaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  const pump = (): void => {
    while (!res.destroyed) {
      if (!res.write(EVENT)) {
        res.once('drain', pump);
        return;
      }
    }
  };
  res.on('close', () => res.removeAllListeners('drain'));
  pump();
};

/** A non-streamed answer without `usage`, as some self-hosted servers give. */
const noUsage: Behaviour = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      model: 'gpt-4o-mini',
      choices: [{ index: 0, message: { role: 'assistant', content: 'A short answer.' }, finish_reason: 'stop' }],
    }),
  );
};

describe('bounded work per call', () => {
  let upstream: Server;
  let behaviour: Behaviour = noUsage;
  let app: App;
  let base: string;
  const calls: LlmCall[] = [];
  const capture: Sink = { name: 'capture', write: (b) => void calls.push(...b) };
  const callFor = async (id: string): Promise<LlmCall> => {
    for (let i = 0; i < 500; i++) {
      await app.ctx.recorder.flush();
      const c = calls.find((x) => x.requestId === id);
      if (c) return c;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`call ${id} not recorded`);
  };

  beforeAll(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      req.on('end', () => behaviour(req, res));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as AddressInfo).port;
    const config = configOf({
      server: { host: '127.0.0.1', port: 0, shutdownGrace: '2s' },
      providers: [{ name: 'selfhosted', baseUrl: `http://127.0.0.1:${port}/v1`, models: ['gpt-*'] }],
      storage: { url: 'sqlite::memory:' },
      telemetry: { captureContent: true },
    });
    app = await createApp(config, {
      modules: builtinModules(),
      sinks: [capture],
      logDestination: { write: () => {} },
    });
    base = await app.listen();
  });
  afterAll(async () => {
    await app?.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it('passes an endless stream for 1 GB in bounded memory, then records it cancelled with estimated tokens', async () => {
    behaviour = endless;
    global.gc?.();
    const idleRss = process.memoryUsage().rss;
    const ac = new AbortController();
    const res = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'endless' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'go on forever' }],
        stream: true,
      }),
      signal: ac.signal,
    });
    expect(res.statusCode).toBe(200);
    const target = 1024 ** 3;
    let received = 0;
    let maxRss = 0;
    let next = 0;
    let error: unknown = null;
    try {
      for await (const chunk of res.body) {
        received += (chunk as Buffer).length;
        if (received >= next) {
          maxRss = Math.max(maxRss, process.memoryUsage().rss);
          next += 32 * 1024 * 1024;
        }
        if (received >= target) break;
      }
    } catch (err) {
      error = err;
    }
    ac.abort();
    expect(error).toBeNull();
    expect(received).toBeGreaterThanOrEqual(target);
    const growthMb = (maxRss - idleRss) / 1024 / 1024;
    console.log(
      `endless stream: ${(received / 1024 ** 2).toFixed(0)} MiB passed, RSS growth ${growthMb.toFixed(0)} MiB`,
    );
    expect(growthMb).toBeLessThan(300);

    const call = await callFor('endless');
    expect(call.status).toBe('cancelled');
    expect(call.errorType).not.toBe('upstream_stream_cut');
    expect(call.tokenSource).toBe('estimate');
    // Every event carries the same delta: the estimate lands within 10% of its exact count times the events passed.
    const exactPerEvent = countTokens(DELTA);
    const events = call.responseBytes / EVENT.length;
    const exact = exactPerEvent * events;
    expect(call.outputTokens).toBeGreaterThan(exact * 0.9);
    expect(call.outputTokens).toBeLessThan(exact * 1.1);
    // Captured content holds the head and tail, not the gigabyte.
    expect(call.content?.output?.length).toBeGreaterThan(TEXT_HEAD_CHARS);
    expect(call.content?.output?.length).toBeLessThanOrEqual(TEXT_HEAD_CHARS + TEXT_TAIL_CHARS + 16);
  }, 120_000);

  it('counts a 1 MB one-word prompt in linear time: the next call is answered within 1 s', async () => {
    behaviour = noUsage;
    const word = 'x'.repeat(1024 * 1024);
    // Client, gateway and upstream share this event loop: its longest stall is what any other call would wait.
    const stall = monitorEventLoopDelay({ resolution: 5 });
    stall.enable();
    const long = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'one-word' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: word }] }),
    });
    expect(long.statusCode).toBe(200);
    await long.body.text();
    // The long call's tokens are counted after its answer, beside the next call.
    const t0 = performance.now();
    const small = await request(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'right-after' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await small.body.text();
    const ms = performance.now() - t0;
    console.log(`call after a 1 MB one-word prompt answered in ${ms.toFixed(1)} ms`);
    expect(small.statusCode).toBe(200);
    expect(ms).toBeLessThan(1000);

    const call = await callFor('one-word');
    await callFor('right-after');
    stall.disable();
    console.log(`longest event-loop stall around it: ${(stall.max / 1e6).toFixed(1)} ms`);
    expect(stall.max / 1e6).toBeLessThan(1000);
    expect(call.tokenSource).toBe('estimate');
    expect(call.content?.input?.length).toBeLessThanOrEqual(TEXT_HEAD_CHARS + TEXT_TAIL_CHARS + 16);
    // o200k counts a run of x's at about 8 characters a token: the estimate is of that order, not a byte count.
    expect(call.inputTokens).toBeGreaterThan(1024 * 1024 * 0.05);
    expect(call.inputTokens).toBeLessThan(1024 * 1024 * 0.5);
    expect((await callFor('right-after')).tokenSource).toBe('tokenizer');
  }, 60_000);
});
