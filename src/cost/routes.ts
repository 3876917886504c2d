// GET/POST /api/cost/*: spend summaries, top spenders, time series, forecast, total cost by day, budgets, prices,
// reconciliations and cost item imports, for the dashboard and for users.
import { z } from 'zod';
import type { Audit } from '../audit/index.js';
import { BUILT_IN_TOOLS, METADATA_HEADER_PREFIX, metadataKeyProblem, type ToolUses } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { type HttpContext, parseQuery, type Router, readBody, type Scope, sendJson } from '../http/index.js';
import type { StoreBackend } from '../store/index.js';
import { DAY_MS, timeParamSchema } from '../time.js';
import { BILL_FORMATS, BillError, type BillFormat } from './bills.js';
import { periodEnd } from './budgets.js';
import { CATALOG_FILES } from './catalog/index.js';
import { summaryCsv, summaryCsvName } from './csv.js';
import { CostItemsError, parseCostItems } from './non-api.js';
import { audioPricesOf, dayOf, dayStart, pricesFor, servicePrices } from './pricing.js';
import { runReconciliation } from './reconcile-run.js';
import { r9 } from './round.js';
import type { CostRuntime } from './runtime.js';
import { type Forecast, metadataSummary, type SpendQueries } from './spend-queries.js';
import { GROUP_DIMENSIONS, type GroupDimension, type ReconciliationRecord } from './storage/index.js';

const time = timeParamSchema;
const rangeSchema = { from: time.optional(), to: time.optional() };

function parse<T extends z.ZodType>(schema: T, url: URL): z.infer<T> {
  return parseQuery(schema, url);
}

function monthStart(t: number): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
}

function range(q: { from?: number; to?: number }, now: number, defaultFrom: (to: number) => number) {
  const to = q.to ?? now;
  const from = q.from ?? defaultFrom(to);
  if (from >= to)
    throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must be before "to"', { param: 'from' });
  return { from, to };
}

const GROUPS: readonly string[] = [...GROUP_DIMENSIONS, 'day'];
/** One use of each built-in tool: what /api/cost/prices asks the price book the price of. */
const TOOL_PROBE: ToolUses = Object.fromEntries(BUILT_IN_TOOLS.map((t) => [t, 1]));
const summarySchema = z.object({
  ...rangeSchema,
  // meta.<key>: a metadata key (x-llmscope-meta-<key>), summed from raw calls
  group_by: z
    .string()
    .refine((g) => GROUPS.includes(g) || (g.startsWith('meta.') && metadataKeyProblem(g.slice(5)) === null), {
      message: `expected one of ${GROUPS.join(', ')}, or meta.<key> with <key> a metadata key (a lowercase header token, as in ${METADATA_HEADER_PREFIX}<key>)`,
    })
    .optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
  // csv: the same summary as a spreadsheet's rows (./csv.ts), a download
  format: z.enum(['json', 'csv'], { message: 'expected json (the default) or csv' }).optional(),
});
const topSchema = z.object({
  ...rangeSchema,
  dimension: z.enum(GROUP_DIMENSIONS).default('user'),
  limit: z.coerce.number().int().min(1).max(1000).default(10),
});
const seriesSchema = z.object({
  ...rangeSchema,
  step: z.enum(['minute', 'hour', 'day']).optional(),
  dimension: z.enum(GROUP_DIMENSIONS).optional(),
  value: z.string().optional(),
});
const reconcileSchema = z.object({
  format: z.enum(BILL_FORMATS as [BillFormat, ...BillFormat[]]).optional(),
  from: z.iso.date().optional(),
  to: z.iso.date().optional(),
  save: z.enum(['true', 'false']).optional(),
});

/** The month's figures /api/cost/summary adds: null for a team-scoped principal (every team's, non-API costs too). */
const NO_FORECAST = {
  month_to_date_usd: null,
  forecast_month_end_usd: null,
  forecast_rate_span_days: null,
  forecast_basis: null,
  forecast_note: null,
};
function monthFigures(f: Forecast) {
  return {
    month_to_date_usd: f.total_usd_mtd,
    forecast_month_end_usd: f.forecast_total_usd,
    forecast_rate_span_days: f.rate_span_days,
    forecast_basis: f.forecast_basis,
    forecast_note: f.forecast_note,
  };
}

function recordSummary(r: ReconciliationRecord) {
  const report = r.report as { over_threshold?: boolean; providers?: string[]; causes?: { kind: string }[] };
  return {
    id: r.id,
    created_at: new Date(r.createdAt).toISOString(),
    source: r.source,
    from: r.fromDay,
    to: r.toDay,
    providers: report.providers ?? [],
    billed_usd: r.billedUsd,
    tracked_usd: r.trackedUsd,
    gap_usd: r.gapUsd,
    gap_ratio: r.gapRatio,
    over_threshold: report.over_threshold ?? false,
    causes: (report.causes ?? []).map((c) => c.kind),
  };
}

/** A summary as a CSV download (the month's figures are not rows of it: they are no group's). */
function sendCsv(
  res: HttpContext['res'],
  s: Parameters<typeof summaryCsv>[0] & { from: string; to: string },
  groupBy: string | undefined,
): void {
  const text = summaryCsv(s, groupBy);
  res.writeHead(200, {
    'content-type': 'text/csv; charset=utf-8',
    'content-disposition': `attachment; filename="${summaryCsvName(groupBy, s.from, s.to)}"`,
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export interface CostRouteDeps {
  rt: CostRuntime;
  queries: SpendQueries;
  bodyLimit: number;
  /** Unpriced models seen since start: `provider/model` → calls. */
  unpriced: ReadonlyMap<string, number>;
  /** Built-in tool uses without a price this process recorded (decision 162), per provider, tool and model. */
  unpricedTools?: ReadonlyMap<string, { provider: string; tool: string; model: string; uses: number; last: number }>;
  onReconciled?: (r: ReconciliationRecord) => void;
  /** The app's database: `group_by=meta.<key>` sums its raw calls (spend aggregates hold no metadata). */
  calls?: StoreBackend;
  /** Spend queries narrowed to a team scope (from the call rollups); without it, scoped principals are refused. */
  scopedQueries?: (scope: Scope) => SpendQueries;
  /** Where bill imports and cost items are recorded (who, from where, what). */
  audit?: Audit;
}

export function registerCostRoutes(api: Router, d: CostRouteDeps): void {
  const { rt, queries } = d;
  const now = (): number => rt.clock.now();
  /** The spend a principal may read: everything, or its scope's (403 when scopes cannot be answered). */
  const spendFor = ({ principal }: Pick<HttpContext, 'principal'>): SpendQueries => {
    if (!principal?.scope) return d.queries;
    if (d.scopedQueries) return d.scopedQueries(principal.scope);
    throw new LlmscopeError('LLMSCOPE_ERR_FORBIDDEN', 'spend is not available to team-scoped principals here');
  };

  api.get('/api/cost/summary', async (http) => {
    const { res, url } = http;
    const q = parse(summarySchema, url);
    const { from, to } = range(q, now(), monthStart);
    if (q.group_by?.startsWith('meta.')) {
      if (!d.calls)
        throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', 'group_by=meta.<key> is not available here', {
          param: 'group_by',
        });
      const scope = http.principal?.scope;
      const s = await metadataSummary(d.calls, {
        from,
        to,
        key: q.group_by.slice(5),
        limit: q.limit,
        teams: scope?.teams,
        features: scope?.features,
      });
      if (q.format === 'csv') return sendCsv(res, s, q.group_by);
      if (scope) return sendJson(res, 200, { ...s, ...NO_FORECAST });
      return sendJson(res, 200, { ...s, ...monthFigures(await d.queries.forecast()) });
    }
    const s = await spendFor(http).summary({
      from,
      to,
      groupBy: q.group_by as GroupDimension | 'day' | undefined,
      limit: q.limit,
    });
    if (q.format === 'csv') return sendCsv(res, s, q.group_by);
    // The month's total and forecast include non-API costs and every team: a scoped principal gets null.
    if (http.principal?.scope) return sendJson(res, 200, { ...s, ...NO_FORECAST });
    sendJson(res, 200, { ...s, ...monthFigures(await d.queries.forecast()) });
  });

  api.get('/api/cost/top', async (http) => {
    const { res, url } = http;
    const q = parse(topSchema, url);
    const { from, to } = range(q, now(), monthStart);
    const s = await spendFor(http).summary({ from, to, groupBy: q.dimension, limit: q.limit });
    sendJson(res, 200, {
      from: s.from,
      to: s.to,
      dimension: q.dimension,
      resolution: s.resolution,
      read_from: s.read_from,
      read_to: s.read_to,
      top: s.groups,
    });
  });

  api.get('/api/cost/timeseries', async (http) => {
    const { res, url } = http;
    const q = parse(seriesSchema, url);
    const { from, to } = range(q, now(), (t) => t - DAY_MS);
    const span = to - from;
    const step = q.step ?? (span <= 6 * 3_600_000 ? 'minute' : span <= 7 * DAY_MS ? 'hour' : 'day');
    if ((to - from) / { minute: 60_000, hour: 3_600_000, day: DAY_MS }[step] > 10_000)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        `too many ${step} steps; use a larger step or a shorter range`,
        {
          param: 'step',
        },
      );
    const points = await spendFor(http).timeseries({ from, to, step, dimension: q.dimension, value: q.value });
    sendJson(res, 200, { from: new Date(from).toISOString(), to: new Date(to).toISOString(), step, points });
  });

  api.get('/api/cost/forecast', async ({ res }) => sendJson(res, 200, await queries.forecast()));

  api.get('/api/cost/daily', async ({ res, url }) => {
    const q = parse(z.object(rangeSchema), url);
    const { from, to } = range(q, now(), monthStart);
    // a row per day: 0001-01-01 … 9999-12-31 held the event loop for 30 s and answered 277 MB
    if ((to - from) / DAY_MS > 10_000)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_QUERY',
        'more than 10000 days; use a shorter range (from, to), or /api/cost/summary for the total',
        { param: 'from' },
      );
    const days = await queries.daily(dayOf(from), dayOf(to - 1));
    // the range's totals rounded as each day's are (r9): summed as they were, 0.1 + 0.2 answered 0.30000000000000004
    const sum = (k: 'api_usd' | 'non_api_usd' | 'total_usd') => r9(days.reduce((s, x) => s + x[k], 0));
    sendJson(res, 200, {
      from: dayOf(from),
      to: dayOf(to - 1),
      api_usd: sum('api_usd'),
      api_tool_usd: days.some((x) => x.api_tool_usd === null)
        ? null
        : r9(days.reduce((s, x) => s + (x.api_tool_usd ?? 0), 0)),
      non_api_usd: sum('non_api_usd'),
      total_usd: sum('total_usd'),
      days,
    });
  });

  api.get('/api/cost/budgets', async ({ res }) => {
    const t = now();
    const ratios = await rt.budgets.ratios();
    const buckets = await rt.ledger.buckets();
    const body = rt.budgetList.map((b) => {
      const mine = buckets
        .filter((x) => x.key.budget === b.name)
        .sort((x, y) => y.key.periodStart - x.key.periodStart || y.spent - x.spent)
        .slice(0, 100);
      return {
        name: b.name,
        scope: b.scope,
        match: b.match,
        period: b.period,
        limit_usd: b.limit,
        action: b.action,
        warn: b.warn,
        ratio: r9(ratios.get(b.name) ?? 0),
        resets_at: new Date(periodEnd(b.period, t)).toISOString(),
        buckets: mine.map((x) => ({
          value: b.scope === 'global' ? null : x.key.value,
          period_start: new Date(x.key.periodStart).toISOString(),
          spent_usd: r9(x.spent),
          reserved_usd: r9(x.reserved),
          in_flight: x.inFlight,
          ratio: b.limit > 0 ? r9(x.spent / b.limit) : null,
        })),
      };
    });
    sendJson(res, 200, { budgets: body });
  });

  api.get('/api/cost/prices', async ({ res, url }) => {
    const q = parse(
      z.object({
        model: z.string().min(1),
        provider: z.string().optional(),
        at: time.optional(),
        input_tokens: z.coerce.number().optional(),
      }),
      url,
    );
    const p = rt.prices.resolve(q.model, q.provider ?? null, q.at ?? now());
    if (!p) return sendJson(res, 200, { model: q.model, priced: false });
    const applied = pricesFor(p, q.input_tokens ?? 0);
    const audio = audioPricesOf(applied);
    // What a call the answer says a service tier served is charged (OpenAI's Flex and Priority processing), as
    // priceCall prices it; null: such a call is charged `per_million`.
    const tierPrices = (tier: string) => {
      const t = servicePrices(p, tier, applied);
      return t === applied ? null : { input: t.input, cached_input: t.cachedInput, output: t.output };
    };
    sendJson(res, 200, {
      model: q.model,
      priced: true,
      source: p.source,
      catalog_model: p.entry?.model ?? null,
      billed_by: p.billedBy,
      effective_from: p.effectiveFrom,
      per_million: {
        input: applied.input,
        cached_input: applied.cachedInput,
        output: applied.output,
        cache_write: applied.cacheWrite,
        // a model with audio prices (Realtime, transcription): what its audio tokens cost instead of the text prices
        ...(audio
          ? {
              audio_input: audio.audioInput,
              cached_audio_input: audio.cachedAudioInput,
              audio_output: audio.audioOutput,
            }
          : {}),
      },
      tiers: p.tiers,
      service_tiers: { flex: tierPrices('flex'), priority: tierPrices('priority') },
      // a model billed per unit (DALL·E, whisper-1, tts-1; src/cost/units.ts): USD per image (by quality, then size),
      // per minute of audio, per 1M characters; null for a model billed by the token alone
      per_unit: p.units
        ? {
            ...(p.units.perImage ? { image: p.units.perImage } : {}),
            ...(p.units.perMinute !== undefined ? { minute: p.units.perMinute } : {}),
            ...(p.units.perMillionCharacters !== undefined ? { million_characters: p.units.perMillionCharacters } : {}),
          }
        : null,
      // built-in tools billed per use (web search, file search, web fetch), USD per 1,000 uses as priceCall charges
      // them (pricing.tools, else the catalog); null: such uses are counted unpriced
      tool_uses_per_thousand: Object.fromEntries(
        rt.prices
          .toolPrices({ provider: q.provider ?? '', model: q.model }, p, TOOL_PROBE)
          .map((t) => [t.tool, t.unitPrice === null ? null : Math.round(t.unitPrice * 1e9) / 1e6]),
      ),
      url: p.entry?.source ?? null,
    });
  });

  api.get('/api/cost/catalog', async ({ res }) =>
    sendJson(res, 200, {
      files: CATALOG_FILES.map((f) => ({ provider: f.provider, checked: f.checked, entries: f.entries })),
      overrides: rt.config.pricing.models,
      aliases: rt.config.pricing.aliases,
    }),
  );

  // From the spend aggregates, so every replica and worker lists the same; this process's own count since its start
  // (which the aggregates may not hold yet, a batch behind) is the floor.
  api.get('/api/cost/unpriced', async ({ res, url }) => {
    const q = parse(z.object({ days: z.coerce.number().int().min(1).max(400).default(30) }), url);
    const stored = await queries.unpricedModels(q.days);
    const byKey = new Map(stored.map((m) => [`${m.provider}/${m.model}`, m]));
    const today = dayOf(Date.now());
    for (const [k, calls] of d.unpriced) {
      const m = byKey.get(k);
      if (m) m.calls = Math.max(m.calls, calls);
      else {
        const i = k.indexOf('/');
        const entry = { provider: k.slice(0, i), model: k.slice(i + 1), calls, last_day: today };
        byKey.set(k, entry);
        stored.push(entry);
      }
    }
    // Tool uses without a price (decision 162), apart from the models: this process's count since its start, over the
    // days asked (the spend aggregates keep the tools' priced part only).
    const since = Date.now() - (q.days - 1) * DAY_MS;
    const tools = [...(d.unpricedTools?.values() ?? [])]
      .filter((t) => t.last >= dayStart(dayOf(since)))
      .map((t) => ({ provider: t.provider, tool: t.tool, model: t.model, uses: t.uses, last_day: dayOf(t.last) }))
      .sort((a, b) => b.uses - a.uses || (a.tool < b.tool ? -1 : a.tool > b.tool ? 1 : a.model < b.model ? -1 : 1));
    sendJson(res, 200, { days: q.days, models: stored, tools });
  });

  api.get('/api/cost/reconciliations', async ({ res, url }) => {
    const q = parse(z.object({ limit: z.coerce.number().int().min(1).max(500).default(50) }), url);
    const list = await queries.store.listReconciliations(q.limit);
    sendJson(res, 200, { reconciliations: list.map(recordSummary) });
  });

  api.get('/api/cost/reconciliations/:id', async ({ res, params }) => {
    const r = await queries.store.getReconciliation(params.id as string);
    if (!r) throw new LlmscopeError('LLMSCOPE_ERR_NOT_FOUND', `no reconciliation ${params.id}`);
    sendJson(res, 200, { ...recordSummary(r), report: r.report });
  });

  api.post('/api/cost/reconciliations', async ({ req, res, url, principal }) => {
    const q = parse(reconcileSchema, url);
    if (q.from !== undefined && q.to !== undefined && q.from > q.to)
      throw new LlmscopeError('LLMSCOPE_ERR_INVALID_QUERY', '"from" must not be after "to"', { param: 'from' });
    const text = (await readBody(req, d.bodyLimit)).toString('utf8');
    try {
      const { record, report } = await runReconciliation(
        text,
        { queries, prices: rt.prices },
        {
          format: q.format,
          from: q.from,
          to: q.to,
          source: 'api',
          threshold: rt.config.costs.reconciliationGapThreshold,
          save: q.save !== 'false',
          now: now(),
        },
      );
      if (q.save !== 'false') d.onReconciled?.(record);
      await d.audit?.record(
        { req, principal },
        {
          action: 'reconciliation.create',
          target: `reconciliation:${record.id}`,
          detail: { from: record.fromDay, to: record.toDay, saved: q.save !== 'false', gap_usd: record.gapUsd },
        },
      );
      sendJson(res, 201, { ...recordSummary(record), report });
    } catch (err) {
      if (err instanceof BillError) throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', err.message);
      throw err;
    }
  });

  api.post('/api/cost/items', async ({ req, res, principal }) => {
    const text = (await readBody(req, d.bodyLimit)).toString('utf8');
    // an empty upload (a wrong file name in curl -d @file sends nothing) answered 201 {"imported": 0}
    if (text.trim() === '')
      throw new LlmscopeError(
        'LLMSCOPE_ERR_INVALID_BODY',
        'the body is empty: send CSV with a header line (date,name,amount_usd,category,provider) or JSON [{"date", "name", "amount_usd"}, ...]',
      );
    try {
      const items = parseCostItems(text, 'api');
      const n = await queries.store.addCostItems(items);
      await d.audit?.record({ req, principal }, { action: 'cost_items.add', detail: { imported: n } });
      sendJson(res, 201, { imported: n });
    } catch (err) {
      if (err instanceof CostItemsError) throw new LlmscopeError('LLMSCOPE_ERR_INVALID_BODY', err.message);
      throw err;
    }
  });

  api.get('/api/cost/items', async ({ res, url }) => {
    const q = parse(z.object(rangeSchema), url);
    const { from, to } = range(q, now(), monthStart);
    const items = await queries.store.costItems(dayOf(from), dayOf(to - 1));
    sendJson(res, 200, {
      items: items.map((i) => ({
        date: i.day,
        category: i.category,
        name: i.name,
        provider: i.provider,
        amount_usd: i.amountUsd,
        source: i.source,
      })),
    });
  });
}
