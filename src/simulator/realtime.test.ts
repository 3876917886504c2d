// The simulator's Realtime API over WebSocket, through the official `openai` client's OpenAIRealtimeWS: session events,
// a text response's events in OpenAI's order with usage that adds up, cancel, max_output_tokens, the beta event names
// and the refusals answered before the upgrade.
import { connect } from 'node:net';
import OpenAI from 'openai';
import { OpenAIRealtimeWS } from 'openai/realtime/ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { type Simulator, startSimulator } from './server.js';

let sim: Simulator;

beforeAll(async () => {
  sim = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 6, seed: 5 });
});
afterAll(() => sim.close());

type Event = Record<string, unknown> & { type: string };

/**
 * The official client on the simulator: OpenAIRealtimeWS always dials wss://, so a plain TCP socket is handed to it
 * (ws's `createConnection`) for this plain-HTTP server.
 */
async function open(headers: Record<string, string> = {}, model = 'gpt-realtime') {
  const client = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test' });
  const rt = new OpenAIRealtimeWS(
    {
      model,
      options: {
        headers,
        createConnection: ((o: { host?: string; port?: number }) =>
          connect({ host: o.host, port: Number(o.port) })) as never,
      },
    },
    client,
  );
  const events: Event[] = [];
  rt.on('event', (e) => events.push(e as unknown as Event));
  rt.on('error', () => undefined);
  await new Promise<void>((ok, fail) => {
    rt.socket.once('open', () => ok());
    rt.socket.once('error', fail);
  });
  return { rt, events };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const by = Date.now() + ms;
  while (!check()) {
    if (Date.now() > by) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('simulator: Realtime over WebSocket', () => {
  it('answers a text response with its events and usage', async () => {
    const { rt, events } = await open();
    await until(() => events.some((e) => e.type === 'session.created'));
    const session = events[0]?.session as Record<string, unknown>;
    expect(session.model).toBe('gpt-realtime');
    expect(session.id).toMatch(/^sess_/);
    rt.send({ type: 'session.update', session: { type: 'realtime', instructions: 'Be brief.' } });
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Say hello.' }] },
    });
    rt.send({ type: 'response.create' });
    await until(() => events.some((e) => e.type === 'response.done'));
    rt.close();
    expect(events.map((e) => e.type)).toEqual([
      'session.created',
      'session.updated',
      'conversation.item.added',
      'conversation.item.done',
      'response.created',
      'response.output_item.added',
      'response.content_part.added',
      ...Array(6).fill('response.output_text.delta'),
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.done',
    ]);
    const done = events.at(-1)?.response as Record<string, unknown>;
    const usage = done.usage as Record<string, number>;
    expect(done.status).toBe('completed');
    expect(usage.output_tokens).toBe(6);
    // instructions (3 tokens) + 3, and one item: 4 + "Say hello." (3 tokens)
    expect(usage.input_tokens).toBe(13);
    expect(usage.total_tokens).toBe(19);
    const text = events
      .filter((e) => e.type === 'response.output_text.delta')
      .map((e) => e.delta)
      .join('');
    expect((done.output as { content: { text: string }[] }[])[0]?.content[0]?.text).toBe(text);
    for (const e of events.slice(4)) if (e.type !== 'response.created') expect(e.response_id ?? done.id).toBe(done.id);
  });

  it('a cancelled response ends cancelled with the tokens sent so far; max_output_tokens ends incomplete', async () => {
    const { rt, events } = await open({
      'x-simulator-ttft-ms': '0',
      'x-simulator-tpot-ms': '40',
      'x-simulator-output-tokens': '50',
    });
    rt.send({ type: 'response.create' });
    await until(() => events.filter((e) => e.type === 'response.output_text.delta').length >= 2);
    rt.send({ type: 'response.cancel' });
    await until(() => events.some((e) => e.type === 'response.done'));
    const done = events.find((e) => e.type === 'response.done')?.response as Record<string, unknown>;
    const deltas = events.filter((e) => e.type === 'response.output_text.delta').length;
    expect(done.status).toBe('cancelled');
    expect((done.usage as Record<string, number>).output_tokens).toBe(deltas);
    expect(deltas).toBeLessThan(50);
    rt.send({ type: 'response.create', response: { max_output_tokens: 3 } });
    await until(() => events.filter((e) => e.type === 'response.done').length === 2);
    const second = events.filter((e) => e.type === 'response.done')[1]?.response as Record<string, unknown>;
    expect(second.status).toBe('incomplete');
    expect(second.status_details).toEqual({ type: 'incomplete', reason: 'max_output_tokens' });
    expect((second.usage as Record<string, number>).output_tokens).toBe(3);
    rt.close();
  });

  it('speaks the beta event names when asked for the beta protocol', async () => {
    const { rt, events } = await open({ 'OpenAI-Beta': 'realtime=v1' });
    rt.send({ type: 'response.create' });
    await until(() => events.some((e) => e.type === 'response.done'));
    rt.close();
    expect(events.filter((e) => e.type === 'response.text.delta')).toHaveLength(6);
    expect(events.some((e) => e.type === 'response.output_text.delta')).toBe(false);
  });

  it('refuses before the upgrade with the HTTP status and OpenAI error body', async () => {
    const url = `${sim.url.replace(/^http/, 'ws')}/realtime?model=gpt-realtime`;
    const answer = (headers: Record<string, string>, to = url) =>
      new Promise<{ status: number; body: string }>((ok, fail) => {
        const ws = new WebSocket(to, { headers });
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
    const limited = await answer({ 'x-simulator-fault': 'rate_limit' });
    expect(limited.status).toBe(429);
    expect(JSON.parse(limited.body).error.type).toBe('requests');
    const noModel = await answer({}, url.replace(/\?.*/, ''));
    expect(noModel.status).toBe(400);
    expect(JSON.parse(noModel.body).error.param).toBe('model');
  });

  it('answers an event it does not serve with an error event, and the session goes on', async () => {
    const { rt, events } = await open();
    rt.send({ type: 'output_audio_buffer.clear' });
    rt.send({ type: 'response.create' });
    await until(() => events.some((e) => e.type === 'response.done'));
    rt.close();
    const err = events.find((e) => e.type === 'error')?.error as Record<string, unknown>;
    expect(err.code).toBe('unknown_event');
  });

  it('an event it fails on is answered with an error event; the session and the simulator go on', async () => {
    const { rt, events } = await open();
    // an output that is an object whose toString is not a function: String() of it threw, and killed the process
    rt.send({
      type: 'conversation.item.create',
      item: { type: 'function_call_output', call_id: 'c1', output: { toString: 1 } },
    } as never);
    rt.send({ type: 'response.create' });
    await until(() => events.some((e) => e.type === 'response.done'));
    rt.close();
    expect(events.some((e) => e.type === 'conversation.item.done')).toBe(true);
    const again = await open();
    again.rt.send({ type: 'response.create' });
    await until(() => again.events.some((e) => e.type === 'response.done'));
    again.rt.close();
  });
});
