// Cost end to end: the official openai client through llmscope against the simulator. Calls priced exactly (cached
// input included), a cancelled stream charged for what it produced, an unknown model left unpriced and counted,
// 50 concurrent calls against a budget with room for 10, a virtual key's attribution over headers, spend
// summaries, and reconciliation through the API and the CLI.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import type { DestinationStream } from 'pino';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LlmCall, Sink } from '../../src/calls/index.js';
import { reconcileCommand } from '../../src/cli/reconcile.js';
import type { ConfigInput } from '../../src/config/index.js';
import { estimateInputTokens } from '../../src/cost/budgets.js';
import { costOf, createCostModule, hashKey, PriceBook } from '../../src/cost/index.js';
import { type App, createApp } from '../../src/server.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { configOf, metricValue, parseMetrics } from './helpers.js';

interface CostStack {
  sim: Simulator;
  app: App;
  base: string;
  logs: Record<string, unknown>[];
  calls: LlmCall[];
  /** Waits until every recorded call reached every sink (cost aggregates included). */
  settle(n: number): Promise<LlmCall[]>;
  close(): Promise<void>;
}

async function startCostStack(sim: SimulatorOptions, config: Partial<ConfigInput> = {}): Promise<CostStack> {
  const simulator = await startSimulator({ port: 0, seed: 3, ...sim });
  const logs: Record<string, unknown>[] = [];
  const destination: DestinationStream = {
    write(line: string) {
      for (const l of line.split('\n')) if (l) logs.push(JSON.parse(l));
    },
  };
  const calls: LlmCall[] = [];
  const capture: Sink = { name: 'test-capture', write: (b) => void calls.push(...b) };
  const cfg = configOf({
    server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s' },
    providers: [{ name: 'openai', baseUrl: simulator.url }],
    storage: { url: 'sqlite::memory:' },
    telemetry: { logLevel: 'info' },
    gpu: { collector: 'none' },
    ...config,
  } as ConfigInput);
  const app = await createApp(cfg, {
    modules: [createCostModule],
    logDestination: destination,
    sinks: [capture],
  });
  const base = await app.listen();
  return {
    sim: simulator,
    app,
    base,
    logs,
    calls,
    async settle(n) {
      const deadline = Date.now() + 10_000;
      while (calls.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      await app.ctx.recorder.flush();
      if (calls.length < n) throw new Error(`only ${calls.length} of ${n} calls recorded`);
      return calls;
    },
    async close() {
      await app.close();
      await simulator.close();
    },
  };
}

const client = (base: string, headers: Record<string, string> = {}, apiKey = 'sk-test-not-a-real-key') =>
  new OpenAI({ baseURL: `${base}/v1`, apiKey, maxRetries: 0, defaultHeaders: headers });

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await request(url);
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

const prices = new PriceBook({ catalog: true, models: [], aliases: {} });
/** What a call should cost from its own usage, by the catalog. */
const expected = (c: LlmCall) =>
  costOf(
    { input: c.inputTokens ?? 0, cachedInput: c.cachedInputTokens ?? 0, output: c.outputTokens ?? 0 },
    prices.resolve(c.model, c.provider, c.startedAt)?.base ?? {
      input: Number.NaN,
      cachedInput: 0,
      output: 0,
      cacheWrite: null,
    },
  );

describe('cost of calls through the gateway', () => {
  let s: CostStack;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'llmscope-cost-'));
    s = await startCostStack(
      { ttftMs: 5, tpotMs: 2, outputTokens: 30 },
      { storage: { url: `sqlite:${join(dir, 'data.db')}` } },
    );
  });
  afterAll(() => s.close());

  it('prices input, cached input and output exactly, streamed or not, and stores the prices applied', async () => {
    const c = client(s.base, {
      'x-simulator-cached-tokens': '24',
      'x-llmscope-user': 'ann',
      'x-llmscope-feature': 'faq',
    });
    const prompt = 'Summarise the following support ticket in one line. '.repeat(8);
    const r = await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: prompt }] });
    expect(r.usage?.prompt_tokens_details?.cached_tokens).toBe(24);
    const stream = await c.chat.completions.create({
      model: 'gpt-4o-2024-08-06',
      messages: [{ role: 'user', content: prompt }],
      stream: true,
    });
    for await (const _ of stream) {
      /* drain */
    }
    const [plain, streamed] = await s.settle(2);
    for (const call of [plain, streamed] as LlmCall[]) {
      expect(call.tokenSource).toBe('usage');
      expect(call.cachedInputTokens).toBe(24);
      expect(call.costUsd).toBeGreaterThan(0);
      expect(call.costUsd).toBeCloseTo(expected(call), 15);
    }
    // 0.15, 0.075 and 0.60 USD per 1M tokens: gpt-4o-mini's catalog prices.
    const uncached = (plain?.inputTokens ?? 0) - 24;
    expect(plain?.costUsd).toBeCloseTo((uncached * 0.15 + 24 * 0.075 + 30 * 0.6) / 1e6, 15);
    expect(streamed?.price?.source).toBe('openai/gpt-4o');
    const stored = await getJson(`${s.base}/api/requests/${plain?.requestId}`);
    expect(stored.body.cost_usd).toBeCloseTo(plain?.costUsd ?? 0, 15);
    expect(stored.body.price).toEqual({
      input: 0.15e-6,
      cached_input: 0.075e-6,
      output: 0.6e-6,
      source: 'openai/gpt-4o-mini',
    });
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llm_cost_usd_total', { model: 'gpt-4o-mini', feature: 'faq' })).toBeCloseTo(
      plain?.costUsd ?? 0,
      12,
    );
    expect(metricValue(m, 'llm_user_cost_usd_total', { user: 'ann' })).toBeCloseTo(
      (plain?.costUsd ?? 0) + (streamed?.costUsd ?? 0),
      12,
    );
  });

  it('charges a cancelled stream for the tokens it produced', async () => {
    const before = s.calls.length;
    const ac = new AbortController();
    const res = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-simulator-output-tokens': '400', 'x-simulator-tpot-ms': '10' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'tell me a long story' }],
        stream: true,
      }),
      signal: ac.signal,
    });
    let text = '';
    try {
      for await (const chunk of res.body) {
        text += chunk.toString();
        if ((text.match(/"content":"[^"]/g) ?? []).length >= 12) ac.abort();
      }
    } catch {
      /* aborted */
    }
    const calls = await s.settle(before + 1);
    const call = calls[before] as LlmCall;
    expect(call.status).toBe('cancelled');
    expect(call.tokenSource).toBe('tokenizer');
    expect(call.outputTokens).toBeGreaterThanOrEqual(12);
    expect(call.outputTokens).toBeLessThan(400);
    expect(call.costUsd).toBeGreaterThan(0);
    expect(call.costUsd).toBeCloseTo(expected(call), 15);
  });

  it('leaves an unknown model unpriced (null), counts it and warns once', async () => {
    const before = s.calls.length;
    const c = client(s.base);
    for (let i = 0; i < 2; i++)
      await c.chat.completions.create({ model: 'acme-internal-13b', messages: [{ role: 'user', content: 'hi' }] });
    const calls = await s.settle(before + 2);
    for (const call of calls.slice(before)) {
      expect(call.costUsd).toBeNull();
      expect(call.price).toBeNull();
    }
    const stored = await getJson(`${s.base}/api/requests/${calls[before]?.requestId}`);
    expect(stored.body.cost_usd).toBeNull();
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llmscope_unpriced_calls_total', { model: 'acme-internal-13b' })).toBe(2);
    expect(s.logs.filter((l) => l.event === 'unpriced_model' && l.model === 'acme-internal-13b')).toHaveLength(1);
    const unpriced = await getJson(`${s.base}/api/cost/unpriced`);
    expect(unpriced.body.models).toContainEqual(
      expect.objectContaining({ provider: 'openai', model: 'acme-internal-13b', calls: 2 }),
    );
  });

  it('serves spend by user, feature, model, day, top spenders, time series and forecast', async () => {
    await s.settle(s.calls.length);
    const priced = s.calls.filter((c) => c.costUsd !== null);
    const total = priced.reduce((a, c) => a + (c.costUsd ?? 0), 0);
    const byUser = await getJson(`${s.base}/api/cost/summary?group_by=user`);
    expect(byUser.status).toBe(200);
    const t = byUser.body.total as { cost_usd: number; requests: number; unpriced_requests: number };
    expect(t.cost_usd).toBeCloseTo(total, 9);
    expect(t.requests).toBe(s.calls.length);
    expect(t.unpriced_requests).toBe(2);
    const groups = byUser.body.groups as { key: string | null; cost_usd: number }[];
    expect(groups.find((g) => g.key === 'ann')?.cost_usd).toBeCloseTo(
      s.calls.filter((c) => c.user === 'ann').reduce((a, c) => a + (c.costUsd ?? 0), 0),
      12,
    );
    expect(byUser.body.month_to_date_usd).toBeCloseTo(total, 9);
    // this store's calls are seconds old: too little spend history to forecast a month from
    expect(byUser.body.forecast_month_end_usd).toBeNull();
    expect(byUser.body.forecast_basis).toBe('too_little_history');
    const byDay = await getJson(`${s.base}/api/cost/summary?group_by=day`);
    expect((byDay.body.groups as { key: string }[])[0]?.key).toBe(new Date().toISOString().slice(0, 10));
    const top = await getJson(`${s.base}/api/cost/top?dimension=model&limit=1`);
    expect((top.body.top as { key: string }[])[0]?.key).toBe('gpt-4o-2024-08-06');
    const series = await getJson(`${s.base}/api/cost/timeseries?step=minute&from=${Date.now() - 10 * 60_000}`);
    const points = series.body.points as { cost_usd: number; cost_per_request: number | null }[];
    expect(points.reduce((a, p) => a + p.cost_usd, 0)).toBeCloseTo(total, 9);
    expect(points.some((p) => p.cost_per_request !== null)).toBe(true);
    const bad = await getJson(`${s.base}/api/cost/summary?group_by=prompt`);
    expect(bad.status).toBe(400);
    expect((bad.body.error as { code: string }).code).toBe('invalid_query');
  });

  it('reconciles a bill through the API and the CLI, naming the untracked day and the unpriced model', async () => {
    await s.settle(s.calls.length);
    const today = new Date().toISOString().slice(0, 10);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const byModel = new Map<string, number>();
    for (const c of s.calls) byModel.set(c.model, (byModel.get(c.model) ?? 0) + (c.costUsd ?? 0));
    const lines = ['date,provider,model,amount_usd'];
    for (const [model, usd] of byModel) if (usd > 0) lines.push(`${today},openai,${model},${usd}`);
    lines.push(`${today},openai,acme-internal-13b,0.25`, `${yesterday},openai,gpt-4o-mini,0.75`);
    const bill = lines.join('\n');
    const r = await request(`${s.base}/api/cost/reconciliations`, {
      method: 'POST',
      body: bill,
      headers: { 'content-type': 'text/csv' },
    });
    expect(r.statusCode).toBe(201);
    const posted = (await r.body.json()) as {
      id: string;
      gap_usd: number;
      report: { causes: { kind: string; days?: string[]; models?: string[] }[] };
    };
    expect(posted.gap_usd).toBeCloseTo(1, 9);
    expect(posted.report.causes.find((c) => c.kind === 'untracked_days')?.days).toEqual([yesterday]);
    expect(posted.report.causes.find((c) => c.kind === 'unpriced_models')?.models).toEqual(['acme-internal-13b']);
    const list = await getJson(`${s.base}/api/cost/reconciliations`);
    expect((list.body.reconciliations as { id: string }[])[0]?.id).toBe(posted.id);
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llm_reconciliation_gap_ratio', { provider: 'openai' })).toBeGreaterThan(0);

    const billFile = join(dir, 'bill.csv');
    writeFileSync(billFile, bill);
    const configFile = join(dir, 'llmscope.yaml');
    writeFileSync(configFile, `storage:\n  url: sqlite:${join(dir, 'data.db')}\n`);
    let out = '';
    await reconcileCommand({ bill: billFile, config: configFile }, { out: (x) => (out += x), env: {} });
    expect(out).toMatch(/gap +\$1\.00 \(/);
    expect(out).toContain('untracked_days');
    expect(out).toContain('acme-internal-13b');
    const after = await getJson(`${s.base}/api/cost/reconciliations`);
    expect((after.body.reconciliations as unknown[]).length).toBe(2);
    await expect(
      reconcileCommand({ bill: join(dir, 'nope.csv'), config: configFile }, { out: () => {}, env: {} }),
    ).rejects.toThrow(/no bill at/);
  });
});

describe('budgets through the gateway', () => {
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }], max_tokens: 20 };
  const estimate = costOf(
    { input: estimateInputTokens(body, 'chat.completions'), cachedInput: 0, output: 20 },
    { input: 0.15, cachedInput: 0.075, output: 0.6, cacheWrite: null },
  );
  let s: CostStack;

  beforeAll(async () => {
    s = await startCostStack(
      { ttftMs: 150, tpotMs: 1, outputTokens: 20 },
      { budgets: [{ name: 'team-search-daily', scope: 'team', match: 'search', period: 'day', limit: estimate * 10 }] },
    );
  });
  afterAll(() => s.close());

  it('holds under 50 concurrent calls with room for 10, and the 429 names the budget', async () => {
    const c = client(s.base, { 'x-llmscope-team': 'search' });
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => c.chat.completions.create(body)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const e of refused) {
      expect(e).toBeInstanceOf(OpenAI.APIError);
      expect(e.status).toBe(429);
      expect(e.code).toBe('budget_exceeded');
      expect(e.type).toBe('budget_exceeded');
      expect(e.message).toContain('budget "team-search-daily" for team "search"');
      expect(Number(e.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(e.headers.get('x-llmscope-budget')).toBe('team-search-daily');
    }
    const calls = await s.settle(50);
    const spent = calls.reduce((a, x) => a + (x.costUsd ?? 0), 0);
    // Overshoot is bounded by what calls cost beyond their reservations; here every call cost at most its estimate.
    expect(spent).toBeLessThanOrEqual(estimate * 10 + 1e-15);
    expect(calls.filter((x) => x.errorType === 'budget_exceeded')).toHaveLength(40);
    const budgets = await getJson(`${s.base}/api/cost/budgets`);
    const b = (
      budgets.body.budgets as {
        name: string;
        buckets: { spent_usd: number; reserved_usd: number; in_flight: number }[];
      }[]
    )[0];
    expect(b?.name).toBe('team-search-daily');
    expect(b?.buckets[0]?.spent_usd).toBeCloseTo(spent, 15);
    expect(b?.buckets[0]).toMatchObject({ reserved_usd: 0, in_flight: 0 });
    const m = parseMetrics(await (await request(`${s.base}/metrics`)).body.text());
    expect(metricValue(m, 'llm_budget_spend_ratio', { budget: 'team-search-daily' })).toBeCloseTo(
      spent / (estimate * 10),
      9,
    );
    expect(metricValue(m, 'llmscope_budget_blocked_total', { budget: 'team-search-daily' })).toBe(40);
    // Other teams are not in this budget's scope.
    await client(s.base, { 'x-llmscope-team': 'ads' }).chat.completions.create(body);
  });
});

describe('virtual keys through the gateway', () => {
  const KEY = 'lsk_e2e_search_prod_0123456789';
  let s: CostStack;
  const upstreamAuth: (string | undefined)[] = [];

  beforeAll(async () => {
    s = await startCostStack(
      { ttftMs: 1, tpotMs: 1, outputTokens: 5 },
      { keys: [{ id: 'search-prod', hash: hashKey(KEY), user: 'svc-search', team: 'search' }] },
    );
    s.sim.events.on('request', (r) => upstreamAuth.push(r.headers.authorization as string | undefined));
  });
  afterAll(() => s.close());

  it('attributes by the key over x-llmscope-user, and never forwards the key', async () => {
    const c = client(s.base, { 'x-llmscope-user': 'mallory', 'x-llmscope-team': 'finance' }, KEY);
    await c.chat.completions.create({
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: 'hi' }],
      user: 'mallory',
    });
    const [call] = await s.settle(1);
    expect(call).toMatchObject({ user: 'svc-search', team: 'search', apiKeyId: 'search-prod' });
    expect(upstreamAuth).toEqual([undefined]);
    const byKey = await getJson(`${s.base}/api/cost/summary?group_by=key`);
    expect((byKey.body.groups as { key: string }[])[0]?.key).toBe('search-prod');
  });

  it('answers 401 invalid_api_key for an unknown key, a provider key, or none', async () => {
    for (const apiKey of ['lsk_not_a_key', 'sk-proj-real-looking']) {
      const err = await client(s.base, {}, apiKey)
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_api_key');
    }
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.statusCode).toBe(401);
    expect(((await r.body.json()) as { error: { code: string } }).error.code).toBe('invalid_api_key');
    expect(upstreamAuth).toHaveLength(1);
  });
});

describe('budget figures', () => {
  it('are dollars to the nano-dollar: $0.10 + $0.20 spent is 0.3, not 0.30000000000000004', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmscope-cost-r9-'));
    const s = await startCostStack(
      { ttftMs: 1, tpotMs: 1, outputTokens: 5 },
      {
        storage: { url: `sqlite:${join(dir, 'data.db')}` },
        budgets: [{ name: 'fp-daily', scope: 'user', period: 'day', limit: 3, action: 'block' }],
      },
    );
    try {
      for (const cost of [0.1, 0.2]) {
        const r = await request(`${s.base}/api/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            started_at: new Date().toISOString(),
            provider: 'openai',
            model: 'gpt-4o-mini',
            input_tokens: 10,
            output_tokens: 5,
            cost_usd: cost,
            user: 'fp',
          }),
        });
        expect(r.statusCode).toBeLessThan(300);
        await r.body.dump();
      }
      await s.settle(2);
      const budgets = await getJson(`${s.base}/api/cost/budgets`);
      const [b] = budgets.body.budgets as { ratio: number; buckets: { spent_usd: number; ratio: number }[] }[];
      expect(b?.buckets).toEqual([expect.objectContaining({ value: 'fp', spent_usd: 0.3, ratio: 0.1 })]);
      expect(b?.ratio).toBe(0.1);
    } finally {
      await s.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('ingested calls, restarts and total cost by day', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-cost-restart-'));
  const config: Partial<ConfigInput> = {
    storage: { url: `sqlite:${join(dir, 'data.db')}` },
    budgets: [{ name: 'per-user-daily', scope: 'user', period: 'day', limit: 1, action: 'block' }],
    costs: { fixed: [{ name: 'observability-seats', monthlyUsd: 310 }] },
  };

  it('prices ingested calls, counts them against budgets, and remembers spend across a restart', async () => {
    let s = await startCostStack({ ttftMs: 1, tpotMs: 1, outputTokens: 5 }, config);
    const ingest = await request(`${s.base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        started_at: new Date().toISOString(),
        provider: 'anthropic',
        model: 'claude-3-5-haiku-20241022',
        input_tokens: 1_000_000,
        output_tokens: 100_000,
        user: 'ing',
      }),
    });
    expect(ingest.statusCode).toBeLessThan(300);
    const [call] = await s.settle(1);
    // 1M input × $0.80/M + 100K output × $4/M
    expect(call?.costUsd).toBeCloseTo(1.2, 12);
    const budgets = await getJson(`${s.base}/api/cost/budgets`);
    const b = (budgets.body.budgets as { buckets: { value: string; spent_usd: number }[] }[])[0];
    expect(b?.buckets).toContainEqual(expect.objectContaining({ value: 'ing', spent_usd: 1.2 }));
    await s.close();

    s = await startCostStack({ ttftMs: 1, tpotMs: 1, outputTokens: 5 }, config);
    try {
      const err = await client(s.base, { 'x-llmscope-user': 'ing' })
        .chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })
        .catch((e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(429);
      expect((err as Error).message).toContain('budget "per-user-daily" for user "ing"');
      await client(s.base, { 'x-llmscope-user': 'other' }).chat.completions.create({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'hi' }],
      });
      await s.settle(2);

      const items = await request(`${s.base}/api/cost/items`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv' },
        body: `date,name,amount_usd,category\n${new Date().toISOString().slice(0, 10)},pinecone,4.5,vector_db`,
      });
      expect(items.statusCode).toBe(201);
      const daily = await getJson(`${s.base}/api/cost/daily?from=${new Date().toISOString().slice(0, 10)}`);
      const today = (
        daily.body.days as { api_usd: number; non_api: { name: string; amount_usd: number }[]; total_usd: number }[]
      )[0];
      const api = s.calls.reduce((a, c) => a + (c.costUsd ?? 0), 0) + 1.2;
      expect(today?.api_usd).toBeCloseTo(api, 9);
      expect(today?.non_api.find((l) => l.name === 'pinecone')?.amount_usd).toBe(4.5);
      const seats = today?.non_api.find((l) => l.name === 'observability-seats')?.amount_usd ?? 0;
      expect(seats).toBeGreaterThan(0);
      expect(seats).toBeLessThanOrEqual(310 / 28);
      expect(today?.total_usd).toBeCloseTo(api + 4.5 + seats, 9);
    } finally {
      await s.close();
    }
  });
});

describe('ingesting a call twice', () => {
  it('counts it once in the store and in spend, and says which ids were duplicates', async () => {
    const s = await startCostStack({ ttftMs: 1, tpotMs: 1, outputTokens: 5 });
    try {
      const record = {
        request_id: 'dup-1',
        started_at: new Date().toISOString(),
        provider: 'openai',
        model: 'gpt-4o-mini',
        input_tokens: 1_000_000,
        output_tokens: 0,
      };
      const post = async (body: unknown) => {
        const r = await request(`${s.base}/api/ingest`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        expect(r.statusCode).toBe(202);
        return (await r.body.json()) as { accepted: number; request_ids: string[]; duplicates: string[] };
      };
      // Twice in one body, then the whole body again (a client retrying after a timeout).
      const other = { ...record, request_id: 'dup-2' };
      expect(await post({ calls: [record, record, other] })).toEqual({
        accepted: 2,
        request_ids: ['dup-1', 'dup-2'],
        duplicates: ['dup-1'],
      });
      await s.settle(2);
      expect(await post({ calls: [record, other] })).toEqual({
        accepted: 0,
        request_ids: [],
        duplicates: ['dup-1', 'dup-2'],
      });
      await s.app.ctx.recorder.flush();
      const summary = await getJson(`${s.base}/api/cost/summary`);
      const total = summary.body.total as { cost_usd: number; requests: number };
      // 2 calls × 1M input tokens × $0.15/M
      expect(total.requests).toBe(2);
      expect(total.cost_usd).toBeCloseTo(0.3, 12);
      expect((await s.app.ctx.store.listCalls({})).items).toHaveLength(2);
    } finally {
      await s.close();
    }
  });
});
