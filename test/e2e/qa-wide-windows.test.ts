// A window's size is bounded where the answer has a row per step: GET /api/stats/timeseries?from=0&to=9999-12-31
// (70 million hourly points) ran the server out of memory and ended it, gateway and all, and GET /api/cost/daily
// from 0001-01-01 to 9999-12-31 held the event loop for 30 s and answered 277 MB. Both are now 400 invalid_query,
// as /api/overview and /api/cost/timeseries already answered such windows; windows within the bound still answer.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCostModule } from '../../src/cost/index.js';
import { type Stack, startStack } from './helpers.js';

describe('wide windows', () => {
  let stack: Stack;
  let base: string;

  beforeAll(async () => {
    stack = await startStack({ config: { gpu: { collector: 'none' } }, app: { modules: [createCostModule] } });
    base = stack.base;
  });
  afterAll(() => stack.close());

  const get = async (path: string) => {
    const r = await request(base + path);
    const body = (await r.body.json()) as { error?: { code: string; param: string } };
    return [r.statusCode, body.error?.code ?? null, body.error?.param ?? null];
  };

  it('GET /api/stats/timeseries: at most 20,000 points', async () => {
    const to = Date.UTC(2026, 0, 31);
    expect(await get(`/api/stats/timeseries?from=${to - 30 * 86_400_000}&to=${to}&step=minute`)).toEqual([
      400,
      'invalid_query',
      'step',
    ]);
    expect(await get('/api/stats/timeseries?from=0&to=253402300799999')).toEqual([400, 'invalid_query', 'step']);
    expect(await get(`/api/stats/timeseries?from=${to - 30 * 86_400_000}&to=${to}&step=hour`)).toEqual([
      200,
      null,
      null,
    ]);
  });

  it('GET /api/cost/daily: at most 10,000 days', async () => {
    expect(await get('/api/cost/daily?from=1990-01-01&to=2026-01-01')).toEqual([400, 'invalid_query', 'from']);
    expect(await get('/api/cost/daily?from=0001-01-01&to=9999-12-31')).toEqual([400, 'invalid_query', 'from']);
    expect(await get('/api/cost/daily?from=2000-01-01&to=2026-01-01')).toEqual([200, null, null]);
  });
});
