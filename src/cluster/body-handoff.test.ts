// What of a call's body a gateway worker sends the recorder process for its hooks: nothing for virtual keys, the input
// estimate (made in the worker) and the output limit fields for budgets and rate limits, the whole body only for a
// hook that reads or rewrites it (privacy.maskUpstream, or one not known). The primary's hooks reach the same numbers.
import { describe, expect, it } from 'vitest';
import { estimateInputTokens, INPUT_ESTIMATE, inputEstimateOf, maxOutputTokens } from '../cost/budgets.js';
import type { Admission, GatewayHook } from '../gateway/proxy.js';
import { Rpc } from './rpc.js';
import { type AdmissionSnapshot, bodyNeeds, remoteHook, runHooksFor } from './worker.js';

/** Two Rpc ends joined by a JSON channel, as node:cluster's IPC with serialization 'json'; counts the bytes sent. */
function pair(): { worker: Rpc; primary: Rpc; bytes: () => number } {
  let sent = 0;
  const channel = (to: () => Rpc) => (m: unknown) => {
    const text = JSON.stringify(m);
    sent += text.length;
    setImmediate(() => to().receive(JSON.parse(text)));
    return true;
  };
  const worker: Rpc = new Rpc(channel(() => primary));
  const primary: Rpc = new Rpc(channel(() => worker));
  return { worker, primary, bytes: () => sent };
}

const prose = 'the model reads a long document and answers '.repeat(20_000); // ~900 KB
const bodies: [Admission['endpoint'], Record<string, unknown>][] = [
  [
    'chat.completions',
    {
      model: 'gpt-4o-mini',
      messages: [{ role: 'user', content: prose }],
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: {} } }],
      max_tokens: 300,
      n: 2,
    },
  ],
  ['messages', { model: 'claude', system: 'be brief', messages: [{ role: 'user', content: prose }], max_tokens: 50 }],
  ['responses', { model: 'o3', input: prose, max_output_tokens: 70 }],
  [
    'generate_content',
    { contents: [{ parts: [{ text: prose }] }], generationConfig: { maxOutputTokens: 40, candidateCount: 3 } },
  ],
  ['chat.completions', { model: 'gpt-4o-mini', messages: [{ role: 'user', content: prose }] }],
];

const admission = (endpoint: Admission['endpoint'], body: Record<string, unknown>): Admission =>
  ({
    requestId: 'r1',
    endpoint,
    format: 'openai',
    model: 'm',
    provider: 'p',
    body,
    headers: { authorization: 'Bearer lsk_x' },
    attribution: { user: null, team: null, feature: null, session: null },
    forwardClientAuth: true,
    state: {},
  }) as unknown as Admission;

/** The primary's side: runs `hooks` for each phase, as primary.ts does. */
function serveHooks(primary: Rpc, hooks: GatewayHook[]): void {
  for (const phase of ['authenticate', 'admit'] as const)
    primary.on(`hooks.${phase}`, (s) => runHooksFor(hooks, phase, s as AdmissionSnapshot));
}

describe('the body a worker hands the recorder process', () => {
  it('bodyNeeds: none for virtual keys, the estimate for budgets and rate limits, all of it for any other hook', () => {
    const h = (name: string, phases: ('authenticate' | 'admit')[]): GatewayHook => ({
      name,
      ...Object.fromEntries(phases.map((p) => [p, () => {}])),
    });
    const keys = h('virtual-keys', ['authenticate']);
    const limits = h('rate-limits', ['admit']);
    const budgets = h('budgets', ['admit']);
    expect(bodyNeeds([keys])).toEqual({ authenticate: 'none', admit: 'none' });
    expect(bodyNeeds([keys, limits, budgets])).toEqual({ authenticate: 'none', admit: 'estimate' });
    expect(bodyNeeds([keys, limits, budgets, h('privacy.maskUpstream', ['admit'])]).admit).toBe('whole');
    expect(bodyNeeds([h('some-module', ['authenticate']), budgets])).toEqual({
      authenticate: 'whole',
      admit: 'estimate',
    });
  });

  it('keys, rate limits and budgets: the primary reaches the same estimates from a few bytes instead of the body', async () => {
    for (const [endpoint, body] of bodies) {
      const seen: { phase: string; input: number; output: number; body: unknown }[] = [];
      const note =
        (phase: string) =>
        (a: Admission): void => {
          seen.push({
            phase,
            input: inputEstimateOf(a),
            output: maxOutputTokens(a.body, a.endpoint, 999),
            body: a.body,
          });
        };
      const primaryHooks: GatewayHook[] = [
        { name: 'virtual-keys', authenticate: note('authenticate') },
        { name: 'rate-limits', admit: note('admit') },
        { name: 'budgets', admit: note('admit') },
      ];
      const { worker, primary, bytes } = pair();
      serveHooks(primary, primaryHooks);
      const remote = remoteHook(worker, { authenticate: true, admit: true, body: bodyNeeds(primaryHooks) });
      const a = admission(endpoint, structuredClone(body));
      await remote.authenticate?.(a);
      await remote.admit?.(a);
      const input = estimateInputTokens(body, endpoint);
      const output = maxOutputTokens(body, endpoint, 999);
      expect(seen[0]).toMatchObject({ phase: 'authenticate', body: {} });
      for (const s of seen.slice(1)) expect(s).toMatchObject({ phase: 'admit', input, output });
      // the worker's own body is untouched, and the state says the estimate (for settling, as before)
      expect(a.body).toEqual(body);
      expect(a.state[INPUT_ESTIMATE]).toBe(input);
      // before, the ~900 KB body crossed in both phases (and packed: ~1.2 MB each)
      expect(bytes()).toBeLessThan(10_000);
    }
  });

  it('privacy.maskUpstream (or any hook not known) gets the whole body, and its rewrite comes back', async () => {
    const [endpoint, body] = bodies[0] as [Admission['endpoint'], Record<string, unknown>];
    const primaryHooks: GatewayHook[] = [
      { name: 'budgets', admit: () => {} },
      {
        name: 'privacy.maskUpstream',
        admit(a) {
          (a.body as { messages: { content: string }[] }).messages[0] = { content: 'masked' };
          a.bodyChanged = true;
        },
      },
    ];
    const { worker, primary, bytes } = pair();
    serveHooks(primary, primaryHooks);
    const remote = remoteHook(worker, { authenticate: false, admit: true, body: bodyNeeds(primaryHooks) });
    const a = admission(endpoint, structuredClone(body));
    await remote.admit?.(a);
    expect((a.body as { messages: unknown[] }).messages).toEqual([{ content: 'masked' }]);
    expect(bytes()).toBeGreaterThan(prose.length);
  });
});
