// POST /api/cost/items with an empty body (curl -d @missing-file sends one, with only a warning) answered
// 201 {"imported": 0}, as if a file had been imported; it is now 400 invalid_body saying what to send.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

describe('POST /api/cost/items', () => {
  let stack: Stack;
  let base: string;
  beforeAll(async () => {
    stack = await startStack({ config: { gpu: { collector: 'none' } }, app: { modules: [createCostModule] } });
    base = stack.base;
  });
  afterAll(() => stack.close());

  const post = async (body: string) => {
    const r = await request(`${base}/api/cost/items`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'text/csv' },
    });
    const j = (await r.body.json()) as { imported?: number; error?: { code: string; message: string } };
    return [r.statusCode, j.imported ?? j.error?.code];
  };

  it('refuses an empty body, and still imports a file', async () => {
    expect(await post('')).toEqual([400, 'invalid_body']);
    expect(await post(' \n')).toEqual([400, 'invalid_body']);
    expect(await post('date,name,amount_usd\n2026-01-05,vector-db,120\n')).toEqual([201, 1]);
  });
});
