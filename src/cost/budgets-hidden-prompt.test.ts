// Decision 48: the admission estimate counts prompts a body names but does not carry (a Responses
// previous_response_id or conversation, a Gemini cachedContent) from what settled calls said, and prices a Claude
// body asking for the 1-hour cache at its write price. The end-to-end cases (official SDKs, concurrent calls, serve
// --workers) are test/e2e/qa-cost-budget-hidden-prompt*.test.ts.
import { describe, expect, it } from 'vitest';
import type { Endpoint, LlmCall } from '../calls/index.js';
import type { Admission } from '../gateway/proxy.js';
import {
  asksCache1h,
  BudgetService,
  budgetsFrom,
  estimateInputTokens,
  HIDDEN_PROMPT_MEMORY,
  INPUT_ESTIMATE,
  InProcessBudgetLedger,
  outputLimitFields,
  periodStart,
} from './budgets.js';
import { costConfigOf } from './config.js';
import { PriceBook } from './pricing.js';

const T = Date.parse('2025-07-15T10:00:00Z');
const KEY = { budget: 'all', value: '', periodStart: periodStart('day', T) };

function service() {
  const cfg = costConfigOf({
    budgets: [{ name: 'all', scope: 'global', period: 'day', limit: 1000, action: 'block' }],
  });
  const ledger = new InProcessBudgetLedger();
  const svc = new BudgetService(budgetsFrom(cfg.budgets, cfg.keys), ledger, new PriceBook(cfg.pricing), () => T);
  return { svc, ledger };
}

function admission(endpoint: Endpoint, model: string, provider: string, body: Record<string, unknown>): Admission {
  return {
    requestId: 'r',
    endpoint,
    model,
    provider,
    body,
    headers: {},
    attribution: { user: null, team: null, feature: null, session: null, apiKeyId: null },
    forwardClientAuth: true,
    state: {},
  };
}

/** What one admission of `a` reserves (then settled, as a call that spent nothing, without a call to remember). */
async function reserved(svc: BudgetService, ledger: InProcessBudgetLedger, a: Admission): Promise<number> {
  await svc.admit(a);
  const r = ledger.state(KEY).reserved;
  svc.settle(a.state, 0);
  return r;
}

/** Admits and settles a call that said these tokens (and this response id). */
async function settled(svc: BudgetService, a: Admission, call: Partial<LlmCall>, responseId?: string): Promise<void> {
  await svc.admit(a);
  svc.settle(a.state, 0, {
    endpoint: a.endpoint,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    ...call,
    internal: { responseId: responseId ?? null },
  } as LlmCall);
}

const responses = (body: Record<string, unknown>) =>
  admission('responses', 'gpt-4o', 'openai', { model: 'gpt-4o', input: 'go on', max_output_tokens: 16, ...body });

describe('the estimate of a prompt the body does not carry', () => {
  it('previous_response_id adds the earlier response input + output tokens at the input price', async () => {
    const { svc, ledger } = service();
    const alone = await reserved(svc, ledger, responses({}));
    // an id never seen: the body alone, as before
    expect(await reserved(svc, ledger, responses({ previous_response_id: 'resp_unknown' }))).toBeCloseTo(alone, 12);
    await settled(svc, responses({}), { inputTokens: 40_000, outputTokens: 2_000 }, 'resp_1');
    const chained = await reserved(svc, ledger, responses({ previous_response_id: 'resp_1' }));
    // gpt-4o: $2.50 per 1M input
    expect(chained - alone).toBeCloseTo((42_000 * 2.5) / 1e6, 9);
  });

  it('a conversation adds the size of the last call continuing it', async () => {
    const { svc, ledger } = service();
    const alone = await reserved(svc, ledger, responses({}));
    await settled(svc, responses({ conversation: 'conv_1' }), { inputTokens: 9_000, outputTokens: 1_000 }, 'resp_a');
    await settled(svc, responses({ conversation: { id: 'conv_1' } }), { inputTokens: 19_000, outputTokens: 1_000 });
    const next = await reserved(svc, ledger, responses({ conversation: { id: 'conv_1' } }));
    expect(next - alone).toBeCloseTo((20_000 * 2.5) / 1e6, 9);
  });

  it('a Gemini cachedContent adds the cached tokens its last call was billed, at the cached price', async () => {
    const { svc, ledger } = service();
    const gemini = (extra: Record<string, unknown>) =>
      admission('generate_content', 'gemini-2.5-flash', 'google', {
        contents: [{ role: 'user', parts: [{ text: 'and the next chapter?' }] }],
        generationConfig: { maxOutputTokens: 10 },
        ...extra,
      });
    const alone = await reserved(svc, ledger, gemini({}));
    expect(await reserved(svc, ledger, gemini({ cachedContent: 'cachedContents/book' }))).toBeCloseTo(alone, 12);
    await settled(svc, gemini({ cachedContent: 'cachedContents/book' }), {
      inputTokens: 300_010,
      outputTokens: 10,
      cachedInputTokens: 300_000,
    });
    const next = await reserved(svc, ledger, gemini({ cachedContent: 'cachedContents/book' }));
    // gemini-2.5-flash: $0.03 per 1M cached input
    expect(next - alone).toBeCloseTo((300_000 * 0.03) / 1e6, 9);
  });

  it('a Claude body asking for the 1-hour cache is priced at its write price (2 x input), not 1.25 x', async () => {
    const { svc, ledger } = service();
    const text = 'x'.repeat(30_000);
    const claude = (cacheControl: Record<string, unknown>) =>
      admission('messages', 'claude-sonnet-4-5', 'anthropic', {
        model: 'claude-sonnet-4-5',
        max_tokens: 1,
        system: [{ type: 'text', text, cache_control: cacheControl }],
        messages: [{ role: 'user', content: 'hi' }],
      });
    const fiveMinutes = await reserved(svc, ledger, claude({ type: 'ephemeral' }));
    const hour = await reserved(svc, ledger, claude({ type: 'ephemeral', ttl: '1h' }));
    const input = estimateInputTokens(claude({}).body, 'messages');
    expect(fiveMinutes).toBeCloseTo((input * 3.75 + 15) / 1e6, 9);
    expect(hour).toBeCloseTo((input * 6 + 15) / 1e6, 9);
  });

  it('remembers at most HIDDEN_PROMPT_MEMORY ids, the oldest out', async () => {
    const { svc, ledger } = service();
    const alone = await reserved(svc, ledger, responses({}));
    for (let i = 0; i <= HIDDEN_PROMPT_MEMORY; i++)
      await settled(svc, responses({}), { inputTokens: 1_000 + i, outputTokens: 0 }, `resp_${i}`);
    expect(await reserved(svc, ledger, responses({ previous_response_id: 'resp_0' }))).toBeCloseTo(alone, 12);
    expect(await reserved(svc, ledger, responses({ previous_response_id: 'resp_1' }))).toBeGreaterThan(alone);
  });
});

describe('what a gateway worker hands the recorder process (serve --workers)', () => {
  it('the ids and the 1-hour ask, so the estimate from those few fields is the one from the whole body', async () => {
    const { svc, ledger } = service();
    await settled(svc, responses({}), { inputTokens: 40_000, outputTokens: 2_000 }, 'resp_1');
    const bodies: [Endpoint, string, string, Record<string, unknown>][] = [
      ['responses', 'gpt-4o', 'openai', { input: 'go on', previous_response_id: 'resp_1', max_output_tokens: 9 }],
      [
        'messages',
        'claude-sonnet-4-5',
        'anthropic',
        {
          max_tokens: 5,
          messages: [
            { role: 'user', content: [{ type: 'text', text: 'y'.repeat(9_000), cache_control: { ttl: '1h' } }] },
          ],
        },
      ],
    ];
    for (const [endpoint, model, provider, body] of bodies) {
      const whole = await reserved(svc, ledger, admission(endpoint, model, provider, body));
      const few = admission(endpoint, model, provider, outputLimitFields(body));
      few.state[INPUT_ESTIMATE] = estimateInputTokens(body, endpoint);
      expect(await reserved(svc, ledger, few)).toBeCloseTo(whole, 12);
    }
    expect(outputLimitFields({ conversation: { id: 'conv_1', extra: 'x'.repeat(100) } })).toEqual({
      conversation: 'conv_1',
    });
  });

  it('asksCache1h reads the top level, system blocks, tools and message blocks', () => {
    const h = { type: 'ephemeral', ttl: '1h' };
    expect(asksCache1h({ cache_control: h })).toBe(true);
    expect(asksCache1h({ system: [{ type: 'text', text: 'a', cache_control: h }] })).toBe(true);
    expect(asksCache1h({ tools: [{ name: 't', cache_control: h }] })).toBe(true);
    expect(asksCache1h({ messages: [{ role: 'user', content: [{ type: 'text', cache_control: h }] }] })).toBe(true);
    expect(asksCache1h({ system: 'a', messages: [{ role: 'user', content: 'b' }] })).toBe(false);
    expect(
      asksCache1h({ messages: [{ role: 'user', content: [{ type: 'text', cache_control: { ttl: '5m' } }] }] }),
    ).toBe(false);
  });
});
