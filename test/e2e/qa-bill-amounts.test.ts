// Dollar amounts of bills and cost items are at most ±1e12. Before, any finite number was taken: a bill of two lines
// of 1e308 summed to Infinity, and POST /api/cost/reconciliations answered 500 internal_error (NOT NULL constraint
// failed: reconciliations.gap_ratio); two such cost items were stored (201) and from then on /api/cost/daily's and
// /api/cost/forecast's totals for their month read null.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

describe('bill and cost item amounts', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ config: { gpu: { collector: 'none' } }, app: { modules: [createCostModule] } });
    base = stack.base;
  });
  afterAll(() => stack.close());

  const post = async (path: string, body: string) => {
    const r = await request(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body });
    return { status: r.statusCode, body: (await r.body.json()) as { error?: { code: string; message: string } } };
  };

  it('POST /api/cost/reconciliations refuses a line past 1e12 with 400, and takes one of 1e12', async () => {
    const huge = await post(
      '/api/cost/reconciliations',
      'date,provider,model,amount_usd\n2026-12-01,openai,gpt-4o,1e308\n2026-12-02,openai,gpt-4o,1e308\n',
    );
    expect(huge.status).toBe(400);
    expect(huge.body.error?.message).toBe(
      'line 2: "amount_usd" must be a number from -1000000000000 to 1000000000000, got "1e308"',
    );
    const most = await post(
      '/api/cost/reconciliations',
      'date,provider,model,amount_usd\n2026-12-01,openai,gpt-4o,1e12\n2026-12-02,openai,gpt-4o,-1e12\n',
    );
    expect(most.status).toBe(201);
  });

  it('POST /api/cost/items refuses an item past 1e12, and the month totals stay numbers', async () => {
    const huge = await post(
      '/api/cost/items',
      'date,category,name,amount_usd\n2026-11-01,gpu,x,1e308\n2026-11-01,gpu,y,1e308\n',
    );
    expect(huge.status).toBe(400);
    expect(huge.body.error?.message).toContain('"amount_usd" must be a number from -1000000000000 to 1000000000000');
    expect((await post('/api/cost/items', 'date,category,name,amount_usd\n2026-11-01,gpu,x,12.5\n')).status).toBe(201);
    const daily = await request(`${base}/api/cost/daily?from=2026-11-01&to=2026-11-02`);
    expect(((await daily.body.json()) as { non_api_usd: number | null }).non_api_usd).toBe(12.5);
  });
});
