// Cost: spend over time, by model, user, team and feature (with shares), by a metadata key chosen in the page
// (`meta_by=<key>` in the URL, from raw calls), by day (API and non-API), budgets with their burn, and bill
// reconciliations. All from /api/cost/*; without the cost capability it says so.

import type {
  Budget,
  Budgets,
  CallList,
  CostDaily,
  CostSummary,
  CostTimeseries,
  Reconciliation,
  Reconciliations,
  UiConfig,
} from '../../wire/index.js';
import { get, qs, type Result, why } from '../lib/api.js';
import { chart } from '../lib/chart.js';
import { bar, card, compact, empty, fill, h, pct, table, tile, time, usd } from '../lib/dom.js';
import { filterBar } from '../lib/filters.js';
import { href, type TimeRange } from '../lib/state.js';
import { forecastBasis, SCOPED_MONTH } from '../lib/units.js';
import type { Page } from './page.js';

const DIMS = ['model', 'user', 'team', 'feature'] as const;
const STEP_MS = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
/**
 * The call filters the navigation carries from page to page (lib/state.ts) that this page applies: spend in range, the
 * chart and the tables by model, team and feature then come from the call rollups (/api/stats, as the Overview's
 * figures), which keep those dimensions together; spend by user and by metadata, the month, budgets, days and bills
 * are all spend.
 */
const FILTERS = ['model', 'provider', 'team', 'feature', 'endpoint'] as const;

/** What the page reads of /api/stats/summary and /api/stats/timeseries. */
interface StatsFigures {
  requests: number;
  cost_usd: number;
  input_tokens: number;
  output_tokens: number;
}
interface StatsSummary extends StatsFigures {
  groups?: ({ key: string | null } & StatsFigures)[];
}
interface StatsSeries {
  points?: ({ t: number } & StatsFigures)[];
  series: { points: ({ t: number } & StatsFigures)[] }[];
}

export const costPage: Page = {
  title: () => 'Cost',
  async render(root, ctx) {
    const { range, route } = ctx;
    const w = { from: Math.round(range.from), to: Math.round(range.to) };
    // header names arrive lowercased, so a metadata key is lowercase
    const metaBy = route.params.get('meta_by')?.trim().toLowerCase() || null;
    const filter: Record<string, string> = {};
    for (const k of FILTERS) {
      const v = route.params.get(k);
      if (v) filter[k] = v;
    }
    const filtered = Object.keys(filter).length > 0;
    const wide =
      range.to - range.from <= 6 * 3_600_000 ? 'minute' : range.to - range.from <= 7 * 86_400_000 ? 'hour' : 'day';
    // the rollups have no day step: a filtered chart over a long range is drawn per hour
    const step = filtered && wide === 'day' ? 'hour' : wide;
    const [byMeta, keysSeen, uiConfig, all, allSeries, daily, budgets, recs, ...allGroups] = await Promise.all([
      metaBy ? get<CostSummary>(`/api/cost/summary${qs({ ...w, group_by: `meta.${metaBy}`, limit: 10 })}`) : null,
      // the key field's suggestions: the keys on the range's newest calls (one page of the Requests listing)
      get<CallList>(`/api/requests${qs({ ...w, limit: 50 })}`),
      metaBy ? get<UiConfig>('/api/ui/config') : null,
      get<CostSummary>(`/api/cost/summary${qs(w)}`),
      get<CostTimeseries>(`/api/cost/timeseries${qs({ ...w, step })}`),
      get<CostDaily>(`/api/cost/daily${qs(w)}`),
      get<Budgets>('/api/cost/budgets'),
      get<Reconciliations>('/api/cost/reconciliations?limit=20'),
      ...DIMS.map((d) => get<CostSummary>(`/api/cost/summary${qs({ ...w, group_by: d, limit: 10 })}`)),
    ]);
    const [fTotal, fSeries, ...fGroups] = filtered
      ? await Promise.all([
          get<StatsSummary>(`/api/stats/summary${qs({ ...w, ...filter })}`),
          get<StatsSeries>(`/api/stats/timeseries${qs({ ...w, ...filter, step })}`),
          ...DIMS.map((d) =>
            d === 'user' ? null : get<StatsSummary>(`/api/stats/summary${qs({ ...w, ...filter, group_by: d })}`),
          ),
        ])
      : [];
    if (!ctx.current()) return;
    const total: Result<CostSummary> =
      filtered && all.ok && fTotal ? mapResult(fTotal, (f) => ({ ...all.data, ...asSummary(f) })) : all;
    const series: Result<CostTimeseries> =
      filtered && fSeries
        ? mapResult(fSeries, (f) => ({
            from: new Date(w.from).toISOString(),
            to: new Date(w.to).toISOString(),
            step,
            points: (f.points ?? f.series[0]?.points ?? []).map((p) => ({
              ...asFigures(p),
              t: new Date(p.t).toISOString(),
            })),
          }))
        : allSeries;
    const groups = DIMS.map((d, i) => {
      const f = fGroups[i];
      if (!filtered) return allGroups[i] as Result<CostSummary>;
      return f && all.ok ? mapResult(f, (x) => ({ ...all.data, ...asSummary(x, d) })) : null;
    });
    // Calls are priced when they end: a bucket ending less than 30 s ago is still filling (drawn, it is a cliff).
    const filling = Date.now() - 30_000;
    const spend = series.ok ? spendSeries(series.data.points, STEP_MS[step], filling) : null;
    if (!total.ok) {
      fill(
        root,
        empty(
          total.status === 404 ? 'no cost data yet' : why(total, 'cost data'),
          'the cost capability prices every call and keeps spend by model, user, team and feature',
        ),
      );
      return;
    }
    const t = total.data;
    fill(
      root,
      filtered ? filterNote(filter, route.params) : null,
      h(
        'section',
        { class: 'tiles', id: 'cost-tiles' },
        tile(
          'spend in range',
          usd(t.total.cost_usd),
          `${compact(t.total.requests)} requests${daysRead(t)}${toolShare(t.total)}`,
        ),
        tile('per request', usd(t.total.cost_per_request)),
        tile('per 1K tokens', usd(t.total.cost_per_1k_tokens)),
        tile(
          filtered ? 'month to date, all spend' : 'month to date',
          usd(t.month_to_date_usd),
          t.forecast_month_end_usd === undefined
            ? null
            : t.forecast_basis === 'too_little_history'
              ? (t.forecast_note ?? 'too little spend history to forecast')
              : t.month_to_date_usd === null
                ? SCOPED_MONTH
                : !t.month_to_date_usd && !t.forecast_month_end_usd
                  ? 'no spend this month yet: the forecast starts with the first priced call'
                  : `month-end forecast ${usd(t.forecast_month_end_usd)} ${forecastBasis(t.forecast_rate_span_days)}`,
        ),
        t.total.unpriced_requests
          ? tile(
              'unpriced requests',
              compact(t.total.unpriced_requests),
              'a model without a price (pricing.models) or calls without their usage: /api/cost/unpriced says which',
              'bad',
            )
          : null,
      ),
      series.ok
        ? chart({
            xRange: w,
            fromFirstData: true,
            id: 'chart-cost',
            title: `Spend per ${step}`,
            note: spend?.young
              ? `still filling: no ${step} since the first call is complete yet, so the ${step} so far is drawn; it will change as calls end`
              : `the ${step} still filling is left out`,
            x: series.data.points.map((p) => Date.parse(p.t)),
            ys: [spend?.ys ?? []],
            series: [{ label: 'USD', fill: true }],
            yFmt: usd,
            emptyText: 'no spend in this range',
          })
        : card('Spend over time', empty(why(series, 'the spend series'))),
      h(
        'div',
        { class: 'grid-wide' },
        DIMS.map((d, i) => {
          const g = groups[i];
          // a filtered card reads the call rollups, which /api/cost/summary's CSV does not: no download there
          if (g) return groupCard(d, g, route.params, filtered ? null : csvHref(w, d));
          // spend by user is kept for all calls only (users are not a rollup dimension): the calls say who
          return card(
            `By ${d}`,
            empty(`spend by ${d} is kept for all calls, not per ${Object.keys(filter).join(' and ')}`),
            h(
              'p',
              { class: 'muted' },
              h(
                'a',
                { href: href('requests', { ...rangeOf(route.params), ...filter }), id: 'cost-filter-calls' },
                "this filter's calls, with their users",
              ),
            ),
          );
        }),
        metadataCard(
          route.params,
          range,
          metaBy,
          byMeta,
          keysSeen,
          uiConfig,
          metaBy ? csvHref(w, `meta.${metaBy}`) : null,
        ),
      ),
      h('div', { class: 'grid2' }, budgetsCard(budgets), dailyCard(daily)),
      reconciliationsCard(recs),
    );
  },
};

/** The built-in tools' part of a spend figure (decision 163), when there is one: ", $0.30 of it built-in tools". */
function toolShare(f: Pick<CostSummary['total'], 'tool_cost_usd'>): string {
  return f.tool_cost_usd ? `, ${usd(f.tool_cost_usd)} of it built-in tools (web/file search)` : '';
}

function mapResult<A, B>(r: Result<A>, f: (a: A) => B): Result<B> {
  return r.ok ? { ok: true, data: f(r.data) } : r;
}

/** The rollups' figures as the cost API's (they count no unpriced calls, cached or reasoning tokens apart). */
/**
 * A range older than minute retention is read in whole UTC days (spend is kept per day after that): which days, when
 * they reach past the range asked for, so a morning's range that counted the afternoon's calls says so.
 */
function daysRead(t: CostSummary): string {
  if (t.resolution !== 'day' || (t.read_from === t.from && t.read_to === t.to)) return '';
  const first = t.read_from.slice(0, 10);
  const last = new Date(Date.parse(t.read_to) - 86_400_000).toISOString().slice(0, 10);
  return first === last ? `, all of ${first} (UTC)` : `, all of ${first} to ${last} (UTC)`;
}

function asFigures(f: StatsFigures): CostSummary['total'] {
  const tokens = f.input_tokens + f.output_tokens;
  return {
    cost_usd: f.cost_usd,
    requests: f.requests,
    unpriced_requests: 0,
    input_tokens: f.input_tokens,
    output_tokens: f.output_tokens,
    cached_input_tokens: 0,
    cache_write_input_tokens: null,
    reasoning_tokens: null,
    tool_cost_usd: null,
    token_cost_usd: null,
    cost_per_request: f.requests ? f.cost_usd / f.requests : null,
    cost_per_1k_tokens: tokens ? (f.cost_usd / tokens) * 1000 : null,
  };
}

/** A filtered /api/stats/summary as the parts of a cost summary the page draws: its total, its first 10 groups. */
function asSummary(s: StatsSummary, dim?: string): Pick<CostSummary, 'total' | 'groups' | 'rest' | 'group_by'> {
  const all = (s.groups ?? []).filter((g) => g.cost_usd > 0 || g.requests > 0);
  const rest = all.slice(10);
  const sum = (k: keyof StatsFigures) => rest.reduce((n, g) => n + g[k], 0);
  return {
    group_by: dim ?? null,
    total: asFigures(s),
    groups: all
      .slice(0, 10)
      .map((g) => ({ ...asFigures(g), key: g.key, share: s.cost_usd ? g.cost_usd / s.cost_usd : null })),
    rest:
      rest.length > 0
        ? asFigures({
            requests: sum('requests'),
            cost_usd: sum('cost_usd'),
            input_tokens: sum('input_tokens'),
            output_tokens: sum('output_tokens'),
          })
        : null,
  };
}

/** The range parameters of the URL alone. */
function rangeOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['range', 'from', 'to']) {
    const v = params.get(k);
    if (v) out[k] = v;
  }
  return out;
}

/** Says which filter the page applies, to what, and links to all spend over the same range. */
function filterNote(filter: Record<string, string>, params: URLSearchParams): HTMLElement {
  const names = Object.entries(filter)
    .map(([k, v]) => `${k} = ${v}`)
    .join(', ');
  return h(
    'p',
    { class: 'strip', id: 'cost-filter' },
    h('strong', null, `Filtered: ${names}. `),
    'Spend in range, the chart and the tables by model, team and feature are these calls only; spend by user and by metadata, the month to date, budgets, days and bills are all spend. ',
    h('a', { href: href('cost', rangeOf(params)) }, 'show all spend'),
  );
}

/**
 * The spend chart's values: a bucket still filling (ending after `filling`) is left out, as a cliff would mislead;
 * unless no complete bucket holds any spend (the first hour of a new install, or of the demo), when it is drawn
 * (`young`), from the first bucket with spend: left out then, the chart was a flat $0 line under a spend tile of dollars.
 * No spend in the range at all: no values, so the chart shows its empty text.
 */
export function spendSeries(
  points: readonly { t: string; cost_usd: number }[],
  stepMs: number,
  filling: number,
): { ys: (number | null)[]; young: boolean } {
  const partial = (p: { t: string }) => Date.parse(p.t) + stepMs > filling;
  const first = points.findIndex((p) => p.cost_usd > 0);
  // No spend at all: nothing to draw (the chart says so), not a flat $0 line.
  if (first === -1) return { ys: points.map(() => null), young: false };
  const young = first !== -1 && !points.some((p) => !partial(p) && p.cost_usd > 0);
  // Young: nothing before the first spend is drawn either (a line from $0 there would read as spend growing).
  return {
    ys: points.map((p, i) => (young ? (i < first ? null : p.cost_usd) : partial(p) ? null : p.cost_usd)),
    young,
  };
}

/**
 * A group's spend: `unpriced` where none of its calls has a price (their cost is unknown, not $0), and how many calls
 * the spend leaves out where some of them have none.
 */
function spendCell(g: { cost_usd: number; requests: number; unpriced_requests: number }): HTMLElement | string {
  if (g.unpriced_requests <= 0) return usd(g.cost_usd);
  const title =
    'calls llmscope could not price: a model without a price (add it under pricing.models), a call of a model priced by the token that recorded no token usage (send its usage), or an ingested call that said neither its cost nor its units';
  if (g.unpriced_requests >= g.requests) return h('span', { class: 'bad unpriced', title }, 'unpriced');
  return h(
    'span',
    null,
    usd(g.cost_usd),
    h('span', { class: 'bad unpriced', title }, ` + ${compact(g.unpriced_requests)} unpriced`),
  );
}

/**
 * The table of a card as a CSV download: /api/cost/summary over the page's range, every group of `groupBy` (not only
 * the 10 the card shows), with the session cookie a plain link carries.
 */
export function csvHref(w: { from: number; to: number }, groupBy: string): string {
  return `/api/cost/summary${qs({ ...w, group_by: groupBy, limit: 10_000, format: 'csv' })}`;
}

function csvLink(url: string | null, dim: string): HTMLElement | null {
  if (!url) return null;
  return h(
    'p',
    { class: 'muted' },
    h(
      'a',
      { href: url, download: '', class: 'csv', 'data-csv': dim, title: 'every group in this range, as a spreadsheet' },
      'Download CSV',
    ),
  );
}

function groupCard(dim: string, r: Result<CostSummary>, params: URLSearchParams, csv: string | null): HTMLElement {
  if (!r.ok) return card(`By ${dim}`, empty(why(r, `spend by ${dim}`)));
  if (r.data.groups.length === 0) return card(`By ${dim}`, empty('no spend in this range'));
  const filterable = dim !== 'user';
  // a row's link keeps this page's time range (a custom incident window too), so it shows the spend just seen
  const inRange = (k: string, v: string) => {
    const p = new URLSearchParams();
    for (const n of ['range', 'from', 'to']) {
      const x = params.get(n);
      if (x) p.set(n, x);
    }
    p.set(k, v);
    return p;
  };
  return card(
    `By ${dim}`,
    table(
      [dim, 'spend', 'share', 'requests', '$/req'],
      r.data.groups.map((g) => [
        g.key === null
          ? h('span', { class: 'muted' }, '(none)')
          : filterable
            ? h('a', { href: href('overview', inRange(dim, g.key)) }, g.key)
            : h('a', { href: href('requests', inRange('user', g.key)) }, g.key),
        spendCell(g),
        h('div', { class: 'share' }, bar(g.share, undefined, true), h('span', null, pct(g.share, 0))),
        compact(g.requests),
        usd(g.cost_per_request),
      ]),
      { class: 'groups', 'data-dim': dim },
    ),
    r.data.rest ? h('p', { class: 'muted' }, `and others: ${usd(r.data.rest.cost_usd)}`) : null,
    csvLink(csv, dim),
  );
}

/**
 * Spend by the values of one metadata key (`meta_by` in the URL, so the view is a link), each value linking to the
 * Requests page filtered by it over the same range. Read from raw calls (`resolution: call`): when the range starts
 * before the oldest raw call kept (storage.retention.raw, from /api/ui/config), the card says so.
 */
function metadataCard(
  params: URLSearchParams,
  range: TimeRange,
  key: string | null,
  r: Result<CostSummary> | null,
  seen: Result<CallList>,
  config: Result<UiConfig> | null,
  csv: string | null,
): HTMLElement {
  const keys = seen.ok ? [...new Set(seen.data.data.flatMap((c) => Object.keys(c.metadata ?? {})))].sort() : [];
  const form = filterBar(
    [{ name: 'meta_by', label: 'key', placeholder: 'a metadata key, e.g. tenant', suggestions: keys }],
    params,
    'meta-by',
  );
  const title = key ? `By metadata: ${key}` : 'By metadata';
  if (!key || !r)
    return card(
      title,
      form,
      empty(
        'choose a metadata key to see spend by its values',
        keys.length
          ? `keys on recent calls: ${keys.join(', ')}`
          : 'calls carry metadata as x-llmscope-meta-<key> headers (or metadata in /api/ingest, llmscope.meta.<key> on spans)',
      ),
    );
  const retention = config?.ok ? (config.data.raw_retention_ms ?? null) : null;
  const kept =
    retention === null
      ? 'summed from raw calls, so only as far back as storage.retention.raw keeps them'
      : `summed from raw calls, kept ${Math.round((retention / 86_400_000) * 10) / 10} days (storage.retention.raw)`;
  const past = retention !== null && range.from < Date.now() - retention;
  const note = h(
    'p',
    { class: past ? 'bad' : 'muted', id: 'meta-retention' },
    past ? `${kept}: this range starts earlier, so its calls from before then are not counted here` : kept,
  );
  if (!r.ok) return card(title, form, h('div', { id: 'meta-error' }, empty(why(r, `spend by meta.${key}`))));
  if (r.data.groups.length === 0) return card(title, form, empty(`no spend in this range`), note);
  // the same range (and nothing else the URL carries) so the link lists exactly the calls summed here
  const keep: Record<string, string> = {};
  for (const k of ['range', 'from', 'to']) {
    const v = params.get(k);
    if (v) keep[k] = v;
  }
  return card(
    title,
    form,
    table(
      [key, 'spend', 'share', 'requests', '$/req'],
      r.data.groups.map((g) => [
        g.key === null
          ? h('span', { class: 'muted', title: `calls without ${key}` }, '(none)')
          : h('a', { href: href('requests', { ...keep, [`meta.${key}`]: g.key }) }, g.key),
        spendCell(g),
        h('div', { class: 'share' }, bar(g.share, undefined, true), h('span', null, pct(g.share, 0))),
        compact(g.requests),
        usd(g.cost_per_request),
      ]),
      { class: 'groups', 'data-dim': `meta.${key}`, id: 'meta-groups' },
    ),
    r.data.rest ? h('p', { class: 'muted' }, `and others: ${usd(r.data.rest.cost_usd)}`) : null,
    csvLink(csv, `meta.${key}`),
    note,
  );
}

function budgetsCard(r: Result<{ budgets: Budget[] }>): HTMLElement {
  if (!r.ok) return card('Budgets', empty(why(r, 'budgets')));
  if (r.data.budgets.length === 0)
    return card('Budgets', empty('no budgets configured', 'add them under budgets: in the config'));
  return card(
    'Budgets',
    table(
      ['budget', 'scope', 'spent', 'limit', 'burn', 'action', 'resets'],
      r.data.budgets.map((b) => [
        b.name,
        `${b.scope}${b.match ? `=${b.match}` : ''} / ${b.period}`,
        spentOf(b),
        usd(b.limit_usd),
        h('div', { class: 'share' }, bar(b.ratio), h('span', null, pct(b.ratio, 0))),
        b.action,
        time(b.resets_at),
      ]),
      { id: 'budgets' },
    ),
  );
}

/**
 * What the burn is of: the period's spend, in dollars, of the bucket nearest its limit (a per-user or per-team budget
 * without `match` has one a user or team: that one is named).
 */
function spentOf(b: Budget): string {
  const top = [...b.buckets].sort((x, y) => (y.ratio ?? 0) - (x.ratio ?? 0))[0];
  if (!top) return usd(0);
  const who = b.scope !== 'global' && !b.match && top.value ? ` (${b.scope} ${top.value})` : '';
  return `${usd(top.spent_usd)}${who}`;
}

function dailyCard(r: Result<CostDaily>): HTMLElement {
  if (!r.ok) return card('By day', empty(why(r, 'daily cost')));
  const days = r.data.days.filter((d) => d.total_usd > 0).reverse();
  if (days.length === 0) return card('By day', empty('no spend in this range'));
  const max = Math.max(...days.map((d) => d.total_usd));
  return card(
    'By day (UTC)',
    table(
      ['day', 'API', 'non-API', 'total', ''],
      days
        .slice(0, 40)
        .map((d) => [
          d.day,
          usd(d.api_usd),
          usd(d.non_api_usd),
          usd(d.total_usd),
          bar(max ? d.total_usd / max : 0, undefined, true),
        ]),
      { id: 'daily' },
    ),
  );
}

function reconciliationsCard(r: Result<{ reconciliations: Reconciliation[] }>): HTMLElement {
  if (!r.ok) return card('Reconciliations', empty(why(r, 'reconciliations')));
  if (r.data.reconciliations.length === 0)
    return card(
      'Reconciliations',
      empty('no reconciliations yet', 'compare tracked spend with a provider bill: llmscope reconcile --bill FILE'),
    );
  return card(
    'Reconciliations',
    table(
      ['when', 'bill', 'days', 'billed', 'tracked', 'gap', 'causes'],
      r.data.reconciliations.map((x) => [
        time(x.created_at),
        x.source,
        `${x.from} → ${x.to}`,
        usd(x.billed_usd),
        usd(x.tracked_usd),
        h('span', { class: x.over_threshold ? 'bad' : null }, `${usd(x.gap_usd)} (${pct(x.gap_ratio)})`),
        x.causes.join(', ') || '–',
      ]),
    ),
  );
}
