// A background response (`background: true`, not streamed) is held unrecorded until a poll brings it finished. The
// Responses API also lets the client follow it as an event stream (`GET /v1/responses/{id}?stream=true`, the openai
// SDK's responses.retrieve(id, {stream: true})), whose last event carries the finished response: that poll was not
// read, so such a call stayed held until its hour ran out and was then recorded `queued`, with no output tokens and
// no output cost. An upstream here answers as OpenAI does (the simulator's GET answers JSON only).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack, until } from './helpers.js';

const ID = 'resp_bg_stream_1';
const USAGE = {
  input_tokens: 20,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 7,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 27,
};
const base = { id: ID, object: 'response', model: 'gpt-4o-mini', background: true, error: null, output: [] };

describe('reach: a background response followed as an event stream is recorded once it finishes', () => {
  let s: Stack;
  let up: Server;
  let release: () => void = () => {};

  beforeAll(async () => {
    up = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'POST') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ...base, status: 'queued', usage: null }));
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const ev = (o: object) => res.write(`event: ${(o as { type: string }).type}\ndata: ${JSON.stringify(o)}\n\n`);
        ev({
          type: 'response.in_progress',
          sequence_number: 1,
          response: { ...base, status: 'in_progress', usage: null },
        });
        ev({
          type: 'response.output_text.delta',
          sequence_number: 2,
          item_id: 'msg_1',
          output_index: 0,
          content_index: 0,
          delta: 'Done.',
        });
        // the rest when the test says
        release = () => {
          const message = {
            type: 'message',
            id: 'msg_1',
            role: 'assistant',
            status: 'completed',
            content: [{ type: 'output_text', text: 'Done.', annotations: [] }],
          };
          ev({
            type: 'response.completed',
            sequence_number: 3,
            response: { ...base, status: 'completed', output: [message], usage: USAGE },
          });
          res.end();
        };
      });
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(up.address() as AddressInfo).port}/v1`;
    s = await startStack({
      config: () => ({ providers: [{ name: 'openai-up', type: 'openai-responses', baseUrl: url }] }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(async () => {
    await s.close();
    up.closeAllConnections();
    up.close();
  });

  it('responses.retrieve(id, {stream: true}): recorded from its response.completed, with its usage and cost', async () => {
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-not-real', maxRetries: 0 });
    const queued = await client.responses.create(
      { model: 'gpt-4o-mini', input: 'Say done.', background: true },
      { headers: { 'x-request-id': 'bg-stream' } },
    );
    expect(queued.status).toBe('queued');
    const stream = await client.responses.retrieve(ID, { stream: true });
    const types: string[] = [];
    for await (const e of stream) {
      types.push(e.type);
      if (e.type === 'response.output_text.delta') {
        // held, not recorded, while it is generated
        expect(s.calls.find((c) => c.requestId === 'bg-stream')).toBeUndefined();
        release();
      }
    }
    expect(types).toEqual(['response.in_progress', 'response.output_text.delta', 'response.completed']);
    const call = await until(() => s.calls.find((c) => c.requestId === 'bg-stream'), 10_000);
    expect(call).toMatchObject({
      status: 'ok',
      finishReason: 'stop',
      inputTokens: 20,
      outputTokens: 7,
      tokenSource: 'usage',
    });
    // gpt-4o-mini: $0.15 / $0.60 per 1M tokens
    expect(call.costUsd).toBeCloseTo((20 * 0.15 + 7 * 0.6) / 1e6, 12);
    expect(s.calls.filter((c) => c.requestId === 'bg-stream')).toHaveLength(1);
  });
});
