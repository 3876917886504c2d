// Reconciliation's day range, as a user types it: a day that is not on the calendar (2025-13-01, 2025-02-30) or a
// range that ends before it starts is refused with a message naming the parameter, by the command and by
// POST /api/cost/reconciliations. Before, the shape alone was checked: the command printed "Invalid time value"
// (or reported on 2025-03-02 for 2025-02-30), the API answered 500 internal_error, and a reversed range gave an
// empty report.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reconcileCommand } from '../../src/cli/reconcile.js';
import { createCostModule, SqliteSpendStore } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

const BILL = 'date,provider,model,amount_usd\n2025-06-01,mistral,mistral-large-latest,12.40\n';

describe('reconcile: the day range', () => {
  const dir = mkdtempSync(join(tmpdir(), 'llmscope-qa-reconcile-'));
  const billFile = join(dir, 'bill.csv');
  const configFile = join(dir, 'llmscope.yaml');
  let stack: Stack;
  let base: string;

  beforeAll(async () => {
    writeFileSync(billFile, BILL);
    writeFileSync(configFile, `storage:\n  url: sqlite:${join(dir, 'data.db')}\n`);
    const db = new Database(join(dir, 'data.db')); // a store with its spend tables, as serve leaves one
    new SqliteSpendStore(db);
    db.close();
    stack = await startStack({ config: { gpu: { collector: 'none' } }, app: { modules: [createCostModule] } });
    base = stack.base;
  });
  afterAll(() => stack.close());

  it('the command names --from or --to for a day not on the calendar and for a reversed range', async () => {
    const run = (from: string, to?: string) =>
      reconcileCommand({ bill: billFile, config: configFile, from, to, save: false }, { out: () => {}, env: {} });
    await expect(run('2025-13-01')).rejects.toThrow('--from must be a date like 2025-06-01, got "2025-13-01"');
    await expect(run('2025-02-30')).rejects.toThrow('--from must be a date like 2025-06-01, got "2025-02-30"');
    await expect(run('2025-06-01', '2025-06-31')).rejects.toThrow('--to must be a date');
    await expect(run('2025-06-30', '2025-06-01')).rejects.toThrow('--from must not be after --to');
  });

  it('POST /api/cost/reconciliations answers 400 invalid_query naming the parameter', async () => {
    for (const [query, param] of [
      ['from=2025-13-01', 'from'],
      ['from=2025-02-30', 'from'],
      ['to=2025-06-31', 'to'],
      ['from=2025-06-30&to=2025-06-01', 'from'],
    ]) {
      const r = await request(`${base}/api/cost/reconciliations?${query}&save=false`, {
        method: 'POST',
        body: BILL,
        headers: { 'content-type': 'text/csv' },
      });
      const body = (await r.body.json()) as { error: { code: string; param: string } };
      expect([query, r.statusCode, body.error.code, body.error.param]).toEqual([query, 400, 'invalid_query', param]);
    }
    const ok = await request(`${base}/api/cost/reconciliations?from=2025-06-01&to=2025-06-30&save=false`, {
      method: 'POST',
      body: BILL,
      headers: { 'content-type': 'text/csv' },
    });
    expect(ok.statusCode).toBe(201);
    await ok.body.dump();
  });

  // The report has a row per day: a bill or a range from 0001-01-01 to 9999-12-31 held the event loop for 90 s
  // (GET /healthz waited all that time) and made a 296 MB answer. A reconciliation covers at most 1,096 days.
  it('refuses more than 1,096 days, from the bill or from the range, in the command and the API', async () => {
    const post = async (query: string, bill = BILL) => {
      const r = await request(`${base}/api/cost/reconciliations?${query}save=false`, {
        method: 'POST',
        body: bill,
        headers: { 'content-type': 'text/csv' },
      });
      return { status: r.statusCode, body: (await r.body.json()) as { error?: { code: string; message: string } } };
    };
    const wide = await post('from=2000-01-01&to=2025-12-31&');
    expect([wide.status, wide.body.error?.code]).toEqual([400, 'invalid_body']);
    expect(wide.body.error?.message).toMatch(/2000-01-01 … 2025-12-31 is 9497 days; .* at most 1096/);
    const longBill = `${BILL}2028-06-01,mistral,mistral-large-latest,1.00\n`;
    expect((await post('', longBill)).status).toBe(400);
    expect((await post('from=2025-06-01&to=2025-06-30&', longBill)).status).toBe(201);
    expect((await post('from=2024-01-01&to=2026-12-31&')).status).toBe(201); // 1,096 days
    await expect(
      reconcileCommand(
        { bill: billFile, config: configFile, from: '2000-01-01', to: '2025-12-31', save: false },
        { out: () => {}, env: {} },
      ),
    ).rejects.toThrow(/is 9497 days; a reconciliation covers at most 1096/);
  });
});
