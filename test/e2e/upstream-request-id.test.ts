// The provider's own id for a call (decision 87): OpenAI's `x-request-id` (`req_…`), which the answer's own
// `x-request-id` replaces, reaches the client as `x-upstream-request-id`; Anthropic's `request-id` passes as it came;
// either is the record's `upstream_request_id`, found by `GET /api/requests?upstream_request_id=` and by the `q`
// prefix search; `/api/ingest` takes it. Through a real `llmscope serve` with the official openai and Anthropic clients
// against the simulator, which answers with ids of its own as those providers do.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { getJson, jsonCall, type ServeRun, simProviders, startServeWithConfig, until } from './helpers.js';

interface Call {
  request_id: string;
  upstream_request_id: string | null;
  provider: string;
  stream: boolean;
}

let sim: Simulator;
let serve: ServeRun;

beforeAll(async () => {
  sim = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 3 });
  serve = await startServeWithConfig({
    prefix: 'llmscope-upstream-id-',
    config: (dir) => ({
      server: { host: '127.0.0.1' },
      providers: simProviders(sim, 'openai', 'anthropic'),
      storage: { url: `sqlite:${dir}/calls.db` },
      telemetry: { logLevel: 'warn' },
      gpu: { collector: 'none' },
    }),
  });
}, 60_000);

afterAll(async () => {
  await serve?.stop();
  await sim?.close();
});

const stored = (id: string) =>
  until(async () => {
    const r = await fetch(`${serve.base}/api/requests/${encodeURIComponent(id)}`);
    return r.status === 200 ? ((await r.json()) as Call) : null;
  });

describe("the provider's request id", () => {
  it("comes back as x-upstream-request-id and is recorded, streamed or not, for OpenAI's and Anthropic's APIs", async () => {
    const openai = new OpenAI({ apiKey: 'sk-test', baseURL: `${serve.base}/v1`, maxRetries: 0 });
    const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }] };

    const plain = await openai.chat.completions.create(body).withResponse();
    const plainId = plain.response.headers.get('x-request-id') as string;
    const plainUp = plain.response.headers.get('x-upstream-request-id');
    expect(plainUp).toMatch(/^req_[0-9a-f]{32}$/);
    expect(plainId).not.toBe(plainUp);

    const streamed = await openai.chat.completions.create({ ...body, stream: true }).withResponse();
    for await (const _ of streamed.data) {
      // drain
    }
    const streamedId = streamed.response.headers.get('x-request-id') as string;
    const streamedUp = streamed.response.headers.get('x-upstream-request-id');
    expect(streamedUp).toMatch(/^req_[0-9a-f]{32}$/);
    expect(streamedUp).not.toBe(plainUp);

    // an upstream error keeps the provider's id too (the ticket is most often about a failed call)
    const failed = await fetch(`${serve.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-fault': 'server_error' },
      body: JSON.stringify(body),
    });
    expect(failed.status).toBe(500);
    const failedUp = failed.headers.get('x-upstream-request-id');
    expect(failedUp).toMatch(/^req_/);

    const anthropic = new Anthropic({ baseURL: serve.base, apiKey: 'sk-ant-test', maxRetries: 0 });
    const msg = await anthropic.messages
      .create({ model: 'claude-sonnet-4-5', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] })
      .withResponse();
    const claudeId = msg.response.headers.get('x-request-id') as string;
    const claudeUp = msg.response.headers.get('request-id');
    expect(claudeUp).toMatch(/^req_[0-9a-f]{24}$/);
    // Anthropic's id passes as its own header; there is no x-request-id of Anthropic's to replace
    expect(msg.response.headers.get('x-upstream-request-id')).toBeNull();

    expect((await stored(plainId))?.upstream_request_id).toBe(plainUp);
    expect((await stored(streamedId))?.upstream_request_id).toBe(streamedUp);
    expect((await stored(failed.headers.get('x-request-id') as string))?.upstream_request_id).toBe(failedUp);
    expect((await stored(claudeId))?.upstream_request_id).toBe(claudeUp);

    // found from the provider's id: exactly, and by the id search (the start of it)
    const exact = await getJson<{ data: Call[] }>(
      `${serve.base}/api/requests?upstream_request_id=${encodeURIComponent(plainUp as string)}`,
    );
    expect(exact.data.map((c) => c.request_id)).toEqual([plainId]);
    const byPrefix = await getJson<{ data: Call[] }>(
      `${serve.base}/api/requests?q=${encodeURIComponent((claudeUp as string).slice(0, 16))}`,
    );
    expect(byPrefix.data.map((c) => c.request_id)).toEqual([claudeId]);
  });

  it('is taken from /api/ingest, and is null where a call has none', async () => {
    const sent = await jsonCall(serve.base, 'POST', '/api/ingest', {
      calls: [
        {
          request_id: 'ingested-up-1',
          started_at: new Date().toISOString(),
          provider: 'openai',
          model: 'gpt-4o-mini',
          upstream_request_id: 'req_from_the_app_0001',
        },
        { request_id: 'ingested-up-2', started_at: new Date().toISOString(), provider: 'openai', model: 'gpt-4o' },
      ],
    });
    expect(sent.status).toBeLessThan(300);
    expect((await stored('ingested-up-1'))?.upstream_request_id).toBe('req_from_the_app_0001');
    expect((await stored('ingested-up-2'))?.upstream_request_id).toBeNull();
    const tooLong = await jsonCall(serve.base, 'POST', '/api/ingest', {
      started_at: new Date().toISOString(),
      provider: 'openai',
      model: 'gpt-4o',
      upstream_request_id: 'x'.repeat(257),
    });
    expect(tooLong.status).toBe(400);
  });
});
