// An unknown `endpoint` filter on the stats routes is refused as /api/requests refuses it (400 invalid_query naming
// the parameter and the endpoints there are); it answered 200 with zero figures, reading as "no traffic".
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('stats routes refuse an unknown endpoint filter', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ sim: { ttftMs: 1, tpotMs: 0, outputTokens: 3 } });
  });
  afterAll(() => s?.close());

  const get = async (path: string) => {
    const r = await request(`${s.base}${path}`);
    return {
      status: r.statusCode,
      body: (await r.body.json()) as { error?: { code: string; param?: string; message: string } },
    };
  };

  it.each(['/api/stats/summary', '/api/stats/timeseries', '/api/overview', '/api/requests'])('%s', async (path) => {
    const bad = await get(`${path}?endpoint=bogus`);
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_query', param: 'endpoint' });
    expect(bad.body.error?.message).toContain('chat.completions');
    expect((await get(`${path}?endpoint=chat.completions`)).status).toBe(200);
    expect((await get(`${path}?endpoint=`)).status).toBe(200); // empty counts as absent
  });
});
