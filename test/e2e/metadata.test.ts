// Call metadata end to end, on SQLite and on PostgreSQL: the official `openai` client sends x-llmscope-meta-<key>
// headers (defaultHeaders and per-request headers), /api/ingest sends `metadata`; calls are filtered by
// /api/requests?meta.<key>= and grouped by /api/cost/summary?group_by=meta.<key>; too many keys or too long a value
// get 400 invalid_metadata (and a refused gateway call is still recorded); values are redacted; /metrics labels
// never hold metadata.
import OpenAI from 'openai';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { startPostgres, type TestPostgres } from '../pg.js';
import { type Stack, startStack } from './helpers.js';

let pg: TestPostgres | undefined;
beforeAll(async () => {
  pg = await startPostgres();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

const stores: [string, () => Promise<string>][] = [
  ['sqlite', async () => 'sqlite::memory:'],
  ['postgres', async () => (pg as TestPostgres).freshSchemaUrl()],
];

describe.each(stores)('call metadata on %s', (_name, storageUrl) => {
  let s: Stack;
  let client: OpenAI;
  const msg = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'Say hello' }] };

  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 1, tpotMs: 0, outputTokens: 5 },
      config: { storage: { url: await storageUrl() } },
      app: { modules: [createCostModule] },
    });
    client = new OpenAI({
      baseURL: `${s.base}/v1`,
      apiKey: 'sk-test-not-a-real-key',
      maxRetries: 0,
      defaultHeaders: { 'x-llmscope-meta-tenant': 'acme', 'x-llmscope-meta-exp.arm': 'b' },
    });
  });
  afterAll(() => s?.close());

  const get = async (path: string) => {
    const r = await request(`${s.base}${path}`);
    return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
  };
  /** The store's rows are written off the request path: wait until the recorder has handed everything over. */
  const settled = async (n: number) => {
    await s.waitForCalls(n);
    await s.app.ctx.recorder.flush();
  };

  it('records header metadata from defaultHeaders and per-request headers, and filters by it', async () => {
    const a = await client.chat.completions.create(msg);
    expect(a.choices[0]?.message.content).toBeTruthy();
    let chunks = 0;
    for await (const _ of await client.chat.completions.create({ ...msg, stream: true })) chunks++;
    expect(chunks).toBeGreaterThan(1);
    await client.chat.completions.create(msg, {
      headers: { 'x-llmscope-meta-tenant': 'globex', 'x-llmscope-meta-contact': 'write to bob@example.com' },
    });
    await settled(3);
    const calls = s.calls.slice(-3);
    expect(calls.map((c) => c.metadata?.['tenant'])).toEqual(['acme', 'acme', 'globex']);
    // the privacy enricher redacted the email, as it does the call's other text
    expect(calls[2]?.metadata?.['contact']).not.toContain('bob@example.com');

    const acme = await get('/api/requests?meta.tenant=acme');
    expect(acme.status).toBe(200);
    const rows = acme.body.data as { request_id: string; metadata: Record<string, string> }[];
    expect(rows).toHaveLength(2);
    expect(rows[0]?.metadata).toEqual({ tenant: 'acme', 'exp.arm': 'b' });
    const both = await get('/api/requests?meta.tenant=globex&meta.exp.arm=b');
    const globex = both.body.data as { request_id: string; metadata: Record<string, string> }[];
    expect(globex.map((r) => r.request_id)).toEqual([calls[2]?.requestId]);
    expect(globex[0]?.metadata['contact']).toBe(calls[2]?.metadata?.['contact']);
    expect((await get('/api/requests?meta.tenant=nobody')).body.data).toEqual([]);
    // One key given twice: not the last value's calls alone (as if the first were never asked for), but a 400
    const twice = await get('/api/requests?meta.tenant=acme&meta.tenant=globex');
    expect(twice.status).toBe(400);
    expect(twice.body.error).toMatchObject({ code: 'invalid_query', param: 'meta.tenant' });
    expect((await get('/api/requests?meta.tenant=acme&meta.tenant=acme')).body.data).toHaveLength(2);
    // a key named like an object's own property is one filter like any other (it was taken for a second value)
    const ctor = await get('/api/requests?meta.constructor=acme');
    expect([ctor.status, ctor.body.data]).toEqual([200, []]);
    const detail = await get(`/api/requests/${calls[0]?.requestId}`);
    expect(detail.body.metadata).toEqual({ tenant: 'acme', 'exp.arm': 'b' });
  });

  it('groups spend by a metadata key, summed from the stored calls', async () => {
    await settled(3);
    const r = await get('/api/cost/summary?group_by=meta.tenant');
    expect(r.status).toBe(200);
    expect(r.body.group_by).toBe('meta.tenant');
    expect(r.body.resolution).toBe('call');
    const groups = r.body.groups as { key: string | null; requests: number; cost_usd: number }[];
    const want = new Map<string | null, { requests: number; cost: number }>();
    for (const c of s.calls) {
      const k = c.metadata?.['tenant'] ?? null;
      const w = want.get(k) ?? { requests: 0, cost: 0 };
      w.requests++;
      w.cost += c.costUsd ?? 0;
      want.set(k, w);
    }
    expect(groups.map((g) => g.key).sort()).toEqual([...want.keys()].sort());
    for (const g of groups) {
      expect(g.requests).toBe(want.get(g.key)?.requests);
      expect(g.cost_usd).toBeCloseTo(want.get(g.key)?.cost ?? -1, 9);
    }
    expect((groups.find((g) => g.key === 'acme')?.cost_usd ?? 0) > 0).toBe(true);
    const bad = await get('/api/cost/summary?group_by=meta.Not%20A%20Token');
    expect(bad.status).toBe(400);
    expect((bad.body.error as { code: string }).code).toBe('invalid_query');
  });

  it('refuses more than 20 keys or a value over 256 characters with 400 invalid_metadata, and records the refusal', async () => {
    const before = s.calls.length;
    const many = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`x-llmscope-meta-k${i}`, 'v']));
    const err = await client.chat.completions.create(msg, { headers: many }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_metadata');
    const long = await client.chat.completions
      .create(msg, { headers: { 'x-llmscope-meta-note': 'x'.repeat(257) } })
      .catch((e: unknown) => e);
    expect((long as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((long as InstanceType<typeof OpenAI.APIError>).param).toBe('x-llmscope-meta-note');
    await settled(before + 2);
    const refused = s.calls.slice(before);
    expect(refused.map((c) => [c.status, c.httpStatus, c.errorType])).toEqual([
      ['client_error', 400, 'invalid_metadata'],
      ['client_error', 400, 'invalid_metadata'],
    ]);
    expect(refused.map((c) => c.model)).toEqual(['gpt-4o-mini', 'gpt-4o-mini']);
    // 256 characters are fine
    await client.chat.completions.create(msg, { headers: { 'x-llmscope-meta-note': 'y'.repeat(256) } });
    await settled(before + 3);
    expect(s.calls.at(-1)?.metadata?.['note']).toHaveLength(256);
  });

  it('takes metadata in /api/ingest, refuses what breaks the rules, and never puts it in /metrics labels', async () => {
    const post = async (body: unknown) => {
      const r = await request(`${s.base}/api/ingest`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
    };
    const rec = {
      started_at: Date.now() - 1000,
      latency_ms: 100,
      provider: 'openai',
      model: 'gpt-4o-mini',
      input_tokens: 10,
      output_tokens: 5,
      metadata: { tenant: 'initech', 'exp.arm': 'a' },
    };
    const ok = await post({ calls: [rec, { ...rec, metadata: {} }] });
    expect(ok.status).toBe(202);
    const ids = ok.body.request_ids as string[];
    const tooMany = await post([
      rec,
      { ...rec, metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) },
    ]);
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.error).toMatchObject({ code: 'invalid_metadata', param: '1.metadata.k20' });
    const badKey = await post({ ...rec, metadata: { 'Upper Case': 'v' } });
    expect(badKey.status).toBe(400);
    expect(badKey.body.error).toMatchObject({ code: 'invalid_metadata', param: 'metadata.Upper Case' });
    const notString = await post({ ...rec, metadata: { n: 1 } });
    expect(notString.status).toBe(400);
    await s.waitForCalls(1);
    await s.app.ctx.recorder.flush();
    const found = await get('/api/requests?meta.tenant=initech');
    expect((found.body.data as { request_id: string }[]).map((r) => r.request_id)).toEqual([ids[0]]);
    const bare = await get(`/api/requests/${ids[1]}`);
    expect(bare.body.metadata).toEqual({});
    const badQuery = await get('/api/requests?meta.Tenant=x');
    expect(badQuery.status).toBe(400);
    expect((badQuery.body.error as { code: string; param: string }).param).toBe('meta.Tenant');

    const metrics = await (await request(`${s.base}/metrics`)).body.text();
    for (const v of ['acme', 'globex', 'initech', 'tenant', 'exp.arm']) expect(metrics).not.toContain(v);
  });

  it('sums cache-write and reasoning tokens in /api/cost/summary, by a dimension and by a metadata key', async () => {
    const rec = {
      started_at: Date.now() - 1000,
      latency_ms: 100,
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      input_tokens: 400,
      output_tokens: 50,
      team: 'cache-team',
      metadata: { tenant: 'umbrella' },
    };
    const calls = [
      { ...rec, cache_write_input_tokens: 120, reasoning_tokens: 9 },
      { ...rec, cache_write_input_tokens: 30, cached_input_tokens: 100 },
    ];
    const r = await request(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ calls }),
    });
    expect(r.statusCode).toBe(202);
    const ids = ((await r.body.json()) as { request_ids: string[] }).request_ids;
    for (let t = 0; t < 200 && !ids.every((id) => s.calls.some((c) => c.requestId === id)); t++)
      await new Promise((ok) => setTimeout(ok, 25));
    await s.app.ctx.recorder.flush();
    const want = { requests: 2, cached_input_tokens: 100, cache_write_input_tokens: 150, reasoning_tokens: 9 };
    const byTeam = await get('/api/cost/summary?group_by=team');
    expect((byTeam.body.groups as { key: string }[]).find((g) => g.key === 'cache-team')).toMatchObject(want);
    const byTenant = await get('/api/cost/summary?group_by=meta.tenant');
    expect((byTenant.body.groups as { key: string }[]).find((g) => g.key === 'umbrella')).toMatchObject(want);
    expect(byTenant.body.total).toMatchObject({ cache_write_input_tokens: 150, reasoning_tokens: 9 });
  });
});
