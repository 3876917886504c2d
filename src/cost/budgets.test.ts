import { describe, expect, it } from 'vitest';
import { LlmscopeError } from '../errors.js';
import type { Admission } from '../gateway/proxy.js';
import {
  type Budget,
  BudgetService,
  budgetExceeded,
  budgetsFrom,
  estimateInputTokens,
  InProcessBudgetLedger,
  maxOutputTokens,
  periodEnd,
  periodStart,
  usd,
} from './budgets.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const T = Date.parse('2025-07-15T10:00:00Z');

function admission(over: Partial<Admission> & { user?: string; team?: string; key?: string } = {}): Admission {
  return {
    requestId: 'r',
    endpoint: 'chat.completions',
    model: 'gpt-4o-mini',
    provider: 'openai',
    body: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello there' }], max_tokens: 1000 },
    headers: {},
    attribution: {
      user: over.user ?? null,
      team: over.team ?? null,
      feature: null,
      session: null,
      apiKeyId: over.key ?? null,
    },
    forwardClientAuth: true,
    state: {},
    ...over,
  };
}

function service(budgets: unknown, keys: unknown = [], now = () => T) {
  const cfg = costConfigOf({ budgets, keys });
  const ledger = new InProcessBudgetLedger();
  const events: { blocked: string[]; thresholds: [string, number][] } = { blocked: [], thresholds: [] };
  const svc = new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), ledger, new PriceBook(cfg.pricing), now, {
    onBlocked: (b) => events.blocked.push(b.name),
    onThreshold: (b, _k, th) => events.thresholds.push([b.name, th]),
  });
  return { svc, ledger, events };
}

/** The reservation an admission of `admission()` makes: prompt estimate + 1000 output tokens of gpt-4o-mini. */
const estimate = (() => {
  const input = estimateInputTokens(admission().body, 'chat.completions');
  return (input * 0.15 + 1000 * 0.6) / 1e6;
})();

describe('periods', () => {
  it('start and end on UTC day and month boundaries', () => {
    expect(new Date(periodStart('day', T)).toISOString()).toBe('2025-07-15T00:00:00.000Z');
    expect(new Date(periodEnd('day', T)).toISOString()).toBe('2025-07-16T00:00:00.000Z');
    expect(new Date(periodStart('month', T)).toISOString()).toBe('2025-07-01T00:00:00.000Z');
    expect(new Date(periodEnd('month', Date.parse('2025-12-31T23:00:00Z'))).toISOString()).toBe(
      '2026-01-01T00:00:00.000Z',
    );
  });
});

describe('estimates', () => {
  it('reserve max_tokens (times n) or the cap, and overestimate the prompt', () => {
    expect(maxOutputTokens({ max_tokens: 100, n: 3 }, 'chat.completions', 4096)).toBe(300);
    expect(maxOutputTokens({ max_completion_tokens: 50 }, 'chat.completions', 4096)).toBe(50);
    expect(maxOutputTokens({}, 'chat.completions', 4096)).toBe(4096);
    expect(maxOutputTokens({ max_tokens: 10 }, 'embeddings', 4096)).toBe(0);
    // Gemini's are in generationConfig
    const gemini = { contents: [], generationConfig: { maxOutputTokens: 700, candidateCount: 2 } };
    expect(maxOutputTokens(gemini, 'generate_content', 4096)).toBe(1400);
    expect(maxOutputTokens({ contents: [] }, 'generate_content', 4096)).toBe(4096);
    const body = { messages: [{ role: 'user', content: 'The quick brown fox jumps over the lazy dog.' }] };
    // o200k counts 10 tokens for the text, plus ~7 of message framing.
    expect(estimateInputTokens(body, 'chat.completions')).toBeGreaterThanOrEqual(17);
  });

  it('give media parts a flat allowance, and count tool calls, tool results and thinking by their size', () => {
    const image = { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'A'.repeat(300_000) } };
    const withImage = { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, image] }] };
    const plain = { messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }] }] };
    expect(estimateInputTokens(withImage, 'messages') - estimateInputTokens(plain, 'messages')).toBe(1100);
    const gemini = {
      contents: [
        { role: 'user', parts: [{ text: 'Read it' }, { inlineData: { mimeType: 'application/pdf', data: 'JVBE' } }] },
      ],
    };
    expect(estimateInputTokens(gemini, 'generate_content')).toBeGreaterThanOrEqual(1100);
    // a tool call and its result: near their size (chars / 3), not an image's allowance each
    const use = { type: 'tool_use', id: 'toolu_1', name: 'Read', input: { file_path: '/repo/src/app.ts' } };
    const result = { type: 'tool_result', tool_use_id: 'toolu_1', content: 'const a = 1;' };
    const turn = {
      messages: [
        { role: 'assistant', content: [use] },
        { role: 'user', content: [result] },
      ],
    };
    const n = estimateInputTokens(turn, 'messages');
    expect(n).toBeGreaterThanOrEqual(Math.ceil(JSON.stringify(use).length / 3));
    expect(n).toBeLessThan(100);
    // a Responses function call and a chat tool call: their arguments counted once (the prompt text holds them)
    const args = JSON.stringify({ command: ['rg', '-n', 'retries', 'src'], workdir: '/repo' }).repeat(20);
    const bare = estimateInputTokens({ input: [] }, 'responses');
    const fc = estimateInputTokens(
      { input: [{ type: 'function_call', call_id: 'c', name: 'shell', arguments: args }] },
      'responses',
    );
    expect(fc - bare).toBeGreaterThanOrEqual(Math.ceil(args.length / 3));
    expect(fc - bare).toBeLessThan(Math.ceil(args.length / 3) + 20);
    const chat = (m: unknown[]) => estimateInputTokens({ messages: m }, 'chat.completions');
    const call = { id: 'c', type: 'function', function: { name: 'shell', arguments: args } };
    const tc = chat([{ role: 'assistant', content: null, tool_calls: [call] }]) - chat([]);
    expect(tc).toBeGreaterThanOrEqual(Math.ceil(args.length / 3));
    expect(tc).toBeLessThan(Math.ceil(args.length / 3) + 20);
  });
});

describe('budget service', () => {
  it('holds a block budget under concurrency: admits what fits with reservations in flight, refuses the rest', async () => {
    const { svc, ledger, events } = service([
      { name: 'team-a', scope: 'team', match: 'a', period: 'day', limit: estimate * 10 },
    ]);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => svc.admit(admission({ team: 'a' }))));
    const ok = results.filter((r) => r.status === 'fulfilled').length;
    expect(ok).toBe(10);
    const err = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason as LlmscopeError;
    expect(err).toBeInstanceOf(LlmscopeError);
    expect(err.code).toBe('LLMSCOPE_ERR_BUDGET_EXCEEDED');
    expect(err.status).toBe(429);
    expect(err.message).toContain('budget "team-a"');
    expect(err.message).toContain('resets at 2025-07-16T00:00:00.000Z');
    expect(Number(err.headers['retry-after'])).toBe(14 * 3600);
    expect(events.blocked.length).toBe(40);
    const st = ledger.state({ budget: 'team-a', value: 'a', periodStart: periodStart('day', T) });
    expect(st.inFlight).toBe(10);
    expect(st.reserved).toBeCloseTo(estimate * 10, 12);
  });

  it('frees what a call did not use when it settles, and counts what it did', async () => {
    const { svc, ledger } = service([{ name: 'g', period: 'month', limit: estimate * 2.5 }]);
    const a1 = admission();
    const a2 = admission();
    await svc.admit(a1);
    await svc.admit(a2);
    await expect(svc.admit(admission())).rejects.toThrow(/budget "g"/);
    expect(svc.pending(a1.state)).toBe(true);
    svc.settle(a1.state, estimate / 4);
    expect(svc.pending(a1.state)).toBe(false);
    expect(svc.settle(a1.state, 1)).toBe(false); // once only
    await svc.admit(admission()); // room again: ¼ spent + 2 reservations ≤ 2.5
    const st = ledger.state({ budget: 'g', value: '', periodStart: periodStart('month', T) });
    expect(st.spent).toBeCloseTo(estimate / 4, 12);
    expect(st.inFlight).toBe(2);
  });

  it('applies per-value budgets to each value separately, and skips calls without the value', async () => {
    const { svc } = service([{ name: 'per-user', scope: 'user', period: 'day', limit: estimate * 1.5 }]);
    await svc.admit(admission({ user: 'ann' }));
    await svc.admit(admission({ user: 'bob' }));
    await expect(svc.admit(admission({ user: 'ann' }))).rejects.toThrow(/for user "ann"/);
    await svc.admit(admission()); // no user: not in scope
  });

  it('writes amounts under $0.0001 to two significant digits, not as $0.0000', () => {
    expect([usd(0), usd(0.12345), usd(0.0001), usd(0.00002), usd(0.0000123), usd(-0.00002)]).toEqual([
      '0.0000',
      '0.1235',
      '0.0001',
      '0.00002',
      '0.000012',
      '-0.00002',
    ]);
    const b = {
      name: 'tiny',
      scope: 'global',
      period: 'day',
      limit: 0.00002,
      action: 'block',
      warn: [],
    } as unknown as Budget;
    const msg = budgetExceeded(
      b,
      { budget: 'tiny', value: '', periodStart: periodStart('day', T) },
      0.000012,
      0,
      T,
      0.000011,
    ).message;
    // before: "has $0.0000 left for this day ($0.0000 spent of $0.00002)"
    expect(msg).toContain('has $0.000008 left for this day ($0.000012 spent of $0.00002)');
    expect(msg).toContain('may cost ($0.000011:');
  });

  it("says when it is the call's estimate, not the spend, that would pass the limit", async () => {
    const { svc, ledger } = service([{ name: 'g', period: 'day', limit: estimate * 1.5 }]);
    await svc.admit(admission()); // reserves one estimate: half an estimate left
    const refused = await svc.admit(admission()).then(
      () => null,
      (e: Error) => e.message,
    );
    expect(refused).toContain(`budget "g" has $${(estimate * 0.5).toFixed(4)} left for this day`);
    expect(refused).toContain(`less than this call may cost ($${estimate.toFixed(4)}`);
    expect(refused).not.toContain('used up');
    ledger.load({ budget: 'g', value: '', periodStart: periodStart('day', T) }, estimate * 1.5);
    await expect(svc.admit(admission())).rejects.toThrow(/is used up for this day/);
  });

  it('alert budgets never refuse, and warn once per threshold', async () => {
    const { svc, events } = service([{ name: 'watch', period: 'day', limit: 1, action: 'alert', warn: [0.5, 0.9] }]);
    for (let i = 0; i < 3; i++) {
      const a = admission();
      await svc.admit(a);
      svc.settle(a.state, 0.4);
    }
    await new Promise((r) => setTimeout(r, 10));
    expect(events.thresholds).toEqual([
      ['watch', 0.5],
      ['watch', 0.9],
    ]);
    expect((await svc.ratios()).get('watch')).toBeCloseTo(1.2, 9);
  });

  it('does not warn again of a threshold the spend restored at start had passed (QA34: a restart re-logged 80%)', async () => {
    const { svc, ledger, events } = service([
      { name: 'watch', period: 'day', limit: 1, action: 'alert', warn: [0.5, 0.9] },
    ]);
    const key = { budget: 'watch', value: '', periodStart: periodStart('day', T) };
    ledger.load(key, 0.6);
    svc.restored(key, 0.6);
    for (let i = 0; i < 2; i++) {
      const a = admission();
      await svc.admit(a);
      svc.settle(a.state, 0.2);
    }
    await new Promise((r) => setTimeout(r, 10));
    // 0.8 passes nothing new; 1.0 passes 0.9 once. Before: ['watch', 0.5] at 0.8 too.
    expect(events.thresholds).toEqual([['watch', 0.9]]);
  });

  it('gives keys their own budgets', async () => {
    const { svc } = service(
      [],
      [{ id: 'ci', hash: `sha256:${'a'.repeat(64)}`, budget: { limit: estimate * 0.5, period: 'day' } }],
    );
    await expect(svc.admit(admission({ key: 'ci' }))).rejects.toThrow(/budget "key:ci"/);
    await svc.admit(admission({ key: 'other' }));
  });

  it("names the setting of a key's budget's limit in its refusal, not budgets[].limit (QA38)", async () => {
    // A config key's own budget is `keys[].budget`: the refusal told the operator to raise budgets[].limit, which
    // holds no such budget.
    const { svc } = service(
      [{ name: 'team-day', scope: 'team', period: 'day', limit: estimate * 0.5 }],
      [{ id: 'ci', hash: `sha256:${'a'.repeat(64)}`, budget: { limit: estimate * 0.5, period: 'day' } }],
    );
    const refusal = (a: ReturnType<typeof admission>) =>
      svc.admit(a).then(
        () => '',
        (e: Error) => e.message,
      );
    const byKey = await refusal(admission({ key: 'ci' }));
    expect(byKey).toContain('raise keys[].budget.limit (key "ci")');
    expect(byKey).not.toContain('budgets[].limit');
    expect(await refusal(admission({ team: 'red' }))).toContain('raise budgets[].limit');
    // used up: spend at the limit
    await svc.ledger.add([{ budget: 'key:ci', value: 'ci', periodStart: Date.UTC(2025, 6, 15) }], estimate);
    expect(await refusal(admission({ key: 'ci' }))).toContain('Raise keys[].budget.limit (key "ci") in the config');
  });

  it('lets unpriced models through (their cost is unknown) but not once the budget is spent', async () => {
    const { svc, ledger } = service([{ name: 'g', period: 'day', limit: 1 }]);
    await svc.admit(admission({ model: 'mystery-model' }));
    ledger.load({ budget: 'g', value: '', periodStart: periodStart('day', T) }, 1);
    await expect(svc.admit(admission({ model: 'mystery-model' }))).rejects.toThrow(/used up/);
  });

  it('starts a new period at zero', async () => {
    let now = T;
    const { svc } = service([{ name: 'd', period: 'day', limit: estimate }], [], () => now);
    await svc.admit(admission());
    await expect(svc.admit(admission())).rejects.toThrow();
    now = T + 86_400_000;
    await svc.admit(admission());
  });
});

describe('estimates for Anthropic Messages and OpenAI Responses calls', () => {
  it('reads the prompt and the output cap in each format', () => {
    const text = 'word '.repeat(300);
    const floor = Math.ceil(text.length / 3);
    // Before, these formats' prompts were read as chat's and estimated at almost nothing.
    expect(
      estimateInputTokens({ system: text, messages: [{ role: 'user', content: text }] }, 'messages'),
    ).toBeGreaterThan(2 * floor);
    expect(
      estimateInputTokens(
        { instructions: text, input: [{ role: 'user', content: [{ type: 'input_text', text }] }] },
        'responses',
      ),
    ).toBeGreaterThan(2 * floor);
    expect(estimateInputTokens({ input: text }, 'responses')).toBeGreaterThan(floor);
    expect(maxOutputTokens({ max_output_tokens: 50 }, 'responses', 4096)).toBe(50);
    expect(maxOutputTokens({ max_tokens: 70 }, 'messages', 4096)).toBe(70);
  });
});
