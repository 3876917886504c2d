// The audit log on the assembled app: what modules record through ctx.audit comes back from GET /api/audit (newest
// first, filtered, paged), with who, when, what, from where and how it ended; and nothing in the API can change it.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { hashToken } from '../../src/http/index.js';
import { erasedUserTarget } from '../../src/privacy/index.js';
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

describe('what operators and admins do is recorded, under their own names', () => {
  const TOKENS = { operator: 'op-token-0123456789abcdef', viewer: 'viewer-token-0123456789abcdef' };
  let s: Stack;
  beforeAll(async () => {
    s = await startStack({
      sim: { ttftMs: 0, tpotMs: 0, outputTokens: 4 },
      config: {
        auth: {
          tokens: [
            { name: 'olga', role: 'operator', tokenHash: hashToken(TOKENS.operator) },
            { name: 'vic', role: 'viewer', tokenHash: hashToken(TOKENS.viewer) },
          ],
        },
      } as never,
      app: { modules: builtinModules() },
    });
  });
  afterAll(async () => {
    await s?.close();
  });

  const send = async (method: string, path: string, token?: string, body?: unknown) => {
    const r = await request(`${s.base}${path}`, {
      method: method as 'GET',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'audit-test/1',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.body.text();
    return { status: r.statusCode, body: text ? JSON.parse(text) : null };
  };

  it('feedback, review labels, silences and erases, with who, role, target and result', async () => {
    const call = await request(`${s.base}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'audited-1' },
      body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await call.body.dump();
    await s.waitForCalls(1);
    await s.app.ctx.recorder.flush();

    const op = TOKENS.operator;
    expect(
      (
        await send('POST', '/api/feedback', op, {
          request_id: 'audited-1',
          rating: 'down',
          comment: 'my mail is a@b.io',
        })
      ).status,
    ).toBe(201);
    expect(
      (await send('POST', '/api/quality/review', op, { request_id: 'audited-1', hallucination: true })).status,
    ).toBe(200);
    const silence = await send('POST', '/api/alerts/silences', op, { matchers: ['alertname="X"'], duration: '1h' });
    expect(silence.status).toBe(201);
    expect((await send('DELETE', `/api/alerts/silences/${silence.body.id}`, op)).status).toBe(200);
    // An operator may not erase or read the log; a viewer may not either.
    expect((await send('DELETE', '/api/users/someone/data', op)).status).toBe(403);
    expect((await send('GET', '/api/audit', op)).status).toBe(403);
    expect((await send('GET', '/api/audit', TOKENS.viewer)).status).toBe(403);
    expect((await send('DELETE', '/api/users/someone/data')).status).toBe(200);
    const items = await request(`${s.base}/api/cost/items`, {
      method: 'POST',
      headers: { 'content-type': 'text/csv' },
      body: `date,name,amount_usd,category\n${new Date().toISOString().slice(0, 10)},pinecone,4.5,vector_db`,
    });
    expect(items.statusCode).toBe(201);
    await items.body.dump();

    const log = (await send('GET', '/api/audit')).body.data as Record<string, unknown>[];
    expect(log.map((e) => e.action)).toEqual([
      'cost_items.add',
      'user.erase',
      'silence.expire',
      'silence.create',
      'review.label',
      'feedback.put',
    ]);
    expect(log[0]).toMatchObject({ actor: 'admin', role: 'admin', detail: { imported: 1 } });
    log.shift();
    for (const e of log.slice(1))
      expect(e).toMatchObject({
        actor: 'olga',
        role: 'operator',
        ip: '127.0.0.1',
        user_agent: 'audit-test/1',
        result: 'ok',
      });
    expect(log[0]).toMatchObject({ actor: 'admin', role: 'admin', target: erasedUserTarget('someone') });
    expect(log[1]?.target).toBe(`silence:${silence.body.id}`);
    expect(log[3]).toMatchObject({
      target: 'request:audited-1',
      detail: { hallucination: true, refusal_correct: null },
    });
    expect(log[4]).toMatchObject({ target: 'request:audited-1', detail: { rating: 'down', created: true } });
    // The feedback's free text is not copied into the log.
    expect(JSON.stringify(log)).not.toContain('a@b.io');
  });

  it('sign-ins, refused sign-ins and sign-outs', async () => {
    const login = async (token: string) => {
      const r = await request(`${s.base}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'browser/1' },
        body: JSON.stringify({ token }),
      });
      await r.body.dump();
      return r;
    };
    expect((await login('not-a-token')).statusCode).toBe(401);
    const ok = await login(TOKENS.operator);
    expect(ok.statusCode).toBe(303);
    const cookies = ([] as string[]).concat(ok.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]);
    const out = await request(`${s.base}/logout`, { method: 'POST', headers: { cookie: cookies.join('; ') } });
    await out.body.dump();
    expect(out.statusCode).toBe(303);

    const log = (await send('GET', '/api/audit?limit=3')).body.data as Record<string, unknown>[];
    expect(log.map((e) => [e.action, e.actor, e.role, e.result])).toEqual([
      ['logout', 'olga', 'operator', 'ok'],
      ['login', 'olga', 'operator', 'ok'],
      ['login', 'anonymous', null, 'denied'],
    ]);
    expect(log[2]).toMatchObject({ detail: { reason: 'unknown_token' }, user_agent: 'browser/1' });
    expect(JSON.stringify(log)).not.toContain('not-a-token');
  });
});
