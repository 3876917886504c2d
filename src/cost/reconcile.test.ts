import { describe, expect, it } from 'vitest';
import type { LlmCall } from '../calls/index.js';
import { type BillError, parseBill } from './bills.js';
import { costConfigOf } from './config.js';
import { dayStart, daysBetween, PriceBook } from './pricing.js';
import { formatReport, type ReconciliationReport, reconcile, type TrackedCell } from './reconcile.js';
import { runReconciliation } from './reconcile-run.js';
import { SpendQueries } from './spend-queries.js';
import { deltasOf, MemorySpendStore } from './storage/index.js';
import { fakeCall } from './testing.js';

const FT = 'ft:gpt-4o-mini-2024-07-18:acme:support:A1b2C3';
const prices = new PriceBook(costConfigOf({}).pricing);
const DAYS = daysBetween('2025-06-01', '2025-06-10');

/** Ten days of traffic: gpt-4o-mini for $15 a day, gpt-4o for $20, and calls to a fine-tuned model with no price. */
async function trackedStore(): Promise<SpendQueries> {
  const calls: LlmCall[] = [];
  for (const day of DAYS) {
    const t = dayStart(day) + 9 * 3_600_000;
    calls.push(fakeCall({ startedAt: t, model: 'gpt-4o-mini', inputTokens: 100_000_000, outputTokens: 0 }));
    calls.push(fakeCall({ startedAt: t + 1, model: 'gpt-4o', inputTokens: 8_000_000, outputTokens: 0 }));
    for (let i = 0; i < 5; i++)
      calls.push(fakeCall({ startedAt: t + 2 + i, model: FT, inputTokens: 2000, outputTokens: 300 }));
  }
  const unpriced = new Set<LlmCall>();
  for (const c of calls) {
    const p = prices.priceCall(c);
    c.costUsd = p.costUsd;
    if (p.unpriced) unpriced.add(c);
  }
  const store = new MemorySpendStore();
  await store.apply(deltasOf(calls, (c) => unpriced.has(c)));
  return new SpendQueries(store, costConfigOf({}).costs, [], () => Date.parse('2025-07-01T00:00:00Z'), 2 * 86_400_000);
}

const HEADER =
  'start_time,end_time,start_time_iso,end_time_iso,amount_value,amount_currency,line_item,project_id,project_name,organization_id,organization_name';

function openaiCsv(rows: [string, string, number][]): string {
  const lines = rows.map(([day, item, amount]) => {
    const s = dayStart(day) / 1000;
    return `${s},${s + 86400},${day}T00:00:00+00:00,${day}T00:00:00+00:00,${amount.toFixed(6)},usd,"${item}",proj_abc,Default project,org-xyz,Acme`;
  });
  return [HEADER, ...lines].join('\n');
}

/** The bill for the tracked traffic: model spend split into input/output lines as OpenAI's export does. */
function matchingRows(days: readonly string[]): [string, string, number][] {
  return days.flatMap((d): [string, string, number][] => [
    [d, 'gpt-4o-mini-2024-07-18, input', 12],
    [d, 'gpt-4o-mini-2024-07-18, cached input', 0.5],
    [d, 'gpt-4o-mini-2024-07-18, output', 2.5],
    [d, 'gpt-4o-2024-08-06, input', 20],
  ]);
}

const byKind = (r: ReconciliationReport, kind: string) => r.causes.find((c) => c.kind === kind);

describe('reconciliation against an OpenAI cost export', () => {
  it('reports no gap and no causes when the bill matches', async () => {
    const q = await trackedStore();
    const { report, record } = await runReconciliation(
      openaiCsv(matchingRows(DAYS)),
      { queries: q, prices },
      { source: 'openai-june.csv', threshold: 0.05 },
    );
    expect(report.format).toBe('openai');
    expect(report.billed_usd).toBeCloseTo(350, 6);
    expect(report.tracked_usd).toBeCloseTo(350, 6);
    expect(report.gap_usd).toBeCloseTo(0, 6);
    // The fine-tuned model was called but not billed in this bill, so it is not a cause either.
    expect(report.causes.filter((c) => c.kind !== 'unpriced_models')).toEqual([]);
    expect(report.recommended_buffer_ratio).toBe(0);
    expect(report.over_threshold).toBe(false);
    expect((await q.store.listReconciliations(5))[0]?.id).toBe(record.id);
  });

  it('finds a 30% gap and names its causes: an unpriced model and days with no tracked traffic', async () => {
    const q = await trackedStore();
    const rows = [
      ...matchingRows(DAYS),
      // The fine-tuned model: $8 a day that llmscope tracked as calls with no price.
      ...DAYS.flatMap((d): [string, string, number][] => [
        [d, `${FT}, input`, 3],
        [d, `${FT}, output`, 5],
      ]),
      // Two days the gateway saw nothing: traffic went straight to OpenAI.
      ...matchingRows(['2025-06-11', '2025-06-12']),
    ];
    const { report } = await runReconciliation(
      openaiCsv(rows),
      { queries: q, prices },
      { source: 'bill.csv', threshold: 0.05 },
    );
    expect(report.billed_usd).toBeCloseTo(500, 6);
    expect(report.tracked_usd).toBeCloseTo(350, 6);
    expect(report.gap_usd).toBeCloseTo(150, 6);
    expect(report.gap_ratio).toBeCloseTo(0.3, 9);
    expect(report.over_threshold).toBe(true);

    const days = byKind(report, 'untracked_days');
    expect(days?.days).toEqual(['2025-06-11', '2025-06-12']);
    expect(days?.gap_usd).toBeCloseTo(70, 6);
    const unpriced = byKind(report, 'unpriced_models');
    expect(unpriced?.models).toEqual([FT.toLowerCase()]);
    expect(unpriced?.gap_usd).toBeCloseTo(80, 6);
    expect(unpriced?.message).toContain('50 tracked call(s)');
    expect(byKind(report, 'unexplained')).toBeUndefined();
    expect(report.causes.map((c) => c.kind)).toEqual(['unpriced_models', 'untracked_days']);
    // 150 / 350 = 42.86% → 43% on tracked spend; nothing left once the causes are fixed.
    expect(report.recommended_buffer_ratio).toBeCloseTo(0.43, 9);
    expect(report.residual_buffer_ratio).toBe(0);
    expect(report.by_day.find((d) => d.day === '2025-06-11')).toMatchObject({ billed_usd: 35, tracked_usd: 0 });
    const text = formatReport(report);
    expect(text).toContain('gap      $150.00 (30.0% of the bill)');
    expect(text).toContain('untracked_days');
  });

  it('sees a price change, a steady price mismatch, models never seen, and non-token items', async () => {
    const q = await trackedStore();
    const rows: [string, string, number][] = DAYS.flatMap((d, i): [string, string, number][] => [
      [d, 'gpt-4o-mini-2024-07-18, input', i < 5 ? 15 : 18], // the provider raised the price on day 6
      [d, 'gpt-4o-2024-08-06, input', 18], // steadily 10% below what the catalog says
      [d, 'o3-mini-2025-01-31, input', 1], // never seen at the gateway
      [d, 'web search tool calls', 2],
    ]);
    const { report } = await runReconciliation(
      openaiCsv(rows),
      { queries: q, prices },
      { source: 'b.csv', threshold: 0.05 },
    );
    expect(byKind(report, 'price_change')).toMatchObject({ models: ['gpt-4o-mini'], days: ['2025-06-06'] });
    expect(byKind(report, 'price_change')?.gap_usd).toBeCloseTo(15, 6);
    expect(byKind(report, 'price_mismatch')?.models).toEqual(['gpt-4o']);
    expect(byKind(report, 'price_mismatch')?.gap_usd).toBeCloseTo(-20, 6);
    expect(byKind(report, 'untracked_models')).toMatchObject({ models: ['o3-mini'] });
    // the bill's web search line is matched against the calls' tool spend (decision 163), none here: a tool gap, not
    // a non-token item to track under costs
    expect(byKind(report, 'non_api_items')).toBeUndefined();
    expect(byKind(report, 'tool_charges')).toMatchObject({ items: ['web search tool calls'] });
    expect(byKind(report, 'tool_charges')?.gap_usd).toBeCloseTo(20, 6);
    expect(byKind(report, 'tool_charges')?.message).toContain('tool uses without a price (GET /api/cost/unpriced');
  });

  it('matches the bill’s tool lines against the calls’ tool spend, and the token lines against the rest (decision 163)', async () => {
    // each day: gpt-4o at $20 of tokens, and 100 web searches at $10 per 1,000 ($1) priced into the same calls
    const calls: LlmCall[] = [];
    for (const day of DAYS) {
      const c = fakeCall({
        startedAt: dayStart(day) + 9 * 3_600_000,
        model: 'gpt-4o',
        inputTokens: 8_000_000,
        outputTokens: 0,
      });
      c.price = {
        input: 2.5e-6,
        cachedInput: 1.25e-6,
        output: 1e-5,
        source: 'test',
        tools: [{ tool: 'web_search', unitPrice: 0.01, units: 100 }],
      };
      c.costUsd = 21;
      calls.push(c);
    }
    const store = new MemorySpendStore();
    await store.apply(deltasOf(calls, () => false));
    const q = new SpendQueries(
      store,
      costConfigOf({}).costs,
      [],
      () => Date.parse('2025-07-01T00:00:00Z'),
      2 * 86_400_000,
    );
    const rows = DAYS.flatMap((d): [string, string, number][] => [
      [d, 'gpt-4o-2024-08-06, input', 20],
      [d, 'web search tool calls', 1],
    ]);
    const { report } = await runReconciliation(
      openaiCsv(rows),
      { queries: q, prices },
      { source: 'b.csv', threshold: 0.05, save: false },
    );
    expect(report.billed_usd).toBeCloseTo(210, 6);
    expect(report.gap_usd).toBeCloseTo(0, 6);
    expect(report.causes).toEqual([]);
    const row = (model: string) => report.by_model.find((m) => m.model === model);
    expect(row('gpt-4o')).toMatchObject({ billed_usd: 200, tracked_usd: 200, gap_usd: 0 });
    expect(row('(built-in tools)')).toMatchObject({ billed_usd: 10, tracked_usd: 10, gap_usd: 0 });
  });

  it('matches Anthropic’s web_search cost type to the tool spend; file search storage stays a non-token item', () => {
    const tracked: TrackedCell[] = [
      {
        day: '2025-06-01',
        provider: 'anthropic',
        model: 'claude-sonnet-4-5',
        costUsd: 43.75,
        toolCostUsd: 1,
        requests: 9,
        unpriced: 0,
      },
      {
        day: '2025-06-01',
        provider: 'openai',
        model: 'gpt-4o',
        costUsd: 20.25,
        toolCostUsd: 0.25,
        requests: 4,
        unpriced: 0,
      },
    ];
    const anthropic = parseBill(
      [
        'usage_date_utc,model,workspace,api_key,usage_type,token_type,context_window,cost_usd',
        '2025-06-01,claude-sonnet-4-5-20250929,Default,prod,message,input_no_cache,0-200k,12.50',
        '2025-06-01,claude-sonnet-4-5-20250929,Default,prod,message,output,0-200k,30.25',
        '2025-06-01,,Default,prod,web_search,,,1.00',
      ].join('\n'),
    );
    const a = reconcile({ bill: anthropic, tracked, prices });
    expect(a.causes).toEqual([]);
    expect(a.by_model.find((m) => m.model === '(built-in tools)')).toMatchObject({ billed_usd: 1, tracked_usd: 1 });
    const openai = parseBill(
      openaiCsv([
        ['2025-06-01', 'gpt-4o-2024-08-06, input', 20],
        ['2025-06-01', 'file search tool calls', 0.25],
        ['2025-06-01', 'file search storage', 0.4],
      ]),
    );
    const o = reconcile({ bill: openai, tracked, prices });
    expect(o.causes.map((c) => [c.kind, c.items, c.gap_usd])).toEqual([
      ['non_api_items', ['file search storage'], 0.4],
    ]);
  });

  it('compares a bill that lists no tool uses apart with the calls’ whole cost, tools included (decision 163)', () => {
    // gpt-4o's calls cost $21 of which $1 web searches; the generic CSV's model total holds the searches
    const tracked: TrackedCell[] = [
      { day: '2025-06-01', provider: 'openai', model: 'gpt-4o', costUsd: 21, toolCostUsd: 1, requests: 4, unpriced: 0 },
      { day: '2025-06-02', provider: 'openai', model: 'gpt-4o', costUsd: 21, toolCostUsd: 1, requests: 4, unpriced: 0 },
    ];
    const generic = parseBill(
      'date,provider,model,amount_usd\n2025-06-01,openai,gpt-4o,21\n2025-06-02,openai,gpt-4o,21',
    );
    const g = reconcile({ bill: generic, tracked, prices });
    // before: a price_mismatch of +$2 and a tool_charges of -$2, for a bill that matched to the cent
    expect(g.causes).toEqual([]);
    expect(g.by_model.map((m) => [m.model, m.billed_usd, m.tracked_usd])).toEqual([['gpt-4o', 42, 42]]);
    // a bill that lists the searches apart is matched against the tool spend: a day it lists none billed none
    const listed = parseBill(
      'date,provider,model,amount_usd\n2025-06-01,openai,gpt-4o,20\n2025-06-01,openai,web search tool calls,1\n2025-06-02,openai,gpt-4o,20',
    );
    const m = reconcile({ bill: listed, tracked, prices });
    expect(m.causes.map((c) => [c.kind, c.gap_usd])).toEqual([['tool_charges', -1]]);
    expect(m.by_model.find((r) => r.model === '(built-in tools)')).toMatchObject({ billed_usd: 1, tracked_usd: 2 });
  });

  it('limits the comparison to --from/--to', async () => {
    const q = await trackedStore();
    const { report } = await runReconciliation(
      openaiCsv(matchingRows([...DAYS, '2025-06-11'])),
      { queries: q, prices },
      { source: 'b.csv', threshold: 0.05, from: '2025-06-01', to: '2025-06-05', save: false },
    );
    expect(report.billed_usd).toBeCloseTo(175, 6);
    expect(report.gap_usd).toBeCloseTo(0, 6);
    expect(await q.store.listReconciliations(5)).toEqual([]);
  });
});

describe('bills not split by line item (decision 53)', () => {
  // The tracked traffic costs $35 a day (gpt-4o-mini 15, gpt-4o 20; the fine-tuned model's calls are unpriced).
  const totalsCsv = (amount: (day: string, i: number) => number): string =>
    [
      'start_time,end_time,amount_value,amount_currency,project_id',
      ...DAYS.map((d, i) => {
        const s = dayStart(d) / 1000;
        return `${s},${s + 86400},${amount(d, i).toFixed(6)},usd,proj_abc`;
      }),
    ].join('\n');

  it('compares an OpenAI export without line items with the whole day, not as non-token items', async () => {
    const q = await trackedStore();
    const { report } = await runReconciliation(
      totalsCsv(() => 35),
      { queries: q, prices },
      { source: 'b.csv', threshold: 0.05, save: false },
    );
    expect(report.billed_usd).toBeCloseTo(350, 6);
    expect(report.tracked_usd).toBeCloseTo(350, 6);
    expect(report.causes).toEqual([]);
    expect(report.by_model).toEqual([expect.objectContaining({ model: '(whole bill)', gap_usd: 0, requests: 70 })]);
  });

  it('names the gap of a whole-day bill as unitemized, with the unpriced models that may be part of it', async () => {
    const q = await trackedStore();
    const { report } = await runReconciliation(
      totalsCsv((_, i) => (i < 2 ? 38.5 : 35)),
      { queries: q, prices },
      { source: 'b.csv', threshold: 0.05, save: false },
    );
    expect(report.gap_usd).toBeCloseTo(7, 6);
    expect(report.causes.map((c) => c.kind)).toEqual(['unitemized']);
    expect(byKind(report, 'unitemized')).toMatchObject({
      days: ['2025-06-01', '2025-06-02'],
      models: [FT.toLowerCase()],
    });
    expect(byKind(report, 'unitemized')?.gap_usd).toBeCloseTo(7, 6);
    expect(byKind(report, 'non_api_items')).toBeUndefined();
  });

  it('reads the Costs API and the Cost Report without grouping as whole days too', () => {
    const day = Date.parse('2025-06-01T00:00:00Z') / 1000;
    const openai = parseBill(
      JSON.stringify({
        object: 'page',
        data: [{ start_time: day, end_time: day + 86400, results: [{ amount: { value: 35, currency: 'usd' } }] }],
      }),
    );
    expect(openai.lines).toEqual([
      { day: '2025-06-01', provider: 'openai', model: null, item: 'total', amountUsd: 35, whole: true },
    ]);
    const anthropic = parseBill(
      JSON.stringify({
        data: [{ starting_at: '2025-06-01T00:00:00Z', results: [{ currency: 'USD', amount: '3500' }] }],
      }),
    );
    expect(anthropic.lines).toEqual([
      { day: '2025-06-01', provider: 'anthropic', model: null, item: 'total', amountUsd: 35, whole: true },
    ]);
    // grouped by line item / description: split lines as before
    const split = parseBill(
      JSON.stringify({
        data: [{ starting_at: '2025-06-01T00:00:00Z', results: [{ amount: '100', description: 'Web search' }] }],
      }),
    );
    expect(split.lines[0]?.whole).toBeUndefined();
  });
});

describe('price changes in the catalog', () => {
  const days = daysBetween('2025-06-08', '2025-06-12');
  const tracked: TrackedCell[] = days.map((day) => ({
    day,
    provider: 'openai',
    model: 'o3',
    costUsd: 10,
    requests: 5,
    unpriced: 0,
  }));
  const bill = (amount: (day: string) => number) => ({
    format: 'generic' as const,
    lines: days.map((day) => ({ day, provider: 'openai', model: 'o3-2025-04-16', item: 'o3', amountUsd: amount(day) })),
  });

  it('is no cause when the bill agrees with the tracked spend', () => {
    const r = reconcile({ bill: bill(() => 10), tracked, prices });
    expect(r.causes).toEqual([]);
  });

  it('names the catalog change when the bill departs from tracked spend around it', () => {
    const r = reconcile({ bill: bill((d) => (d >= '2025-06-10' ? 12 : 10)), tracked, prices });
    expect(r.causes).toMatchObject([{ kind: 'price_change', models: ['o3'], days: ['2025-06-10'], gap_usd: 6 }]);
  });
});

describe('bill formats', () => {
  it('reads the Costs API JSON (OpenAI)', () => {
    const bill = parseBill(
      JSON.stringify({
        object: 'page',
        data: [
          {
            object: 'bucket',
            start_time: 1730419200,
            end_time: 1730505600,
            results: [
              {
                object: 'organization.costs.result',
                amount: { value: 0.06, currency: 'usd' },
                line_item: 'gpt-4o-mini-2024-07-18, input',
                project_id: null,
              },
            ],
          },
        ],
      }),
    );
    expect(bill).toEqual({
      format: 'openai',
      lines: [
        {
          day: '2024-11-01',
          provider: 'openai',
          model: 'gpt-4o-mini-2024-07-18',
          item: 'gpt-4o-mini-2024-07-18, input',
          amountUsd: 0.06,
        },
      ],
    });
  });

  it('reads Anthropic cost exports: CSV in dollars, Cost Report JSON in cents', () => {
    const csv = [
      'usage_date_utc,model,workspace,api_key,usage_type,token_type,context_window,cost_usd',
      '2025-06-01,claude-sonnet-4-20250514,Default,prod,message,input_no_cache,0-200k,12.50',
      '2025-06-01,claude-sonnet-4-20250514,Default,prod,message,output,0-200k,30.25',
      '2025-06-01,,Default,prod,web_search,,,1.00',
    ].join('\n');
    const b = parseBill(csv);
    expect(b.format).toBe('anthropic');
    expect(b.lines.map((l) => [l.model, l.amountUsd])).toEqual([
      ['claude-sonnet-4-20250514', 12.5],
      ['claude-sonnet-4-20250514', 30.25],
      [null, 1],
    ]);
    const json = parseBill(
      JSON.stringify({
        data: [
          {
            starting_at: '2025-06-02T00:00:00Z',
            ending_at: '2025-06-03T00:00:00Z',
            results: [
              {
                amount: '1234.5',
                currency: 'USD',
                cost_type: 'tokens',
                model: 'claude-3-5-haiku-20241022',
                token_type: 'output_tokens',
                description: 'Claude Haiku 3.5 Usage - Output Tokens',
              },
              { amount: '100', currency: 'USD', cost_type: 'web_search', model: null, description: 'Web Search' },
            ],
          },
        ],
        has_more: false,
      }),
    );
    expect(json.format).toBe('anthropic');
    expect(json.lines).toEqual([
      {
        day: '2025-06-02',
        provider: 'anthropic',
        model: 'claude-3-5-haiku-20241022',
        item: 'Claude Haiku 3.5 Usage - Output Tokens',
        amountUsd: 12.345,
      },
      { day: '2025-06-02', provider: 'anthropic', model: null, item: 'Web Search', amountUsd: 1 },
    ]);
  });

  it('reads the generic CSV and says what is wrong with a bad one', () => {
    const b = parseBill(
      'date,provider,model,amount_usd\n2025-06-01,Mistral,mistral-large-latest,"1,204.50"\n2025-06-01,mistral,,3',
    );
    expect(b.lines).toEqual([
      {
        day: '2025-06-01',
        provider: 'mistral',
        model: 'mistral-large-latest',
        item: 'mistral-large-latest',
        amountUsd: 1204.5,
      },
      { day: '2025-06-01', provider: 'mistral', model: null, item: 'other', amountUsd: 3 },
    ]);
    expect(() => parseBill('when,what\n1,2')).toThrow(/generic CSV: date,provider,model,amount_usd/);
    expect(() => parseBill('date,provider,model,amount_usd\nyesterday,openai,gpt-4o,1')).toThrow(
      /^line 2: "date" must be a date like 2025-01-31, got "yesterday"/,
    );
    // a date of the right shape that is no calendar day (it was kept as written: a report row for 2025-02-30)
    expect(() => parseBill('date,provider,model,amount_usd\n2025-02-30,openai,gpt-4o,1')).toThrow(
      /^line 2: "date" must be a date like 2025-01-31, got "2025-02-30"/,
    );
    expect(() => parseBill('date,provider,model,amount_usd\n2025-13-01,openai,gpt-4o,1')).toThrow(/got "2025-13-01"/);
    expect(parseBill('date,provider,model,amount_usd\n2024-02-29,openai,gpt-4o,1').lines[0]?.day).toBe('2024-02-29');
    // the file line, counting the header and blank lines before the bad row
    const bad = (() => {
      try {
        parseBill('date,provider,model,amount_usd\n2025-06-01,openai,gpt-4o,1\n\n2025-06-02,openai,gpt-4o,lots\n');
      } catch (err) {
        return err as BillError;
      }
    })();
    expect(bad?.line).toBe(4);
    expect(bad?.message).toBe('line 4: "amount_usd" must be a number, got "lots"');
    expect(() => parseBill('date,provider,model,amount_usd\n2025-06-01,"openai,gpt-4o,1\n')).toThrow(/not valid CSV/);
    expect(() => parseBill(`${HEADER}\n1,2,,,5,eur,"gpt-4o, input",p,p,o,o`)).toThrow(/only USD/);
  });
});

describe('matching calls to the bill by provider and model aliases', () => {
  const cells = (provider: string, model: string, costUsd: number, requests = 900): TrackedCell[] =>
    DAYS.map((day) => ({ day, provider, model, costUsd, requests, unpriced: 0 }));
  const generic = (provider: string, model: string, amount: number) =>
    parseBill(['date,provider,model,amount_usd', ...DAYS.map((d) => `${d},${provider},${model},${amount}`)].join('\n'));

  it('a gateway provider named simulator, billed as simulator with dated model names: every call is seen', () => {
    const r = reconcile({
      bill: generic('simulator', 'gpt-4o-2024-08-06', 10),
      tracked: cells('simulator', 'gpt-4o', 10),
      prices,
    });
    expect(r.tracked_usd).toBeCloseTo(100, 6);
    expect(r.gap_usd).toBeCloseTo(0, 6);
    expect(r.causes).toEqual([]);
    expect(r.by_model).toMatchObject([{ provider: 'simulator', model: 'gpt-4o', requests: 9000 }]);
  });

  it('calls through a provider named after its host count against that host’s bill', () => {
    const r = reconcile({
      bill: generic('openai', 'gpt-4o-2024-08-06', 10),
      tracked: cells('openai-prod', 'gpt-4o', 10),
      prices,
      billers: new Map([['openai-prod', 'openai']]),
    });
    expect(r.gap_usd).toBeCloseTo(0, 6);
    expect(byKind(r, 'untracked_models')).toBeUndefined();
  });

  it('GenAI-convention provider names (mistral_ai, gcp.gemini) match the catalog’s, and unknown models match undated', () => {
    const r = reconcile({
      bill: generic('mistral', 'my-model-2025-01-31', 4),
      tracked: cells('mistral_ai', 'my-model', 4),
      prices,
    });
    expect(r.providers).toEqual(['mistral']);
    expect(r.gap_usd).toBeCloseTo(0, 6);
  });

  it('a bill of aws.bedrock matches the calls recorded under bedrock (an agent framework’s, decision 165)', () => {
    const r = reconcile({
      bill: generic('aws.bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 6),
      tracked: cells('bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0', 6),
      prices,
    });
    expect(r.providers).toEqual(['bedrock']);
    expect(r.gap_usd).toBeCloseTo(0, 6);
    expect(byKind(r, 'untracked_models')).toBeUndefined();
  });

  it('a bill naming the cloud service as its console does (Amazon Bedrock, Vertex AI) matches bedrock and google', () => {
    // AWS Cost Explorer's service is "Amazon Bedrock", Google Cloud's "Vertex AI": before, the whole bill was
    // untracked_days (the aliases knew amazon_bedrock and vertex_ai, not the names with a space)
    for (const [billed, recorded, model] of [
      ['Amazon Bedrock', 'bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0'],
      ['AWS Bedrock', 'bedrock', 'us.anthropic.claude-sonnet-4-20250514-v1:0'],
      ['Vertex AI', 'google', 'gemini-2.0-flash'],
      ['Mistral AI', 'mistral', 'mistral-large-latest'],
    ] as const) {
      const r = reconcile({ bill: generic(billed, model, 6), tracked: cells(recorded, model, 6), prices });
      expect(r.providers, billed).toEqual([recorded]);
      expect(r.causes, billed).toEqual([]);
    }
  });

  it('caps the buffer it recommends when tracking misses most of the bill, and says why', () => {
    const r = reconcile({ bill: generic('openai', 'gpt-4o', 895), tracked: cells('openai', 'gpt-4o', 1), prices });
    expect(r.gap_usd / r.tracked_usd).toBeCloseTo(894, 6);
    expect(r.recommended_buffer_ratio).toBe(0.5);
    expect(r.buffer_capped).toBe(true);
    expect(r.buffer_note).toContain('894.0× tracked spend');
    const text = formatReport(r);
    expect(text).toContain('buffer   50.0% on tracked spend (capped)');
    expect(text).not.toMatch(/\d{4,}\.\d%/);
    const none = reconcile({ bill: generic('openai', 'gpt-4o', 5), tracked: [], prices });
    expect(none.recommended_buffer_ratio).toBeNull();
    expect(none.buffer_note).toContain('nothing was tracked for openai');
    const most = reconcile({ bill: generic('openai', 'gpt-4o', 18), tracked: cells('openai', 'gpt-4o', 10), prices });
    expect(most.buffer_note).toContain('the gap is 80% of tracked spend');
    const fine = reconcile({ bill: generic('openai', 'gpt-4o', 10.5), tracked: cells('openai', 'gpt-4o', 10), prices });
    expect(fine.recommended_buffer_ratio).toBe(0.05);
    expect(fine.buffer_capped).toBe(false);
    expect(fine.buffer_note).toBeNull();
  });
});

describe('the unpriced_models cause says how to fix each model (QA48)', () => {
  const day = '2025-06-03';
  const bill = parseBill(
    ['date,provider,model,amount_usd', `${day},openai,tts-1,3`, `${day},openai,my-tts,2`].join('\n'),
  );
  const cell = (model: string, unpriced: number): TrackedCell => ({
    day,
    provider: 'openai',
    model,
    costUsd: 1,
    requests: unpriced + 1,
    unpriced,
  });

  it('a model with a price (tts-1) counted unpriced is told to send its records’ cost or units, not to be priced', () => {
    const r = reconcile({ bill, tracked: [cell('tts-1', 2), cell('my-tts', 1)], prices });
    const cause = r.causes.find((c) => c.kind === 'unpriced_models');
    expect(cause?.models).toEqual(['my-tts', 'tts-1']);
    expect(cause?.message).toContain('3 tracked call(s) to my-tts, tts-1 have no cost');
    expect(cause?.message).toContain('add my-tts under pricing.models');
    expect(cause?.message).toContain('tts-1 has a price, but calls sent to /api/ingest said neither their cost nor');
    expect(cause?.message).not.toContain('tts-1 under pricing.models');
  });

  it('a model without a price alone is told to be priced', () => {
    const r = reconcile({ bill, tracked: [cell('my-tts', 1)], prices });
    const cause = r.causes.find((c) => c.kind === 'unpriced_models');
    expect(cause?.message).toBe('1 tracked call(s) to my-tts have no cost: add my-tts under pricing.models');
  });
});
