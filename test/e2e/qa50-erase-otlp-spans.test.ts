// Erasing a user (DELETE /api/users/{id}/data) and the spans /v1/traces keeps that name them (QA50). An agent
// framework names the user on its agent's span only (decision 166); the erase removed the spans kept beside the
// user's calls, but the agent's outer span, which ends last and so comes in a later export, arrived after the erase
// and waited for a call of its trace with the user's id in it, and running the erase again (docs/privacy.md: "run the
// erase again once the user's traffic has stopped") did not remove it, nor a span naming the user kept beside another
// user's call of the trace. Both now go.
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoreBackend } from '../../src/store/index.js';
import { type Stack, startStack, until } from './helpers.js';

const USER = 'erin-qa50-7f3';

function everyRow(b: StoreBackend): string {
  if (b.kind !== 'sqlite') throw new Error('this test runs on SQLite');
  const tables = b.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[];
  return tables
    .map(({ name }) => `${name}: ${JSON.stringify(b.db.prepare(`SELECT * FROM "${name}"`).all())}`)
    .join('\n');
}

/** Whether a call of `user` is in the store's calls table (recorded calls reach it a moment later, on its writer). */
function stored(b: StoreBackend, user: string): boolean {
  if (b.kind !== 'sqlite') throw new Error('this test runs on SQLite');
  return b.db.prepare('SELECT 1 FROM calls WHERE "user" = ?').get(user) !== undefined;
}

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
const chat = (extra: Record<string, string | number> = {}) => ({
  'gen_ai.system': 'openai',
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 10,
  ...extra,
});

describe('erasing a user removes the OTLP spans naming them', () => {
  let s: Stack;
  const send = async (spans: unknown[]) => {
    const r = await request(`${s.base}/v1/traces`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        resourceSpans: [{ resource: { attributes: [kv('service.name', 'agent-app')] }, scopeSpans: [{ spans }] }],
      }),
    });
    expect(r.statusCode).toBe(200);
    await r.body.text();
  };
  const erase = async () => {
    const r = await request(`${s.base}/api/users/${USER}/data`, { method: 'DELETE' });
    expect(r.statusCode).toBe(200);
    return (await r.body.json()) as { erased: Record<string, number> };
  };
  beforeAll(async () => {
    s = await startStack();
  });
  afterAll(() => s?.close());

  it('also when the agent span comes after the erase, or beside another user’s call', async () => {
    const trace = 'e5'.repeat(16);
    const agent = 'a0'.repeat(8);
    const workflow = 'a1'.repeat(8);
    // the model call inherits the user from its agent span (same export)
    await send([
      span(trace, agent, workflow, 'invoke_agent planner', {
        'gen_ai.operation.name': 'invoke_agent',
        'user.id': USER,
      }),
      span(trace, 'b0'.repeat(8), agent, 'chat gpt-4o-mini', chat()),
    ]);
    // in the store, not only recorded: the erase reads the store (the CI's loaded host had not written bob's call yet
    // when the test read the store at its end)
    await until(() => stored(s.app.ctx.store.backend, USER));
    // another trace: bob's call, then (a later export) a tool step naming the user, kept beside bob's call
    const other = 'e6'.repeat(16);
    await send([span(other, 'c0'.repeat(8), null, 'chat gpt-4o-mini', chat({ 'user.id': 'bob' }))]);
    await until(() => stored(s.app.ctx.store.backend, 'bob'));
    await send([
      span(other, 'c1'.repeat(8), 'c0'.repeat(8), 'execute_tool handoff', {
        'gen_ai.operation.name': 'execute_tool',
        'llmscope.user': USER,
      }),
    ]);
    await until(() => everyRow(s.app.ctx.store.backend).includes('handoff'));

    await erase();
    // the workflow's outer span ends last: it comes after the erase, naming the user
    await send([
      span(trace, workflow, null, 'workflow run', { 'gen_ai.operation.name': 'invoke_agent', 'user.id': USER }),
    ]);
    // stored as it waits for a call of its trace (the store's writer, a moment after the 200): the CI's loaded host
    // erased before it landed
    await until(() => everyRow(s.app.ctx.store.backend).includes('workflow run'));
    const again = await erase();
    expect(again.erased['trace_spans']).toBeGreaterThanOrEqual(1);
    expect(everyRow(s.app.ctx.store.backend)).not.toContain(USER);
    // bob's call and its own span stay
    expect(everyRow(s.app.ctx.store.backend)).toContain('"bob"');
  });
});
