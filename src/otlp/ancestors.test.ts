import { describe, expect, it } from 'vitest';
import { MAX_ANCESTORS } from './ancestors.js';
import { requestIdOf } from './map.js';
import type { OtlpSpan } from './model.js';
import { attributeSpan, recordingReceiver } from './testing.js';

const setup = () => recordingReceiver();

const hex16 = (n: number) => n.toString(16).padStart(16, '0');
const span = (
  id: number,
  parent: number | null,
  attrs: Record<string, string | number>,
  name = 'op',
  trace = 'ab'.repeat(16),
): OtlpSpan => ({
  ...attributeSpan(attrs, { name }),
  traceId: trace,
  spanId: hex16(id),
  parentSpanId: parent === null ? null : hex16(parent),
});

const chat = (extra: Record<string, string | number> = {}) => ({
  'gen_ai.operation.name': 'chat',
  'gen_ai.provider.name': 'openai',
  'gen_ai.request.model': 'gpt-4o-mini',
  'gen_ai.usage.input_tokens': 100,
  'gen_ai.usage.output_tokens': 20,
  ...extra,
});

describe('OTLP: session and user from the spans above a call (decision 166)', () => {
  it("Mastra: the model generation under an agent run takes the run's thread and user", async () => {
    const { r, recorded } = setup();
    const run = span(
      1,
      null,
      {
        'gen_ai.operation.name': 'invoke_agent',
        'mastra.span.type': 'agent_run',
        'gen_ai.agent.name': 'weather-agent',
        'gen_ai.conversation.id': 'thread-7',
        'user.id': 'resource-42',
      },
      'invoke_agent weather-agent',
    );
    const step = span(2, 1, { 'mastra.span.type': 'model_step' }, 'model_step');
    const gen = span(3, 2, chat({ 'mastra.span.type': 'model_generation' }), 'chat gpt-4o-mini');
    // the agent span ends last: in the same export, after its calls
    const out = await r.accept([gen, step, run]);
    expect(out.counts).toMatchObject({ call: 1 });
    expect(recorded[0]).toMatchObject({ session: 'thread-7', user: 'resource-42' });
  });

  it("Google ADK: the generate_content call takes call_llm's session and invoke_agent's user, the nearest each", async () => {
    const { r, recorded } = setup();
    const agent = span(
      1,
      null,
      { 'gen_ai.operation.name': 'invoke_agent', 'gen_ai.conversation.id': 'outer', 'enduser.id': 'u-9' },
      'invoke_agent root_agent',
    );
    const callLlm = span(
      2,
      1,
      { 'gen_ai.system': 'gcp.vertex.agent', 'gcp.vertex.agent.session_id': 'sess-1' },
      'call_llm',
    );
    const gen = span(
      3,
      2,
      {
        'gen_ai.operation.name': 'generate_content',
        'gen_ai.system': 'gemini',
        'gen_ai.request.model': 'gemini-2.5-flash',
        'gen_ai.usage.input_tokens': 10,
        'gen_ai.usage.output_tokens': 5,
      },
      'generate_content gemini-2.5-flash',
    );
    await r.accept([gen, callLlm, agent]);
    expect(recorded).toHaveLength(1);
    expect(recorded[0]).toMatchObject({ session: 'sess-1', user: 'u-9' });
  });

  it("never overrides the call's own session or user; a resource's comes after the ancestors'", async () => {
    const { r, recorded } = setup();
    const agent = span(1, null, {
      'gen_ai.operation.name': 'invoke_agent',
      'session.id': 'agent-session',
      'user.id': 'agent-user',
    });
    const own = span(2, 1, chat({ 'session.id': 'own-session' }));
    const fromResource = { ...span(3, 1, chat()), resource: { 'user.id': 'process-user', 'session.id': 'x' } };
    const root = { ...span(4, null, chat()), traceId: 'cd'.repeat(16) };
    await r.accept([own, fromResource, root, agent]);
    const by = new Map(recorded.map((c) => [c.requestId, c]));
    expect(by.get(requestIdOf(own))).toMatchObject({ session: 'own-session', user: 'agent-user' });
    expect(by.get(requestIdOf(fromResource))).toMatchObject({ session: 'agent-session', user: 'agent-user' });
    expect(by.get(requestIdOf(root))).toMatchObject({ session: null, user: null });
  });
});

describe('OTLP: a span that names a model above a call does not count again (decision 168)', () => {
  // Strands Agents before its spans named their operations: the agent span carries the model and the run's summed
  // tokens, an event-loop cycle span under it, the model call under that.
  const agent = span(
    1,
    null,
    {
      'gen_ai.system': 'strands-agents',
      'gen_ai.request.model': 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'gen_ai.usage.input_tokens': 300,
      'gen_ai.usage.output_tokens': 60,
      'gen_ai.agent.name': 'Strands Agents',
    },
    'invoke_agent Strands Agents',
  );
  const cycle = span(2, 1, { 'event_loop.cycle_id': 'c-1' }, 'execute_event_loop_cycle');
  const model = span(
    3,
    2,
    {
      'gen_ai.system': 'strands-agents',
      'gen_ai.request.model': 'us.anthropic.claude-sonnet-4-20250514-v1:0',
      'gen_ai.usage.input_tokens': 300,
      'gen_ai.usage.output_tokens': 60,
    },
    'chat',
  );

  it('in one export: the model call is the call, the agent span two levels up a trace span', async () => {
    const { r, recorded } = setup();
    const out = await r.accept([model, cycle, agent]);
    expect(out.counts).toMatchObject({ call: 1, trace: 2 });
    expect(recorded.map((c) => c.requestId)).toEqual([requestIdOf(model)]);
  });

  it('the agent span in a later export, with or without the span between', async () => {
    const a = setup();
    expect((await a.r.accept([model, cycle])).counts).toMatchObject({ call: 1 });
    expect((await a.r.accept([agent])).counts).toMatchObject({ call: 0 });
    const b = setup();
    expect((await b.r.accept([model])).counts).toMatchObject({ call: 1 });
    expect((await b.r.accept([cycle])).counts).toMatchObject({ call: 0 });
    expect((await b.r.accept([agent])).counts).toMatchObject({ call: 0 });
    const c = setup();
    expect((await c.r.accept([model])).counts).toMatchObject({ call: 1 });
    expect((await c.r.accept([cycle, agent])).counts).toMatchObject({ call: 0 });
    expect([...a.recorded, ...b.recorded, ...c.recorded].map((x) => x.requestId)).toEqual(
      Array(3).fill(requestIdOf(model)),
    );
  });

  it('the agent span taken first (an earlier export): the model call found two levels under it later is not one', async () => {
    const { r, recorded } = setup();
    expect((await r.accept([agent])).counts).toMatchObject({ call: 1 });
    expect((await r.accept([model, cycle])).counts).toMatchObject({ call: 0 });
    expect(recorded.map((c) => c.requestId)).toEqual([requestIdOf(agent)]);
  });

  it('a cycle of parents and a 10,000-span chain end (the walk is bounded)', async () => {
    const { r, recorded } = setup();
    // 10 -> 11 -> 10: a cycle above a call
    const call = span(9, 10, chat(), 'chat', 'ef'.repeat(16));
    const looped = [
      call,
      span(10, 11, { 'session.id': 's-loop' }, 'a', 'ef'.repeat(16)),
      span(11, 10, {}, 'b', 'ef'.repeat(16)),
    ];
    // a chain of 10,000 LLM spans, each under the next: each but the innermost wraps the one below it
    const n = 10_000;
    const base = span(100, 101, chat());
    const chain = Array.from({ length: n }, (_, i) => ({
      ...base,
      spanId: hex16(100 + i),
      parentSpanId: i === n - 1 ? null : hex16(101 + i),
    }));
    const out = await r.accept([...looped, ...chain]);
    expect(out.counts).toMatchObject({ call: 2 });
    expect(recorded.map((c) => c.requestId).sort()).toEqual([requestIdOf(call), requestIdOf(base)].sort());
    expect(recorded.find((c) => c.requestId === requestIdOf(call))?.session).toBe('s-loop');
    // a session further up than the walk goes is not found
    const deep = Array.from({ length: MAX_ANCESTORS + 2 }, (_, i) =>
      span(
        20_000 + i,
        i === MAX_ANCESTORS + 1 ? null : 20_001 + i,
        i === MAX_ANCESTORS + 1 ? { 'session.id': 'far' } : {},
        'x',
        '12'.repeat(16),
      ),
    );
    const under = span(19_999, 20_000, chat(), 'chat', '12'.repeat(16));
    await r.accept([under, ...deep]);
    expect(recorded.find((c) => c.requestId === requestIdOf(under))?.session).toBeNull();
  });
});
