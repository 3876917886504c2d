// One /api/ingest batch sent to two `llmscope serve` replicas on one PostgreSQL at once (a retry after a timeout that a
// balancer sends to the other replica while the first still records it): it counts once everywhere, as on one
// replica. Before, both replicas found none of its ids in the store (neither had written them yet) and recorded all:
// the calls table kept one row of each, but spend (/api/cost/summary, budgets) and /metrics counted the batch twice.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startPostgres, type TestPostgres } from '../pg.js';
import { getJson, metricValue, parseMetrics, type ServeRun, startServeWithConfig, until } from './helpers.js';

const N = 20;
let pg: TestPostgres;
const runs: ServeRun[] = [];

beforeAll(async () => {
  pg = await startPostgres();
  const url = await pg.freshDatabaseUrl();
  const config = {
    providers: [{ name: 'openai', baseUrl: 'http://127.0.0.1:9/v1' }],
    storage: { url },
    gpu: { collector: 'none' },
    telemetry: { logLevel: 'warn' },
  };
  runs.push(...(await Promise.all([0, 1].map(() => startServeWithConfig({ prefix: 'llmscope-ingest-pg-', config })))));
}, 120_000);
afterAll(async () => {
  await Promise.all(runs.map((r) => r.stop()));
  await pg?.stop();
});

interface Accepted {
  accepted: number;
  request_ids: string[];
  duplicates: string[];
}

it('counts a batch sent to two replicas at once once: in the store, spend and /metrics', async () => {
  const at = Date.now() - 60_000;
  // gpt-4o at $2.50/$10 per 1M: 1000 in, 100 out = $0.0035 a call
  const batch = Array.from({ length: N }, (_, i) => ({
    request_id: `twice-${i}`,
    started_at: at + i,
    provider: 'openai',
    model: 'gpt-4o',
    user: 'ingest-user',
    input_tokens: 1000,
    output_tokens: 100,
  }));
  const post = async (base: string): Promise<Accepted> => {
    const r = await fetch(`${base}/api/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(batch),
    });
    expect(r.status).toBe(202);
    return (await r.json()) as Accepted;
  };
  const answers = await Promise.all(runs.map((r) => post(r.base)));
  expect(answers.reduce((a, x) => a + x.accepted, 0)).toBe(N);
  expect(answers.reduce((a, x) => a + x.duplicates.length, 0)).toBe(N);
  const accepted = answers.flatMap((x) => x.request_ids).sort();
  expect(accepted).toEqual(batch.map((r) => r.request_id).sort());

  for (const run of runs) {
    const listed = await until(async () => {
      const l = await getJson<{ data: unknown[] }>(`${run.base}/api/requests?q=twice-&limit=500`);
      return l.data.length >= N ? l.data : null;
    }, 10_000);
    expect(listed).toHaveLength(N);
    const spend = await until(async () => {
      const s = await getJson<{ total: { requests: number; cost_usd: number } }>(
        `${run.base}/api/cost/summary?group_by=user`,
      );
      return s.total.requests >= N ? s.total : null;
    }, 10_000);
    // settled: a second count would have arrived by now (the same linger as the first)
    await new Promise((r) => setTimeout(r, 500));
    const again = await getJson<{ total: { requests: number; cost_usd: number } }>(
      `${run.base}/api/cost/summary?group_by=user`,
    );
    expect(again.total.requests).toBe(N);
    expect(again.total.cost_usd).toBeCloseTo(N * 0.0035, 9);
    expect(spend.requests).toBe(N);
  }
  // /metrics: each replica counts what it recorded; the two together count the batch once
  let counted = 0;
  for (const run of runs) {
    const m = parseMetrics(await (await fetch(`${run.base}/metrics`)).text());
    counted += metricValue(m, 'llm_requests_total', { provider: 'openai', model: 'gpt-4o' });
  }
  expect(counted).toBe(N);
});

it('counts an OTLP trace export sent to two replicas at once once', async () => {
  const kv = (key: string, v: string | number) => ({
    key,
    value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
  });
  const t0 = BigInt(Date.now() - 30_000) * 1_000_000n;
  // gpt-4o-mini at $0.15/$0.60 per 1M: 1000 in, 100 out = $0.00021 a span
  const spans = Array.from({ length: N }, (_, i) => ({
    traceId: 'ee'.repeat(16),
    spanId: (0x2000000000000000n + BigInt(i)).toString(16),
    name: 'chat gpt-4o-mini',
    kind: 3,
    startTimeUnixNano: String(t0 + BigInt(i) * 1_000_000n),
    endTimeUnixNano: String(t0 + BigInt(i) * 1_000_000n + 500_000_000n),
    attributes: [
      kv('gen_ai.operation.name', 'chat'),
      kv('gen_ai.provider.name', 'openai'),
      kv('gen_ai.request.model', 'gpt-4o-mini'),
      kv('gen_ai.usage.input_tokens', 1000),
      kv('gen_ai.usage.output_tokens', 100),
      kv('user.id', 'otlp-user'),
    ],
  }));
  const body = JSON.stringify({
    resourceSpans: [{ resource: { attributes: [kv('service.name', 'twice')] }, scopeSpans: [{ spans }] }],
  });
  const sent = await Promise.all(
    runs.map((r) =>
      fetch(`${r.base}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }),
    ),
  );
  expect(sent.map((r) => r.status)).toEqual([200, 200]);
  for (const run of runs) {
    const listed = await until(async () => {
      const l = await getJson<{ data: unknown[] }>(`${run.base}/api/requests?q=${'ee'.repeat(16)}&limit=500`);
      return l.data.length >= N ? l.data : null;
    }, 10_000);
    expect(listed).toHaveLength(N);
  }
  await new Promise((r) => setTimeout(r, 1000));
  const s = await getJson<{ groups: { key: string; requests: number; cost_usd: number }[] }>(
    `${runs[0]?.base}/api/cost/summary?group_by=model`,
  );
  const mini = s.groups.find((g) => g.key === 'gpt-4o-mini');
  // A claim that failed (twice) records the export unclaimed: that shows in llmscope_id_claim_failures_total.
  let claimFailures = 0;
  for (const run of runs)
    claimFailures += metricValue(
      parseMetrics(await (await fetch(`${run.base}/metrics`)).text()),
      'llmscope_id_claim_failures_total',
      {},
    );
  expect(mini?.requests, `llmscope_id_claim_failures_total: ${claimFailures}`).toBe(N);
  expect(mini?.cost_usd).toBeCloseTo(N * 0.00021, 9);
  let calls = 0;
  let duplicates = 0;
  for (const run of runs) {
    const m = parseMetrics(await (await fetch(`${run.base}/metrics`)).text());
    calls += metricValue(m, 'llmscope_otlp_spans_total', { result: 'call' });
    duplicates += metricValue(m, 'llmscope_otlp_spans_total', { result: 'duplicate' });
  }
  expect([calls, duplicates]).toEqual([N, N]);
});

it('lists a model without a price on every replica, not only the one that recorded its calls', async () => {
  const [a, b] = runs as [ServeRun, ServeRun];
  const at = Date.now() - 30_000;
  const batch = Array.from({ length: 3 }, (_, i) => ({
    request_id: `unpriced-${i}`,
    started_at: at + i,
    provider: 'openai',
    model: 'acme-private-7b',
    input_tokens: 100,
    output_tokens: 10,
  }));
  const r = await fetch(`${a.base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(batch),
  });
  expect(r.status).toBe(202);
  type Unpriced = { models: { provider: string; model: string; calls: number; last_day: string }[] };
  for (const run of [a, b]) {
    // before, the list was each process's memory: replica b, which recorded none of these calls, listed nothing
    const listed = await until(async () => {
      const u = await getJson<Unpriced>(`${run.base}/api/cost/unpriced`);
      return u.models.find((m) => m.model === 'acme-private-7b') ?? null;
    }, 10_000);
    expect(listed).toMatchObject({ provider: 'openai', model: 'acme-private-7b', calls: 3 });
    expect(listed.last_day).toBe(new Date().toISOString().slice(0, 10));
  }
});
