// A distributed trace crossing teams (QA50): team red's service calls team blue's, one trace id, each exporting its
// own spans to /v1/traces. The spans that are not calls (blue's agent step naming its user and its attributes) are kept
// beside the trace's anchor call, red's, so a viewer scoped to red read them on red's call page and trace page. A
// scoped principal now sees only its calls' own spans of a trace that has a call outside its scope, and never a span
// naming another team; a trace all its own keeps its agent spans (docs/security.md).
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken } from '../../src/http/index.js';
import { type Stack, startStack, until } from './helpers.js';

const ADMIN = 'qa50-admin-token-0123456789';
const RED = 'qa50-viewer-red-token-0123456789';

const kv = (key: string, v: string | number) => ({
  key,
  value: typeof v === 'string' ? { stringValue: v } : { intValue: String(v) },
});
const t0 = BigInt(Date.now() - 10_000) * 1_000_000n;
const span = (
  trace: string,
  id: string,
  parent: string | null,
  name: string,
  attrs: Record<string, string | number>,
) => ({
  traceId: trace,
  spanId: id,
  ...(parent ? { parentSpanId: parent } : {}),
  name,
  kind: 1,
  startTimeUnixNano: String(t0),
  endTimeUnixNano: String(t0 + 500_000_000n),
  attributes: Object.entries(attrs).map(([k, v]) => kv(k, v)),
  status: {},
});
const llm = (team: string, extra: Record<string, string | number> = {}) => ({
  'gen_ai.system': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 10,
  'llmscope.team': team,
  ...extra,
});
const blueStep = (trace: string, id: string, parent: string) =>
  span(trace, id, parent, 'invoke_agent blue-planner', {
    'gen_ai.operation.name': 'invoke_agent',
    'user.id': 'blue-user',
    'blue.ticket': 'blue-confidential-ticket',
    'llmscope.team': 'blue',
  });

describe('a trace crossing teams, read by a team-scoped viewer', () => {
  let s: Stack;
  const get = async (path: string, token: string) => {
    const r = await request(`${s.base}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: r.statusCode, text: await r.body.text() };
  };
  const send = async (service: string, spans: unknown[]) => {
    const r = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` },
      body: JSON.stringify({
        resourceSpans: [{ resource: { attributes: [kv('service.name', service)] }, scopeSpans: [{ spans }] }],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.text();
  };
  const idOf = async (trace: string, team: string) =>
    until(async () => {
      const r = JSON.parse((await get(`/api/requests?q=${trace}`, ADMIN)).text) as {
        data: { request_id: string; trace_id: string; team: string }[];
      };
      return r.data.find((c) => c.trace_id === trace && c.team === team)?.request_id;
    });

  beforeAll(async () => {
    s = await startStack({
      config: {
        server: { host: '127.0.0.1', port: 0, adminToken: ADMIN },
        auth: { tokens: [{ name: 'viewer-red', role: 'viewer', teams: ['red'], tokenHash: hashToken(RED) }] },
      } as never,
    });
  });
  afterAll(() => s?.close());

  it("shows red none of blue's spans kept beside red's call, on the call page and the trace page", async () => {
    const trace = 'a5'.repeat(16);
    const root = 'c0'.repeat(8);
    // red's model call first (the trace's anchor), then blue's service with its agent step and call, then red's root
    await send('red-svc', [span(trace, 'b0'.repeat(8), root, 'chat gpt-4o-mini', llm('red'))]);
    const red = await idOf(trace, 'red');
    await send('blue-svc', [
      blueStep(trace, 'd0'.repeat(8), root),
      span(trace, 'd1'.repeat(8), 'd0'.repeat(8), 'chat gpt-4o-mini', llm('blue')),
    ]);
    await idOf(trace, 'blue');
    await send('red-svc', [span(trace, root, null, 'POST /checkout', { 'http.method': 'POST' })]);
    // the admin sees blue's step beside red's call: it was kept
    await until(async () => (await get(`/api/requests/${red}`, ADMIN)).text.includes('blue-confidential-ticket'));

    const detail = await get(`/api/requests/${red}`, RED);
    expect(detail.status).toBe(200);
    expect(detail.text).not.toMatch(/blue/);
    const spans = (JSON.parse(detail.text) as { spans: { name: string }[] }).spans.map((x) => x.name);
    expect(spans).toEqual(['chat gpt-4o-mini']);
    const page = await get(`/api/traces/${trace}`, RED);
    expect(page.status).toBe(200);
    expect(page.text).not.toMatch(/blue/);
  });

  it('drops a span naming another team that waited for red’s call, and keeps a trace’s own agent spans', async () => {
    const trace = 'a6'.repeat(16);
    const agent = 'e0'.repeat(8);
    // blue's agent step arrives first and waits (no call of the trace yet); red's call then takes it
    await send('blue-svc', [blueStep(trace, 'd2'.repeat(8), agent)]);
    await send('red-svc', [
      span(trace, agent, null, 'invoke_agent red-helper', { 'gen_ai.operation.name': 'invoke_agent' }),
      span(trace, 'b1'.repeat(8), agent, 'chat gpt-4o-mini', llm('red')),
    ]);
    const red = await idOf(trace, 'red');
    await until(async () => (await get(`/api/requests/${red}`, ADMIN)).text.includes('blue-confidential-ticket'));
    const detail = await get(`/api/requests/${red}`, RED);
    expect(detail.text).not.toMatch(/blue/);
    const spans = (JSON.parse(detail.text) as { spans: { name: string }[] }).spans.map((x) => x.name).sort();
    expect(spans).toEqual(['chat gpt-4o-mini', 'invoke_agent red-helper']);
    expect((await get(`/api/traces/${trace}`, RED)).text).not.toMatch(/blue/);
  });
});
