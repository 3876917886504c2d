// BudgetExceeded fires while a block budget refuses calls (QA34). A `block` budget refuses a call when spend + calls
// in flight + the call's estimate would pass its limit, so its spend can stay under the limit while every call is
// refused (measured: a $0.05 per-user budget refused 15 gpt-4o calls at 97.9% spent) and the default rule (ratio >= 1)
// never fired. The budget signal now reads at least 1 for a block budget that refused a call within the rule's
// window: the alert fires once, stays firing while refusals go on, and resolves once they stop. In one process and
// under `serve --workers 2` (the built CLI; needs `npm run build`), where admissions run in the recorder process.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createAlertsModule } from '../../src/alerts/index.js';
import { createCostModule } from '../../src/cost/index.js';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import { startServeProcess, startStack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'qa34-blocked-alert-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const BUDGETS = [{ name: 'per-user-daily', scope: 'user', period: 'day', limit: 0.05, action: 'block' }];
// The default BudgetExceeded, its window shortened from 5m so the test sees it resolve (8 s: refusals ~0.5 s apart
// keep it firing on a loaded machine).
const ALERTS = { slos: [], evaluationInterval: '1s', overrides: { BudgetExceeded: { window: '8s' } } };

interface AlertsJson {
  firing: { alertname: string; fired_at: string; labels: Record<string, string> }[];
  pending: { alertname: string }[];
  history: { alertname: string; labels: Record<string, string> }[];
}

async function alerts(base: string): Promise<AlertsJson> {
  return (await (await fetch(`${base}/api/alerts`)).json()) as AlertsJson;
}
const budgetAlerts = <T extends { alertname: string }>(a: T[]): T[] =>
  a.filter((x) => x.alertname === 'BudgetExceeded');

/** 97.9% of the user's $0.05 spent (an ingested call): a gpt-4o call of max_tokens 300 (~$0.003) no longer fits. */
async function spendMost(base: string): Promise<void> {
  const now = new Date().toISOString();
  const r = await fetch(`${base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: `qa34-spent-${Math.random().toString(36).slice(2)}`,
      started_at: now,
      ended_at: now,
      provider: 'openai',
      model: 'gpt-4o',
      endpoint: 'chat.completions',
      status: 'ok',
      input_tokens: 10,
      output_tokens: 10,
      cost_usd: 0.04895,
      user: 'bud',
    }),
  });
  expect(r.status).toBe(202);
  await expect
    .poll(
      async () => {
        const b = (await (await fetch(`${base}/api/cost/budgets`)).json()) as {
          budgets: { buckets: { value: string | null; spent_usd: number }[] }[];
        };
        return b.budgets[0]?.buckets.find((x) => x.value === 'bud')?.spent_usd;
      },
      { timeout: 10_000 },
    )
    .toBeCloseTo(0.04895, 8);
}

async function refusedCall(base: string): Promise<void> {
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-llmscope-user': 'bud' },
    body: JSON.stringify({ model: 'gpt-4o', max_tokens: 300, messages: [{ role: 'user', content: 'hello' }] }),
  });
  const body = (await r.json()) as { error: { code: string } };
  expect(r.status).toBe(429);
  expect(body.error.code).toBe('budget_exceeded');
}

/** Refusals for `ms`, one every 500 ms: BudgetExceeded fires once and stays firing (fired_at unchanged); then it resolves. */
async function firesWhileRefusingThenResolves(base: string): Promise<void> {
  await spendMost(base);
  await refusedCall(base);
  // Before: never firing, nor pending (the ratio stays at 0.979).
  await expect
    .poll(async () => budgetAlerts((await alerts(base)).firing).length, { timeout: 10_000, interval: 250 })
    .toBe(1);
  const first = budgetAlerts((await alerts(base)).firing)[0];
  expect(first?.labels.budget).toBe('per-user-daily');
  for (let i = 0; i < 6; i++) {
    await refusedCall(base);
    await new Promise((r) => setTimeout(r, 500));
    const now = budgetAlerts((await alerts(base)).firing);
    expect(now.map((a) => a.fired_at)).toEqual([first?.fired_at]);
  }
  // Refusals stop (spend still under the limit): resolved once the window passes, once.
  await expect
    .poll(async () => budgetAlerts((await alerts(base)).firing).length, { timeout: 30_000, interval: 250 })
    .toBe(0);
  const after = await alerts(base);
  expect(budgetAlerts(after.history)).toHaveLength(1);
  expect(budgetAlerts(after.pending)).toHaveLength(0);
}

describe('BudgetExceeded while a block budget refuses calls under its limit', () => {
  it('fires once, stays firing while refusals go on, resolves when they stop (one process)', async () => {
    const s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 4 },
      config: {
        storage: { url: `sqlite:${join(dir, 'one.db')}` },
        budgets: BUDGETS,
        alerts: ALERTS,
      } as never,
      app: { modules: [createCostModule, createAlertsModule] },
    });
    try {
      await firesWhileRefusingThenResolves(s.base);
    } finally {
      await s.close();
    }
  }, 60_000);

  it('does the same under serve --workers 2', async () => {
    const sim: Simulator = await startSimulator({ port: 0, ttftMs: 0, tpotMs: 0, outputTokens: 4 });
    const file = join(dir, 'llmscope.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        server: { host: '127.0.0.1', port: 0, shutdownGrace: '5s', workers: 2 },
        providers: [{ name: 'sim', baseUrl: sim.url }],
        storage: { url: `sqlite:${join(dir, 'workers.db')}` },
        telemetry: { logLevel: 'warn' },
        gpu: { collector: 'none' },
        budgets: BUDGETS,
        alerts: ALERTS,
      }),
    );
    const serve = await startServeProcess({}, ['-c', file]);
    try {
      await firesWhileRefusingThenResolves(serve.base);
    } finally {
      serve.proc.kill('SIGTERM');
      await new Promise((r) => serve.proc.once('exit', r));
      await sim.close();
    }
  }, 90_000);
});
