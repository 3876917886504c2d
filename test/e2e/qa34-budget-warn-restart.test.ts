// A budget's warning is logged once per period, across a restart too (QA34). The warned thresholds were kept in
// memory only, so after a restart the next call re-logged the 80% warning of a budget restored at 98%.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'qa34-warn-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function stack(): Promise<Stack> {
  return startStack({
    config: {
      storage: { url: `sqlite:${join(dir, 'store.db')}` },
      budgets: [{ name: 'team-day', scope: 'team', period: 'day', limit: 1, action: 'alert', warn: [0.8, 1] }],
    },
    app: { modules: [createCostModule] },
  });
}

async function ingest(s: Stack, id: string, costUsd: number): Promise<void> {
  const r = await fetch(`${s.base}/api/ingest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      request_id: id,
      started_at: new Date().toISOString(),
      ended_at: new Date().toISOString(),
      provider: 'openai',
      model: 'gpt-4o',
      endpoint: 'chat.completions',
      status: 'ok',
      input_tokens: 10,
      output_tokens: 10,
      cost_usd: costUsd,
      team: 'search',
    }),
  });
  expect(r.status).toBe(202);
  await s.callOf(id);
  await s.app.ctx.recorder.flush();
}

const warnings = (s: Stack) => s.logs.filter((l) => l.event === 'budget_threshold').map((l) => l.threshold);

describe('budget warnings across a restart', () => {
  it('are not logged again for thresholds the restored spend had passed', async () => {
    const first = await stack();
    await ingest(first, 'qa34-warn-1', 0.9);
    await expect.poll(() => warnings(first)).toEqual([0.8]);
    await first.close();

    const second = await stack();
    await ingest(second, 'qa34-warn-2', 0.05); // 0.95: passes nothing new
    await ingest(second, 'qa34-warn-3', 0.1); // 1.05: passes 1
    await expect.poll(() => warnings(second)).toEqual([1]);
    // Before: [0.8, 1], the 80% warning logged a second time this period.
    expect(warnings(second)).toEqual([1]);
    await second.close();
  });
});
