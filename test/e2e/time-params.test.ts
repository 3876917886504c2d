// Every /api route that takes a time range reads `from` and `to` the same way (src/time.ts timeParamSchema): epoch
// milliseconds, an ISO 8601 date-time with Z or an offset, or a bare date (midnight UTC); anything else is a 400 in
// the OpenAI error shape that names the parameter, the accepted forms and the value sent. Checked on the assembled
// app with every built-in module, so a route that grows its own parser again is caught here.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { type Stack, startStack } from './helpers.js';

const ROUTES = [
  '/api/requests',
  '/api/users/ann',
  '/api/overview',
  '/api/stats/summary',
  '/api/stats/timeseries',
  '/api/cost/summary',
  '/api/cost/top',
  '/api/cost/timeseries',
  '/api/cost/daily',
  '/api/cost/items',
  '/api/quality/summary',
  '/api/quality/series',
  '/api/quality/review',
  '/api/alerts/noise',
  '/api/gpu',
  '/api/audit',
];

const DAY = 86_400_000;
const D1 = Date.UTC(2026, 11, 1);

/** One window, `2026-12-01` to `2026-12-02`, in each accepted form. */
const FORMS: [string, string, string][] = [
  ['date only', '2026-12-01', '2026-12-02'],
  ['ISO date-time, Z', '2026-12-01T00:00:00Z', '2026-12-02T00:00:00.000Z'],
  ['ISO date-time, offset', '2026-12-01T01:00:00+01:00', '2026-12-01T19:00:00-05:00'],
  ['epoch milliseconds', String(D1), String(D1 + DAY)],
];

const BAD = ['yesterday', '2026-13-45', '2026-02-30', '12/01/2026', '2026-12-01T10:00:00', '-5', '1.5e12', '2026-12'];

const FORMS_MESSAGE =
  /expected an ISO 8601 date-time with Z or an offset \(e\.g\. 2026-01-31T12:00:00Z\), a date \(2026-01-31, midnight UTC\) or epoch milliseconds/;

describe('time range query parameters on every /api route', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({ app: { modules: builtinModules() } });
    // /api/users/:id is a 404 for a user with no call at all, so give "ann" one.
    const r = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-llmscope-user': 'ann' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.dump();
    for (let i = 0; ; i++) {
      const u = await request(`${s.base}/api/users/ann`);
      await u.body.dump();
      if (u.statusCode === 200) break;
      if (i > 100) throw new Error('the call from ann never reached the store');
      await new Promise((res) => setTimeout(res, 50));
    }
  });
  afterAll(async () => {
    await s?.close();
  });

  const get = async (path: string) => {
    const r = await request(`${s.base}${path}`);
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes
    return { status: r.statusCode, body: (await r.body.json()) as any };
  };

  for (const route of ROUTES) {
    it(`${route} accepts a date, an ISO date-time and epoch ms, and refuses anything else by name`, async () => {
      for (const [form, from, to] of FORMS) {
        const r = await get(`${route}?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
        expect(r.status, `${route} ${form}: ${JSON.stringify(r.body)}`).toBe(200);
      }
      for (const bad of BAD) {
        const r = await get(`${route}?from=${encodeURIComponent(bad)}`);
        expect(r.status, `${route} from=${bad}`).toBe(400);
        expect(r.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_query', param: 'from' });
        expect(r.body.error.message).toMatch(FORMS_MESSAGE);
        expect(r.body.error.message).toContain(`invalid query parameter "from": expected`);
        expect(r.body.error.message).toContain(`got "${bad}"`);
      }
      const r = await get(`${route}?from=2026-12-01&to=soon`);
      expect(r.status).toBe(400);
      expect(r.body.error).toMatchObject({ code: 'invalid_query', param: 'to' });
      expect(r.body.error.message).toMatch(FORMS_MESSAGE);
    });
  }

  it('reads a date as midnight UTC, the same instant as its ISO date-time and epoch forms', async () => {
    // /api/cost/daily echoes its window as days, so the three forms must land on the same ones.
    for (const [, from, to] of [FORMS[0], FORMS[1], FORMS[3]] as [string, string, string][]) {
      const r = await get(`/api/cost/daily?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`);
      expect(r.body).toMatchObject({ from: '2026-12-01', to: '2026-12-01' });
    }
    // /api/quality/summary echoes its window as ISO times.
    const q = await get('/api/quality/summary?from=2026-12-01&to=2026-12-02');
    expect(q.body).toMatchObject({ from: '2026-12-01T00:00:00.000Z', to: '2026-12-02T00:00:00.000Z' });
  });
});
