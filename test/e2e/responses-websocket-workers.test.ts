// The Responses API's WebSocket mode under `llmscope serve --workers 2`, as an operator runs it (the built CLI), with
// the official `openai` client's ResponsesWS: each connection reaches whichever worker node:cluster hands it to; the
// virtual key is checked by the recorder process's hooks (a connection without one is refused 401 before the upgrade),
// each response.create is admitted there with its model (a model the key may not call gets an error event) and its
// budget reservation, settled when the response is recorded (a budget with room for three reservations passes eight
// responses), and each response is recorded once and read back from the store via /api/requests.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import OpenAI from 'openai';
import { ResponsesWS } from 'openai/resources/responses/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashKey } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { killServe, startServeWithConfig, until } from './helpers.js';

const KEY = 'lsk_responses_ws_workers_0123456789abcdef';
const OUT = 7;
const TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);

let sim: Simulator;
const procs: ChildProcess[] = [];

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 20, tpotMs: 2, outputTokens: OUT });
});
afterAll(async () => {
  for (const p of procs) killServe(p);
  await sim?.close();
});

async function serve(extra: Record<string, unknown> = {}) {
  const run = await startServeWithConfig({
    prefix: 'llmscope-rws-',
    workers: 2,
    config: (dir) => ({
      providers: [{ name: 'sim', baseUrl: sim.url }],
      storage: { url: `sqlite:${join(dir, 'app.db')}` },
      keys: [{ id: 'codex', hash: hashKey(KEY), team: 'codex', models: ['gpt-4o-mini'] }],
      // each response reserves about $0.0006 (max_output_tokens 1000 at $0.60 per 1M): room for three at once, so the
      // eight below pass only if each one's reservation is settled when it is recorded
      budgets: [{ name: 'codex-daily', scope: 'team', match: 'codex', period: 'day', limit: 0.002, action: 'block' }],
      gpu: { collector: 'none' },
      ...extra,
    }),
  });
  procs.push(run.proc);
  return run;
}

type Ev = Record<string, unknown> & { type: string };

/** One connection: a response.create for a model the key may not call, then two that it may. */
async function connection(base: string) {
  const ws = new ResponsesWS(new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY }));
  const events: Ev[] = [];
  ws.on('event', (e) => events.push(e as unknown as Ev));
  ws.on('error', () => undefined);
  const create = async (model: string, input: string) => {
    const from = events.length;
    ws.send({ type: 'response.create', model, input, max_output_tokens: 1000 } as never);
    await until(() => events.slice(from).some((e) => TERMINAL.has(e.type)), 10_000, 5);
    return events.slice(from).at(-1) as Ev;
  };
  const refused = await create('gpt-4o', 'not for this key');
  const first = await create('gpt-4o-mini', 'first');
  const second = await create('gpt-4o-mini', 'second');
  const closed = new Promise((r) => ws.on('close', r));
  ws.close();
  await closed;
  return { refused, done: [first, second] as (Ev & { response: { id: string; usage: { input_tokens: number } } })[] };
}

describe('Responses WebSocket mode under serve --workers 2', () => {
  it('admits each response through the recorder process and records every response once', async () => {
    const run = await serve();
    const refused = await new Promise<number>((ok, fail) => {
      const ws = new WebSocket(`${run.base.replace(/^http/, 'ws')}/v1/responses`);
      ws.on('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
      ws.on('open', () => fail(new Error('upgraded')));
      ws.on('error', () => undefined);
    });
    expect(refused).toBe(401);

    // eight responses on four connections, two connections at a time: node:cluster hands them to both workers
    for (let k = 0; k < 2; k++)
      for (const c of await Promise.all([connection(run.base), connection(run.base)])) {
        expect(c.refused).toMatchObject({ type: 'error', status: 403, error: { code: 'model_not_allowed' } });
        for (const done of c.done) {
          expect(done.type).toBe('response.completed');
          const call = await until(async () => {
            const res = await fetch(`${run.base}/api/requests/${done.response.id}`);
            return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
          });
          expect(call).toMatchObject({
            endpoint: 'responses',
            model: 'gpt-4o-mini',
            status: 'ok',
            team: 'codex',
            input_tokens: done.response.usage.input_tokens,
            output_tokens: OUT,
            token_source: 'usage',
          });
          expect(call.ttft_ms).toBeGreaterThanOrEqual(19);
        }
      }
    const list = (await (await fetch(`${run.base}/api/requests?endpoint=responses&limit=50`)).json()) as {
      data: { status: string; error_type: string | null }[];
    };
    expect(list.data.filter((c) => c.status === 'ok')).toHaveLength(8);
    expect(list.data.filter((c) => c.error_type === 'model_not_allowed')).toHaveLength(4);
    expect(await run.stop()).toBe(0);
  }, 90_000);

  it('counts each response in flight against the worker’s server.maxConcurrentCalls', async () => {
    const run = await serve({ server: { maxConcurrentCalls: 1 }, budgets: [] });
    // one connection (one worker): a slow response on lane a holds the worker's one place, so lane b is refused
    const ws = new ResponsesWS(new OpenAI({ baseURL: `${run.base}/v1`, apiKey: KEY }), {
      headers: { 'x-simulator-ttft-ms': '800' },
    });
    const events: Ev[] = [];
    ws.on('event', (e) => events.push(e as unknown as Ev));
    ws.on('error', () => undefined);
    const send = (lane: string) =>
      ws.send({ type: 'response.create', model: 'gpt-4o-mini', input: lane, stream_id: lane } as never);
    const last = (lane: string) => events.filter((e) => e.stream_id === lane && TERMINAL.has(e.type)).at(-1);
    send('a');
    send('b');
    const b = await until(() => last('b'), 10_000, 5);
    expect(b).toMatchObject({ type: 'error', status: 503, error: { code: 'overloaded' } });
    expect(last('a')).toBeUndefined();
    expect(await until(() => last('a'), 10_000, 5)).toMatchObject({ type: 'response.completed' });
    // its place freed, the next response on the connection goes through
    send('c');
    expect(await until(() => last('c'), 10_000, 5)).toMatchObject({ type: 'response.completed' });
    const closed = new Promise((r) => ws.on('close', r));
    ws.close();
    await closed;
    expect(await run.stop()).toBe(0);
  }, 60_000);
});
