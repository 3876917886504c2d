// A client's own x-request-id sent on more than one call: the official SDKs resend a request's headers on each of
// their retries, and an app passes the id of the request it is serving on to every LLM call it makes. Each of those
// calls reached the upstream and may cost, so each is recorded under an id of its own (the client's for the first),
// answered in the response's x-request-id; before, the store kept the first call under the id and dropped the others:
// the retry that succeeded, its tokens and cost.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { getJson, type Stack, simProviders, startStack, until } from './helpers.js';

interface Row {
  request_id: string;
  user: string | null;
  status: string;
  http_status: number;
  output_tokens: number | null;
  cost_usd: number | null;
}

describe('reach: calls sent with the same x-request-id are each recorded', () => {
  let s: Stack;

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 5, tpotMs: 1, outputTokens: 4 },
      config: (sim) => ({
        providers: simProviders(sim, 'openai', 'anthropic'),
      }),
      app: { modules: [createCostModule] },
    });
  });
  afterAll(() => s.close());

  /** The stored calls of `user`, oldest first, once there are `n`. */
  const stored = async (user: string, n: number): Promise<Row[]> => {
    let rows: Row[] = [];
    await until(async () => {
      await s.app.ctx.recorder.flush();
      rows = (await getJson<{ data: Row[] }>(`${s.base}/api/requests?user=${user}&limit=50`)).data;
      return rows.length >= n;
    });
    return rows.reverse();
  };

  it("the openai SDK's retries after 429s: every attempt is stored, the one that succeeded with its tokens and cost", async () => {
    let attempts = 0;
    // The upstream refuses the first two attempts (the simulator's fault header on them), as a rate-limited API does.
    const flaky: typeof fetch = (url, init) => {
      attempts++;
      const headers = new Headers(init?.headers);
      if (attempts < 3) headers.set('x-simulator-fault', 'rate_limit');
      return fetch(url, { ...init, headers });
    };
    const client = new OpenAI({ baseURL: `${s.base}/v1`, apiKey: 'sk-test', maxRetries: 2, fetch: flaky });
    const { data, response } = await client.chat.completions
      .create(
        { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Hi' }] },
        { headers: { 'x-request-id': 'app-req-1', 'x-llmscope-user': 'retrying-app' } },
      )
      .withResponse();
    expect(attempts).toBe(3);
    const rows = await stored('retrying-app', 3);
    expect(rows.map((r) => [r.status, r.http_status])).toEqual([
      ['rate_limited', 429],
      ['rate_limited', 429],
      ['ok', 200],
    ]);
    expect(rows[0]?.request_id).toBe('app-req-1');
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(3);
    for (const r of rows.slice(1)) expect(r.request_id).toMatch(/^app-req-1\.[0-9a-f-]{36}$/);
    // The answer names the call it was recorded as, so the request page and feedback find the one that succeeded.
    const id = response.headers.get('x-request-id') as string;
    expect(id).toBe(rows[2]?.request_id);
    const call = await getJson<Row>(`${s.base}/api/requests/${id}`);
    expect([call.status, call.output_tokens]).toEqual(['ok', data.usage?.completion_tokens]);
    expect(call.cost_usd).toBeGreaterThan(0);
  });

  it('an app passing its own request id to each Anthropic call it makes: every call is stored and priced', async () => {
    const client = new Anthropic({ baseURL: s.base, apiKey: 'sk-ant-test', maxRetries: 0 });
    const headers = { 'x-request-id': 'web-req-7', 'x-llmscope-user': 'propagating-app' };
    const ids: string[] = [];
    for (const content of ['Plan the trip.', 'Summarise the plan.']) {
      const { response } = await client.messages
        .create({ model: 'claude-sonnet-4-5', max_tokens: 20, messages: [{ role: 'user', content }] }, { headers })
        .withResponse();
      ids.push(response.headers.get('x-request-id') as string);
    }
    expect(ids[0]).toBe('web-req-7');
    expect(ids[1]).not.toBe('web-req-7');
    const rows = await stored('propagating-app', 2);
    expect(rows.map((r) => r.request_id)).toEqual(ids);
    for (const r of rows) expect([r.status, (r.cost_usd ?? 0) > 0]).toEqual(['ok', true]);
  });
});
