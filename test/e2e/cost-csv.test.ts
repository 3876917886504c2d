// GET /api/cost/summary?format=csv on the assembled app (every built-in module): the download's headers, a row per
// group with the JSON's figures, user ids and metadata values with commas, quotes, line breaks and formulas read back
// quoted and defused, a team-scoped viewer's CSV holding its teams' spend only (as its JSON), format=json still the
// default, and any other format a 400 in the OpenAI error shape. Off loopback, with tokens, as a deployment runs.
import { parse } from 'csv-parse/sync';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinModules } from '../../src/cli/modules.js';
import { hashToken } from '../../src/http/index.js';
import { type App, createApp } from '../../src/server.js';
import { configOf } from './helpers.js';

const ADMIN = 'cost-csv-admin-token-0123';
const VIEWER_RED = 'cost-csv-viewer-red-01234';
const HOSTILE = ['ana, from "ops"\nsecond line', '=HYPERLINK("http://evil.example","x")', '+1-555', '@sum', '-2'];
const now = Date.now();
let app: App;
let base: string;

async function get(path: string, token: string) {
  const r = await request(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: r.statusCode, headers: r.headers, text: await r.body.text() };
}

const call = (id: string, team: string, user: string, model = 'gpt-4o-mini', tenant = user) => ({
  request_id: id,
  started_at: new Date(now - 60_000).toISOString(),
  provider: 'openai',
  model,
  input_tokens: 1000,
  output_tokens: 100,
  latency_ms: 200,
  user,
  team,
  feature: `${team}-feature`,
  metadata: { tenant },
});

beforeAll(async () => {
  app = await createApp(
    configOf({
      server: { host: '0.0.0.0', port: 0, adminToken: ADMIN, shutdownGrace: '1s' },
      storage: { url: 'sqlite::memory:', flushInterval: '0ms' },
      telemetry: { logLevel: 'silent' },
      gpu: { collector: 'none' },
      alerts: { defaultRules: false },
      auth: { tokens: [{ name: 'viewer-red', role: 'viewer', teams: ['red'], tokenHash: hashToken(VIEWER_RED) }] },
    } as never),
    { modules: builtinModules() },
  );
  base = `http://127.0.0.1:${new URL(await app.listen()).port}`;
  const calls = [
    ...HOSTILE.map((u, i) => call(`red-${i}`, 'red', u)),
    call('red-unpriced', 'red', 'carol', 'no-such-model-x'),
    call('blue-0', 'blue', 'blue-user'),
    call('blue-1', 'blue', 'blue-user'),
  ];
  const r = await request(`${base}/api/ingest`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ calls }),
  });
  expect(r.statusCode, await r.body.text()).toBe(202);
  await app.ctx.recorder.flush();
}, 30_000);

afterAll(() => app?.close());

const w = `from=${now - 3_600_000}&to=${now + 60_000}`;

/** The CSV's rows as objects by header, and the JSON groups of the same query. */
async function both(query: string, token = ADMIN) {
  const csv = await get(`/api/cost/summary?${query}&format=csv`, token);
  expect(csv.status, csv.text).toBe(200);
  const json = JSON.parse((await get(`/api/cost/summary?${query}`, token)).text) as {
    from: string;
    to: string;
    total: Record<string, number | null>;
    groups: Record<string, number | string | null>[];
  };
  const rows = parse(csv.text, { columns: true }) as Record<string, string>[];
  return { csv, json, rows };
}

describe('GET /api/cost/summary?format=csv', () => {
  it('by user: a download named by grouping and range, a row per group with the JSON figures, keys quoted and defused', async () => {
    const { csv, json, rows } = await both(`${w}&group_by=user`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    const stamp = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z').replaceAll(':', '');
    expect(csv.headers['content-disposition']).toBe(
      `attachment; filename="llmscope-cost-user-${stamp(json.from)}-${stamp(json.to)}.csv"`,
    );
    const groups = rows.filter((r) => r['row'] === 'group');
    expect(groups).toHaveLength(json.groups.length);
    expect(json.groups).toHaveLength(HOSTILE.length + 2);
    const defuse = (k: string) => (/^[=+\-@]/.test(k) ? `'${k}` : k);
    json.groups.forEach((g, i) => {
      const row = groups[i] as Record<string, string>;
      expect(row['user']).toBe(defuse(String(g['key'])));
      for (const k of [
        'cost_usd',
        'requests',
        'unpriced_requests',
        'input_tokens',
        'cost_per_request',
        'share',
        'tool_cost_usd',
        'token_cost_usd',
      ])
        expect(row[k], `${g['key']} ${k}`).toBe(g[k] === null ? '' : String(g[k]));
    });
    // the multi-line user id is one field, the formula a text
    expect(groups.map((g) => g['user'])).toContain('ana, from "ops"\nsecond line');
    expect(groups.map((g) => g['user'])).toContain(`'=HYPERLINK("http://evil.example","x")`);
    // the unpriced model's calls: counted, their $/request empty (null in JSON), not 0
    const carol = groups.find((g) => g['user'] === 'carol') as Record<string, string>;
    expect(carol).toMatchObject({ unpriced_requests: '1', cost_per_request: '', cost_per_1k_tokens: '' });
    const total = rows.find((r) => r['row'] === 'total') as Record<string, string>;
    expect(total['requests']).toBe(String(json.total['requests']));
    expect(total['cost_usd']).toBe(String(json.total['cost_usd']));
  });

  it('by meta.<key>: the values read from raw calls, quoted and defused as user ids', async () => {
    const { csv, json, rows } = await both(`${w}&group_by=meta.tenant`);
    expect(csv.headers['content-disposition']).toMatch(/filename="llmscope-cost-meta\.tenant-.*\.csv"/);
    const values = rows.filter((r) => r['row'] === 'group').map((r) => r['meta.tenant']);
    expect(values).toHaveLength(json.groups.length);
    expect(values).toContain('ana, from "ops"\nsecond line');
    expect(values).toContain("'+1-555");
    expect(values).toContain("'-2");
    // raw calls do not keep the tool part apart: empty cells, as the JSON's nulls (decision 163)
    for (const r of rows) expect([r['tool_cost_usd'], r['token_cost_usd']]).toEqual(['', '']);
  });

  it('a team-scoped viewer: its teams’ spend only, as its JSON', async () => {
    for (const g of ['user', 'team', 'model', 'meta.tenant']) {
      const { csv, json, rows } = await both(`${w}&group_by=${g}`, VIEWER_RED);
      expect(csv.text).not.toMatch(/blue/);
      expect(rows.filter((r) => r['row'] === 'group').length, g).toBe(json.groups.length);
    }
    const admin = parse((await get(`/api/cost/summary?${w}&group_by=team&format=csv`, ADMIN)).text, {
      columns: true,
    }) as Record<string, string>[];
    expect(admin.filter((r) => r['row'] === 'group').map((r) => r['team'])).toEqual(['red', 'blue']);
  });

  it('format=json is the default; another format is a 400 in the OpenAI error shape', async () => {
    const json = await get(`/api/cost/summary?${w}&group_by=team&format=json`, ADMIN);
    expect(json.status).toBe(200);
    expect(json.headers['content-type']).toMatch(/^application\/json/);
    // the forecast moves with the clock: the groups are the same
    const plain = JSON.parse((await get(`/api/cost/summary?${w}&group_by=team`, ADMIN)).text) as { groups: unknown };
    expect((JSON.parse(json.text) as { groups: unknown }).groups).toEqual(plain.groups);
    const bad = await get(`/api/cost/summary?${w}&format=xlsx`, ADMIN);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({
      error: { type: 'invalid_request_error', param: 'format', message: expect.stringMatching(/json.*csv/) },
    });
    // a bad query stays a JSON error with format=csv too
    const badRange = await get(`/api/cost/summary?from=${now}&to=${now - 1}&format=csv`, ADMIN);
    expect(badRange.status).toBe(400);
    expect(badRange.headers['content-type']).toMatch(/^application\/json/);
  });
});
