// Roles and team scopes on the assembled app with every built-in module (docs/security.md): every registered /api
// route is in the route → role table; every route × every principal (nobody, viewer, operator, admin, and viewers
// and operators scoped to team red, or to red and green) gets the status the table says; and no answer a scoped
// principal gets holds anything of team blue — requests, a call, sessions, users, stats, overview, cost summaries,
// top-K and series, alerts. Off loopback, as a deployment would run.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { hashToken, ROUTE_ACCESS, type Role, roleAllows } from '../../src/http/index.js';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

const ADMIN = 'access-test-admin-token';
const TOKENS = {
  viewer: 'viewer-token-0123456789',
  operator: 'operator-token-0123456789',
  'viewer-red': 'viewer-red-token-0123456789',
  'operator-red': 'operator-red-token-0123456789',
  'viewer-red-green': 'viewer-red-green-token-012345',
} as const;
process.env['LLMSCOPE_TEST_OPERATOR_TOKEN'] = TOKENS.operator;

interface Who {
  name: string;
  token: string | null;
  role: Role | null;
  scoped: boolean;
}
const WHO: Who[] = [
  { name: 'nobody', token: null, role: null, scoped: false },
  { name: 'viewer', token: TOKENS.viewer, role: 'viewer', scoped: false },
  { name: 'operator', token: TOKENS.operator, role: 'operator', scoped: false },
  { name: 'admin', token: ADMIN, role: 'admin', scoped: false },
  { name: 'viewer-red', token: TOKENS['viewer-red'], role: 'viewer', scoped: true },
  { name: 'operator-red', token: TOKENS['operator-red'], role: 'operator', scoped: true },
  { name: 'viewer-red-green', token: TOKENS['viewer-red-green'], role: 'viewer', scoped: true },
];

const now = Date.now();
let seq = 0;
/** An ingested call of `team`; everything of team blue says "blue" somewhere, so a leak is a substring. */
function callOf(team: 'red' | 'blue' | 'green', i: number, over: Record<string, unknown> = {}) {
  return {
    request_id: `${team}-${i}`,
    started_at: new Date(now - 60_000 + i * 100).toISOString(),
    provider: 'openai',
    model: team === 'blue' ? 'gpt-4o-blue' : 'gpt-4o-mini',
    input_tokens: 1000,
    output_tokens: 100,
    latency_ms: 200,
    user: `${team}-user`,
    team,
    feature: `${team}-feature`,
    session: i < 2 ? 'shared-session' : `${team}-session`,
    metadata: { project: `${team}-project` },
    ...over,
  };
}

/** A request per route: path (params filled in), body, and the status an allowed principal gets. */
const SAMPLES: Record<string, { path: string; body?: () => unknown; ok: number | number[] }> = {
  'GET /api/requests': { path: '/api/requests', ok: 200 },
  'GET /api/requests/:id': { path: '/api/requests/red-1', ok: 200 },
  'GET /api/sessions/:id': { path: '/api/sessions/shared-session', ok: 200 },
  'GET /api/traces/:id': { path: `/api/traces/${'0'.repeat(32)}`, ok: 404 },
  'GET /api/users/:id': { path: '/api/users/red-user', ok: 200 },
  'GET /api/stats/summary': { path: '/api/stats/summary', ok: 200 },
  'GET /api/stats/timeseries': { path: '/api/stats/timeseries?group_by=team', ok: 200 },
  'GET /api/overview': { path: '/api/overview', ok: 200 },
  'GET /api/ui/config': { path: '/api/ui/config', ok: 200 },
  'GET /api/me': { path: '/api/me', ok: 200 },
  'POST /api/ingest': { path: '/api/ingest', body: () => callOf('red', 100 + seq++), ok: 202 },
  'GET /api/cost/summary': { path: '/api/cost/summary?group_by=team', ok: 200 },
  'GET /api/cost/top': { path: '/api/cost/top?dimension=team', ok: 200 },
  'GET /api/cost/timeseries': { path: '/api/cost/timeseries?dimension=team&value=blue', ok: 200 },
  'GET /api/cost/forecast': { path: '/api/cost/forecast', ok: 200 },
  'GET /api/cost/daily': { path: '/api/cost/daily', ok: 200 },
  'GET /api/cost/budgets': { path: '/api/cost/budgets', ok: 200 },
  'GET /api/cost/prices': { path: '/api/cost/prices?model=gpt-4o-mini', ok: 200 },
  'GET /api/cost/catalog': { path: '/api/cost/catalog', ok: 200 },
  'GET /api/cost/unpriced': { path: '/api/cost/unpriced', ok: 200 },
  'GET /api/cost/reconciliations': { path: '/api/cost/reconciliations', ok: 200 },
  'GET /api/cost/reconciliations/:id': { path: '/api/cost/reconciliations/nope', ok: 404 },
  'POST /api/cost/reconciliations': { path: '/api/cost/reconciliations', body: () => ({}), ok: 400 },
  'GET /api/cost/items': { path: '/api/cost/items', ok: 200 },
  'POST /api/cost/items': { path: '/api/cost/items', body: () => ({}), ok: 400 },
  // 201 the first time, 200 when it replaces the earlier rating
  'POST /api/feedback': { path: '/api/feedback', body: () => ({ request_id: 'red-1', rating: 'up' }), ok: [200, 201] },
  'GET /api/quality/review': { path: '/api/quality/review', ok: 200 },
  'POST /api/quality/review': { path: '/api/quality/review', body: () => ({}), ok: 400 },
  'GET /api/quality/summary': { path: '/api/quality/summary', ok: 200 },
  'GET /api/quality/series': { path: '/api/quality/series', ok: 200 },
  'GET /api/quality/requests/:id': { path: '/api/quality/requests/red-1', ok: 200 },
  'GET /api/alerts': { path: '/api/alerts', ok: 200 },
  'GET /api/alerts/noise': { path: '/api/alerts/noise', ok: 200 },
  'GET /api/alerts/silences': { path: '/api/alerts/silences', ok: 200 },
  'POST /api/alerts/silences': {
    path: '/api/alerts/silences',
    body: () => ({ matchers: ['alertname="Nothing"'], duration: '1h', comment: 'test', created_by: 'test' }),
    ok: 201,
  },
  'DELETE /api/alerts/silences/:id': { path: '/api/alerts/silences/nope', ok: 404 },
  'GET /api/gpu': { path: '/api/gpu', ok: 200 },
  'POST /api/otlp/v1/traces': { path: '/api/otlp/v1/traces', body: () => ({}), ok: 200 },
  'POST /api/otlp/v1/logs': { path: '/api/otlp/v1/logs', body: () => ({}), ok: 200 },
  'DELETE /api/users/:id/data': { path: '/api/users/nobody-user/data', ok: 200 },
  'GET /api/audit': { path: '/api/audit', ok: 200 },
  'GET /api/keys': { path: '/api/keys', ok: 200 },
  'POST /api/keys': { path: '/api/keys', body: () => ({ name: `k-${seq++}`, team: 'red' }), ok: 201 },
  'POST /api/keys/:id/revoke': { path: '/api/keys/nope/revoke', ok: 404 },
  'POST /api/keys/:id/rotate': { path: '/api/keys/nope/rotate', ok: 404 },
};

let app: App;
let base: string;
/** The routes the app registered (a sample for a route not there is skipped; the table test catches the reverse). */
let registered = new Set<string>();

async function call(method: string, path: string, who: Who, body?: unknown) {
  const headers: Record<string, string> = {};
  if (who.token) headers['authorization'] = `Bearer ${who.token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await request(`${base}${path}`, {
    method: method as 'GET',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.body.text();
  return { status: r.statusCode, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

const admin = WHO.find((w) => w.name === 'admin') as Who;
const viewerRed = WHO.find((w) => w.name === 'viewer-red') as Who;

beforeAll(async () => {
  const config = configOf({
    server: { host: '0.0.0.0', port: 0, adminToken: ADMIN, shutdownGrace: '2s' },
    storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
    telemetry: { logLevel: 'silent' },
    gpu: { collector: 'none' },
    alerts: {
      defaultRules: false,
      evaluationInterval: '1s',
      rules: [
        {
          name: 'TeamErrors',
          kind: 'error_rate',
          window: '5m',
          op: '>',
          threshold: 0.1,
          minSamples: 1,
          groupBy: ['team'],
        },
      ],
    },
    auth: {
      tokens: [
        { name: 'viewer', role: 'viewer', tokenHash: hashToken(TOKENS.viewer) },
        { name: 'operator', role: 'operator', tokenEnv: 'LLMSCOPE_TEST_OPERATOR_TOKEN' },
        { name: 'viewer-red', role: 'viewer', teams: ['red'], tokenHash: hashToken(TOKENS['viewer-red']) },
        { name: 'operator-red', role: 'operator', teams: ['red'], tokenHash: hashToken(TOKENS['operator-red']) },
        {
          name: 'viewer-red-green',
          role: 'viewer',
          teams: ['red', 'green'],
          tokenHash: hashToken(TOKENS['viewer-red-green']),
        },
      ],
    },
  } as never);
  app = await createApp(config, { modules: builtinModules() });
  registered = new Set(app.ctx.api.routes().map((r) => `${r.method} ${r.path}`));
  const url = new URL(await app.listen());
  base = `http://127.0.0.1:${url.port}`;
  const calls = [
    ...[0, 1, 2, 3, 4].map((i) => callOf('red', i, i === 4 ? { status: 'upstream_error', http_status: 500 } : {})),
    ...[0, 1, 2, 3, 4].map((i) => callOf('blue', i, i >= 3 ? { status: 'upstream_error', http_status: 500 } : {})),
    ...[0, 1].map((i) => callOf('green', i)),
  ];
  const r = await call('POST', '/api/ingest', admin, { calls });
  expect(r.status, r.text).toBe(202);
  await app.ctx.recorder.flush();
  // Both teams' error-rate alerts fire (20% and 40% > 10%).
  const deadline = Date.now() + 15_000;
  for (;;) {
    const a = (await call('GET', '/api/alerts', admin)).json() as { firing: { labels: Record<string, string> }[] };
    if (a.firing.filter((f) => f.labels['team']).length >= 2) break;
    if (Date.now() > deadline) throw new Error(`alerts did not fire: ${JSON.stringify(a.firing)}`);
    await new Promise((ok) => setTimeout(ok, 200));
  }
}, 30_000);

afterAll(() => app?.close());

describe('the route → role table', () => {
  it('lists every registered /api route, and each has a sample here', () => {
    const routes = app.ctx.api.routes().filter((r) => r.path.startsWith('/api/'));
    const missing = routes.filter((r) => !ROUTE_ACCESS[`${r.method} ${r.path}`]).map((r) => `${r.method} ${r.path}`);
    expect(missing, 'add these to ROUTE_ACCESS in src/http/access.ts').toEqual([]);
    const unsampled = routes.map((r) => `${r.method} ${r.path}`).filter((k) => !SAMPLES[k]);
    expect(unsampled, 'add a sample request for these to SAMPLES').toEqual([]);
    // Routes name their module: the capabilities' own sub-apps, the rest the core's.
    const owner = new Map(routes.map((r) => [`${r.method} ${r.path}`, r.module]));
    expect(owner.get('GET /api/cost/summary')).toBe('cost');
    expect(owner.get('POST /api/feedback')).toBe('quality');
    expect(owner.get('GET /api/alerts')).toBe('alerts');
    expect(owner.get('GET /api/requests')).toBe('core');
  });
});

describe('every route × every principal', () => {
  const cases = Object.entries(SAMPLES).flatMap(([route, sample]) => WHO.map((who) => ({ route, sample, who })));
  it.each(cases)('$route as $who.name', async ({ route, sample, who }) => {
    if (!registered.has(route)) return;
    const [method] = route.split(' ') as [string];
    const access = ROUTE_ACCESS[route];
    if (!access) throw new Error(`${route} is not in the table`);
    const expected =
      who.role === null
        ? 401
        : !roleAllows(who.role, access.role) || (who.scoped && access.scoped === 'refuse')
          ? 403
          : sample.ok;
    const r = await call(method, sample.path, who, sample.body?.());
    if (Array.isArray(expected)) expect(expected, r.text.slice(0, 300)).toContain(r.status);
    else expect(r.status, r.text.slice(0, 300)).toBe(expected);
    if (expected === 403)
      expect(r.json()).toMatchObject(
        // The OTLP routes answer a google.rpc.Status (7: PERMISSION_DENIED), as the OTLP/HTTP spec requires.
        sample.path.includes('/otlp/')
          ? { code: 7, message: expect.stringMatching(/role/) }
          : { error: { code: 'forbidden', type: 'permission_error' } },
      );
    // Nothing of team blue in anything a scoped principal is answered.
    if (who.scoped) expect(r.text).not.toMatch(/blue/);
  });
});

describe('what a scoped principal sees', () => {
  it('requests, one call and sessions: only its teams', async () => {
    const list = (await call('GET', '/api/requests?limit=500', viewerRed)).json() as { data: { team: string }[] };
    expect(new Set(list.data.map((c) => c.team))).toEqual(new Set(['red']));
    expect((await call('GET', '/api/requests/blue-1', viewerRed)).status).toBe(404);
    expect((await call('GET', '/api/requests?team=blue', viewerRed)).json()).toMatchObject({ data: [] });
    const both = WHO.find((w) => w.name === 'viewer-red-green') as Who;
    const two = (await call('GET', '/api/requests?limit=2', both)).json() as { data: unknown[]; next_cursor: string };
    expect(two.data).toHaveLength(2);
    const all: { team: string }[] = [];
    let cursor: string | null = null;
    do {
      const page = (await call('GET', `/api/requests?limit=3${cursor ? `&cursor=${cursor}` : ''}`, both)).json() as {
        data: { team: string }[];
        next_cursor: string | null;
      };
      all.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    expect(all.filter((c) => c.team === 'green')).toHaveLength(2);
    expect(all.some((c) => c.team === 'blue')).toBe(false);
    const session = (await call('GET', '/api/sessions/shared-session', viewerRed)).json() as {
      calls: { team: string }[];
    };
    expect(session.calls.map((c) => c.team)).toEqual(['red', 'red']);
    const adminSession = (await call('GET', '/api/sessions/shared-session', admin)).json() as { calls: unknown[] };
    expect(adminSession.calls.length).toBeGreaterThan(2);
    expect((await call('GET', '/api/users/blue-user', viewerRed)).status).toBe(404);
  });

  it('aggregates and top-K lists: its teams’ figures only', async () => {
    const mine = (await call('GET', '/api/stats/summary', viewerRed)).json() as { requests: number; errors: number };
    const all = (await call('GET', '/api/stats/summary', admin)).json() as { requests: number };
    const redCalls = ((await call('GET', '/api/requests?team=red&limit=500', admin)).json() as { data: unknown[] }).data
      .length;
    expect(mine.requests).toBe(redCalls);
    expect(mine.errors).toBe(1);
    expect(all.requests).toBeGreaterThan(mine.requests);
    const top = (await call('GET', '/api/cost/top?dimension=team', viewerRed)).json() as { top: { key: string }[] };
    expect(top.top.map((t) => t.key)).toEqual(['red']);
    const adminTop = (await call('GET', '/api/cost/top?dimension=team', admin)).json() as { top: { key: string }[] };
    expect(adminTop.top.map((t) => t.key).sort()).toEqual(['blue', 'green', 'red']);
    const byModel = (await call('GET', '/api/cost/summary?group_by=model', viewerRed)).json() as {
      groups: { key: string }[];
      month_to_date_usd: null;
    };
    expect(byModel.groups.map((g) => g.key)).toEqual(['gpt-4o-mini']);
    expect(byModel.month_to_date_usd).toBeNull();
    // the rollups a scoped summary by model reads keep no cache-write or reasoning tokens: null, not 0
    expect(byModel.groups[0]).toMatchObject({ cache_write_input_tokens: null, reasoning_tokens: null });
    // Spend by user comes from the scope's raw calls (the spend aggregates by user span every team).
    const byUser = (await call('GET', '/api/cost/top?dimension=user', viewerRed)).json() as {
      top: { key: string; requests: number }[];
    };
    expect(byUser.top.map((t) => t.key)).toEqual(['red-user']);
    expect(byUser.top[0]?.requests).toBe(redCalls);
    expect(byUser.top[0]).toMatchObject({ cache_write_input_tokens: 0, reasoning_tokens: 0 });
    const adminByUser = (await call('GET', '/api/cost/top?dimension=user', admin)).json() as { top: { key: string }[] };
    expect(adminByUser.top.map((t) => t.key)).toContain('blue-user');
    const byMeta = (await call('GET', '/api/cost/summary?group_by=meta.project', viewerRed)).json() as {
      groups: { key: string }[];
    };
    expect(byMeta.groups.map((g) => g.key)).toEqual(['red-project']);
    const series = (await call('GET', '/api/stats/timeseries?group_by=team', viewerRed)).json() as {
      series: { group: string }[];
    };
    expect(series.series.map((s) => s.group)).toEqual(['red']);
  });

  it('alerts: those labelled with its teams only', async () => {
    const a = (await call('GET', '/api/alerts', viewerRed)).json() as { firing: { labels: Record<string, string> }[] };
    expect(a.firing.map((f) => f.labels['team'])).toEqual(['red']);
    const b = (await call('GET', '/api/alerts', admin)).json() as { firing: { labels: Record<string, string> }[] };
    expect(b.firing.map((f) => f.labels['team']).sort()).toEqual(['blue', 'red']);
  });

  it('feedback, labels and one call’s evaluations: on its teams’ calls only', async () => {
    const opRed = WHO.find((w) => w.name === 'operator-red') as Who;
    const fb = (id: string) => call('POST', '/api/feedback', opRed, { request_id: id, rating: 'down' });
    expect([200, 201]).toContain((await fb('red-2')).status);
    const other = await fb('blue-2');
    expect(other.status).toBe(404);
    expect(other.text).not.toMatch(/rating/);
    const label = await call('POST', '/api/quality/review', opRed, { request_id: 'blue-2', hallucination: true });
    expect(label.status).toBe(404);
    expect((await call('GET', '/api/quality/requests/blue-2', viewerRed)).status).toBe(404);
    expect((await call('GET', '/api/quality/requests/red-2', viewerRed)).status).toBe(200);
    // The blue call has no feedback from the scoped operator's attempts.
    const blue = (await call('GET', '/api/quality/requests/blue-2', admin)).json() as { feedback: unknown[] };
    expect(blue.feedback).toEqual([]);
  });

  it('GET /api/me says who it is', async () => {
    expect((await call('GET', '/api/me', viewerRed)).json()).toEqual({
      name: 'viewer-red',
      role: 'viewer',
      via: 'bearer',
      teams: ['red'],
      features: null,
      session_expires_at: null,
    });
    expect((await call('GET', '/api/me', admin)).json()).toMatchObject({ name: 'admin', role: 'admin', teams: null });
  });

  it('signs in with its token and keeps its scope in the session', async () => {
    const r = await request(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${TOKENS['viewer-red']}`,
    });
    expect(r.statusCode).toBe(303);
    const cookie = ([] as string[])
      .concat(r.headers['set-cookie'] ?? [])
      .map((c) => c.split(';')[0])
      .join('; ');
    const list = await request(`${base}/api/requests?team=blue`, { headers: { cookie } });
    expect(((await list.body.json()) as { data: unknown[] }).data).toEqual([]);
    const gpu = await request(`${base}/api/gpu`, { headers: { cookie } });
    expect(gpu.statusCode).toBe(403);
    await gpu.body.dump();
  });
});
