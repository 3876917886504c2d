// OpenAI's Realtime API under `llmscope serve --workers 2`, as an operator runs it (the built CLI), with the official
// `openai` client's OpenAIRealtimeWS: the upgrade reaches whichever worker node:cluster hands the connection to; its
// virtual key is checked by the recorder process's hooks (a session without one is refused 401 before the upgrade);
// each response is recorded once, through the worker's hand-off, and read back from the store via /api/requests.
import type { ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, startServeWithConfig, until } from './helpers.js';

const KEY = 'lsk_realtime_workers_0123456789abcdef';
const OUT = 7;

let sim: Simulator;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 20, tpotMs: 2, outputTokens: OUT });
});
afterAll(async () => {
  for (const p of procs) killServe(p);
  await sim?.close();
});

async function serve() {
  const run = await startServeWithConfig({
    prefix: 'llmscope-rtw-',
    workers: 2,
    config: (dir) => ({
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      keys: [{ id: 'voice', hash: hashKey(KEY), team: 'voice' }],
      // room for three sessions' reservations at once (gpt-realtime priced at $4 / $16 per 1M, 4096 output tokens
      // reserved: $0.0655 each), not four: sessions that end without a response must give theirs back (a release
      // is asynchronous, through the primary: the room for three leaves time for one or two in flight)
      pricing: { models: [{ model: 'gpt-realtime', input: 4, cachedInput: 0.4, output: 16 }] },
      budgets: [{ name: 'voice-daily', scope: 'team', match: 'voice', period: 'day', limit: 0.23, action: 'block' }],
      gpu: { collector: 'none' },
    }),
  });
  procs.push(run.proc);
  return run;
}

/** One session, one response; resolves with the response.done's response and the session id. */
async function oneResponse(base: string) {
  const rt = new OpenAIRealtimeWS(
    {
      model: 'gpt-realtime',
      options: {
        // OpenAIRealtimeWS always dials wss://; this llmscope serves plain HTTP.
        createConnection: ((o: { host?: string; port?: number }) =>
          connect({ host: o.host, port: Number(o.port) })) as never,
      },
    },
    new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY }),
  );
  const events: Record<string, unknown>[] = [];
  rt.on('event', (e) => events.push(e as unknown as Record<string, unknown>));
  rt.on('error', () => undefined);
  await new Promise<void>((ok, fail) => {
    rt.socket.once('open', () => ok());
    rt.socket.once('error', fail);
  });
  rt.send({
    type: 'conversation.item.create',
    item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hello there.' }] },
  });
  rt.send({ type: 'response.create' });
  const done = await until(() => events.find((e) => e.type === 'response.done'), 10_000, 5);
  const closed = new Promise((r) => rt.socket.once('close', r));
  rt.close();
  await closed;
  return {
    response: done.response as { id: string; usage: { input_tokens: number; output_tokens: number } },
    session: (events[0]?.session as { id: string } | undefined)?.id,
  };
}

describe('Realtime under serve --workers 2', () => {
  it('admits each session through the recorder process and records every response once', async () => {
    const run = await serve();
    // without a virtual key: refused before the upgrade, in OpenAI's error shape
    const refused = await new Promise<{ status: number; body: string }>((ok, fail) => {
      const ws = new WebSocket(`${run.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`);
      ws.on('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => {
          body += c;
        });
        res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
      });
      ws.on('open', () => fail(new Error('upgraded')));
      ws.on('error', () => undefined);
    });
    expect(refused.status).toBe(401);
    expect(JSON.parse(refused.body).error.code).toBe('invalid_api_key');

    // five sessions without a response, one after the other, on both workers: each gives its reservation back
    for (let k = 0; k < 5; k++) {
      const ws = new WebSocket(`${run.base.replace(/^http/, 'ws')}/v1/realtime?model=gpt-realtime`, [
        'realtime',
        `openai-insecure-api-key.${KEY}`,
      ]);
      await new Promise((ok, fail) => {
        ws.once('open', ok);
        ws.once('error', fail);
      });
      ws.close();
      await new Promise((r) => ws.once('close', r));
    }
    // six sessions, two at a time: node:cluster hands their connections to both workers
    for (let k = 0; k < 3; k++)
      for (const { response, session } of await Promise.all([oneResponse(run.base), oneResponse(run.base)])) {
        const call = await until(async () => {
          const res = await fetch(`${run.base}/api/requests/${response.id}`);
          return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
        });
        expect(call).toMatchObject({
          endpoint: 'realtime',
          model: 'gpt-realtime',
          status: 'ok',
          session,
          team: 'voice',
          input_tokens: response.usage.input_tokens,
          output_tokens: OUT,
          token_source: 'usage',
        });
        expect(call.ttft_ms).toBeGreaterThanOrEqual(19);
      }
    const list = (await (await fetch(`${run.base}/api/requests?endpoint=realtime&limit=50`)).json()) as {
      data: unknown[];
    };
    expect(list.data).toHaveLength(6);
    expect(await run.stop()).toBe(0);
  }, 90_000);
});
