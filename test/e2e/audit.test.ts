// The audit log on the assembled app: what modules record through ctx.audit comes back from GET /api/audit (newest
// first, filtered, paged), with who, when, what, from where and how it ended; and nothing in the API can change it.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Stack, startStack } from './helpers.js';

describe('audit log API', () => {
  let s: Stack;
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(async () => {
    await s?.close();
  });

  const get = async (q: string) => {
    const r = await request(`${s.base}/api/audit${q}`);
    // biome-ignore lint/suspicious/noExplicitAny: JSON answers of several shapes
    return { status: r.statusCode, body: (await r.body.json()) as any };
  };

  it('lists what was recorded, newest first, with who, what, from where, and filters and pages', async () => {
    const fakeReq = (ua: string) =>
      ({ headers: { 'user-agent': ua }, socket: { remoteAddress: '::ffff:10.1.2.3' } }) as never;
    await s.app.ctx.audit.record(
      { req: fakeReq('curl/8'), principal: { name: 'ann', role: 'operator' } },
      { action: 'silence.create', target: 'silence:s1', detail: { matchers: 1 } },
    );
    await s.app.ctx.audit.record('cli', { action: 'key.create', target: 'key:k1' });
    await s.app.ctx.audit.record({ req: fakeReq('Mozilla/5.0') }, { action: 'login', result: 'denied' });
    for (let i = 0; i < 5; i++)
      await s.app.ctx.audit.record(
        { req: fakeReq('x'), principal: { name: 'bob', role: 'admin' } },
        { action: 'budget.update', target: `budget:b${i}` },
      );

    const all = await get('');
    expect(all.status).toBe(200);
    expect(all.body.data).toHaveLength(8);
    expect(all.body.data[7]).toMatchObject({
      actor: 'ann',
      role: 'operator',
      action: 'silence.create',
      target: 'silence:s1',
      ip: '10.1.2.3',
      user_agent: 'curl/8',
      result: 'ok',
      detail: { matchers: 1 },
    });
    expect(Date.parse(all.body.data[7].time)).toBeGreaterThan(Date.now() - 60_000);
    expect(all.body.data[6]).toMatchObject({ actor: 'cli', role: null, action: 'key.create', ip: null });
    expect(all.body.data[5]).toMatchObject({ actor: 'anonymous', action: 'login', result: 'denied' });

    expect((await get('?actor=bob')).body.data).toHaveLength(5);
    expect((await get('?action=login&result=denied')).body.data).toHaveLength(1);
    expect((await get(`?from=${Date.now() + 60_000}`)).body.data).toHaveLength(0);

    const seen: string[] = [];
    let cursor = '';
    for (let n = 0; n < 5; n++) {
      const p = await get(`?limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...p.body.data.map((e: { action: string }) => e.action));
      if (p.body.next_cursor === null) break;
      cursor = p.body.next_cursor as string;
    }
    expect(seen).toEqual(all.body.data.map((e: { action: string }) => e.action));
  });

  it('answers a bad query with a coded 400 naming the parameter', async () => {
    for (const q of ['?limit=0', '?limit=abc', '?from=yesterday', '?result=maybe', '?cursor=x', '?from=2000&to=1000']) {
      const r = await get(q);
      expect(r.status, q).toBe(400);
      expect(r.body.error.code, q).toBe('invalid_query');
      expect(r.body.error.message, q).toMatch(/"(limit|from|result|cursor)"/);
    }
  });

  it('cannot be changed through the API: no method but GET, no route per entry', async () => {
    const before = (await get('')).body.data;
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE'] as const) {
      const r = await request(`${s.base}/api/audit`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: method === 'DELETE' ? undefined : '{"action":"forged"}',
      });
      expect(r.statusCode, method).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD');
      await r.body.dump();
      const one = await request(`${s.base}/api/audit/1`, { method });
      expect(one.statusCode, `${method} /api/audit/1`).toBe(404);
      await one.body.dump();
    }
    expect((await get('')).body.data).toEqual(before);
  });
});
