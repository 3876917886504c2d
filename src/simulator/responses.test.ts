// The simulator's stored Responses: GET /v1/responses/{id}/input_items lists a response's input items as OpenAI
// does (ids, input_text parts, order, after, limit), DELETE /v1/responses/{id} deletes it, and an unknown id is a
// 404 in OpenAI's error shape, through the official `openai` client and raw HTTP.
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from './server.js';

let sim: Simulator;
let client: OpenAI;

beforeAll(async () => {
  sim = await startSimulator({ ttftMs: 0, tpotMs: 0, outputTokens: 5, seed: 3 });
  client = new OpenAI({ baseURL: sim.url, apiKey: 'sk-test', maxRetries: 0 });
});
afterAll(() => sim.close());

const get = async (path: string, method = 'GET') => {
  const r = await fetch(`${sim.url.replace(/\/v1$/, '')}${path}`, { method });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};

describe('simulator: stored responses', () => {
  it('lists a response input items, newest first by default, with order, after and limit', async () => {
    const r = await client.responses.create({
      model: 'gpt-4o-mini',
      instructions: 'Be brief.',
      input: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'First answer' },
        { role: 'user', content: [{ type: 'input_text', text: 'Second question' }] },
      ],
    });
    const page = await client.responses.inputItems.list(r.id);
    const items = page.data as unknown as Record<string, unknown>[];
    expect(items.map((x) => [x.type, x.role, x.content])).toEqual([
      ['message', 'user', [{ type: 'input_text', text: 'Second question' }]],
      ['message', 'assistant', [{ type: 'output_text', text: 'First answer' }]],
      ['message', 'user', [{ type: 'input_text', text: 'First question' }]],
    ]);
    for (const x of items) expect(x.id).toMatch(/^msg_\w{48}$/);
    expect(new Set(items.map((x) => x.id)).size).toBe(3);

    const asc = await get(`/v1/responses/${r.id}/input_items?order=asc&limit=2`);
    expect(asc.status).toBe(200);
    const data = asc.body.data as { id: string }[];
    expect(asc.body).toMatchObject({
      object: 'list',
      first_id: items[2]?.id,
      last_id: items[1]?.id,
      has_more: true,
    });
    expect(data.map((x) => x.id)).toEqual([items[2]?.id, items[1]?.id]);
    const rest = await get(`/v1/responses/${r.id}/input_items?order=asc&after=${items[1]?.id}`);
    expect(rest.body).toMatchObject({ data: [{ id: items[0]?.id }], has_more: false });
    expect((await get(`/v1/responses/${r.id}/input_items?limit=0`)).body).toMatchObject({
      error: { type: 'invalid_request_error', param: 'limit' },
    });

    // a string input is one user message of input_text
    const s = await client.responses.create({ model: 'gpt-4o-mini', input: 'Say hi' });
    const one = await client.responses.inputItems.list(s.id);
    expect(one.data).toEqual([
      {
        id: expect.stringMatching(/^msg_/),
        type: 'message',
        role: 'user',
        content: [{ type: 'input_text', text: 'Say hi' }],
        status: 'completed',
      },
    ]);
  });

  it('answers a background response queued at once; GET then has it completed, with its usage', async () => {
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Later, please', background: true });
    expect(r).toMatchObject({ status: 'queued', background: true, output: [], usage: null });
    const done = await client.responses.retrieve(r.id);
    expect(done).toMatchObject({ id: r.id, status: 'completed', background: true });
    expect(done.usage?.output_tokens).toBe(5);
    expect((await client.responses.cancel(r.id)).status).toBe('completed');
  });

  it('has a background response in_progress until its answer is due, then completed; a cancel before then sticks', async () => {
    const slow = { headers: { 'x-simulator-ttft-ms': '400' } };
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Later', background: true }, slow);
    const early = await client.responses.retrieve(r.id);
    expect(early).toMatchObject({ id: r.id, status: 'in_progress', output: [], usage: null });
    let done = early;
    while (done.status === 'in_progress') {
      await new Promise((ok) => setTimeout(ok, 50));
      done = await client.responses.retrieve(r.id);
    }
    expect(done).toMatchObject({ status: 'completed', usage: { output_tokens: 5 } });

    const c = await client.responses.create({ model: 'gpt-4o-mini', input: 'Never mind', background: true }, slow);
    expect(await client.responses.cancel(c.id)).toMatchObject({ id: c.id, status: 'cancelled', usage: null });
    await new Promise((ok) => setTimeout(ok, 450));
    expect(await client.responses.retrieve(c.id)).toMatchObject({ status: 'cancelled', output: [], usage: null });
  });

  it('deletes a response; an unknown or deleted id is a 404 in OpenAI shape', async () => {
    const r = await client.responses.create({ model: 'gpt-4o-mini', input: 'Delete me' });
    expect((await client.responses.retrieve(r.id)).id).toBe(r.id);
    const del = await get(`/v1/responses/${r.id}`, 'DELETE');
    expect(del).toEqual({ status: 200, body: { id: r.id, object: 'response.deleted', deleted: true } });
    await expect(client.responses.retrieve(r.id)).rejects.toBeInstanceOf(NotFoundError);
    const again = await get(`/v1/responses/${r.id}`, 'DELETE');
    expect(again).toEqual({
      status: 404,
      body: {
        error: {
          message: `No response found with id '${r.id}'.`,
          type: 'invalid_request_error',
          param: null,
          code: null,
        },
      },
    });
    const items = await get('/v1/responses/resp_nope/input_items');
    expect(items.status).toBe(404);
    expect(items.body).toMatchObject({ error: { message: "No response found with id 'resp_nope'." } });
    // the SDK's delete (no body expected) works too
    const r2 = await client.responses.create({ model: 'gpt-4o-mini', input: 'And me' });
    await client.responses.delete(r2.id);
    await expect(client.responses.inputItems.list(r2.id)).rejects.toBeInstanceOf(NotFoundError);
    // store: false keeps nothing
    const unstored = await client.responses.create({ model: 'gpt-4o-mini', input: 'x', store: false });
    expect((await get(`/v1/responses/${unstored.id}/input_items`)).status).toBe(404);
  });
});
