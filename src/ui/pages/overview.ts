// Overview: latency/TTFT/TPOT percentiles, throughput and error rate over time (one /api/overview call over the
// compacted rollups), spend today and month to date against budgets, quality rates, GPUs and firing alerts.
// Each capability's panel fills in on its own; one that is missing or failing shows why, the rest still show.
//
// Numbers that tell the truth at any age: the rate cards show the rate now (the last complete minutes) with the
// window's average beneath; charts leave out the bucket still filling, draw points where a series is sparse, mark
// where the data starts, and for data younger than the window start their time axis at the first call (saying so).

import { WIRE_ENDPOINTS } from '../../wire/endpoints.js';
import type {
  AlertsBody,
  Budget,
  Budgets,
  CostSummary,
  GpuBody,
  Overview,
  QualityStats,
  QualitySummary,
} from '../../wire/index.js';
import { get, qs, type Result, why } from '../lib/api.js';
import { chart } from '../lib/chart.js';
import {
  card,
  compact,
  duration,
  empty,
  fill,
  h,
  ms,
  pct,
  rate,
  stepWords,
  table,
  tile,
  time,
  usd,
} from '../lib/dom.js';
import { filterBar } from '../lib/filters.js';
import { alertLabel, carried, filtersOf, href, type TimeRange } from '../lib/state.js';
import { alertValue, forecastBasis, SCOPED_MONTH } from '../lib/units.js';
import type { Page } from './page.js';

const utcDayStart = (t: number) => Math.floor(t / 86_400_000) * 86_400_000;

export const overviewPage: Page = {
  title: () => 'Overview',
  async render(root, ctx) {
    const { range, route } = ctx;
    const filters = filtersOf(route.params);
    const window = { from: Math.round(range.from), to: Math.round(range.to) };
    const now = Date.now();
    const [ov, cost, budgets, quality, gpu, alerts] = await Promise.all([
      get<Overview>(`/api/overview${qs({ ...window, ...filters, step: 'fit' })}`),
      // spend has no filters: filtered by one model, team or feature, today's spend is that group's
      get<CostSummary>(
        `/api/cost/summary${qs({ from: utcDayStart(now), to: now, ...(spendDim(filters) ? { group_by: spendDim(filters), limit: 10_000 } : {}) })}`,
      ),
      get<Budgets>('/api/cost/budgets'),
      // quality is split by model and feature only: filtered by one of them, the tiles are that group's
      get<QualitySummary>(
        `/api/quality/summary${qs({ ...window, ...(qualityDim(filters) ? { group_by: qualityDim(filters) } : {}) })}`,
      ),
      get<GpuBody>(`/api/gpu${qs({ from: now - 3_600_000, to: now })}`),
      get<AlertsBody>('/api/alerts'),
    ]);
    if (!ctx.current()) return;
    fill(
      root,
      filterBar(
        [
          { name: 'model', label: 'model' },
          { name: 'provider', label: 'provider' },
          { name: 'team', label: 'team' },
          { name: 'feature', label: 'feature' },
          {
            name: 'endpoint',
            label: 'endpoint',
            options: [...WIRE_ENDPOINTS],
          },
        ],
        route.params,
      ),
      alertStrip(alerts),
      tiles(ov, cost, budgets, quality, gpu, range, filters, carried(route.params)),
      charts(ov, window, range, Object.keys(filters).length > 0),
      h('div', { class: 'grid2' }, gpuCard(gpu, { from: now - 3_600_000, to: now }), alertsCard(alerts, route.params)),
    );
  },
};

function alertStrip(alerts: Result<AlertsBody>): HTMLElement | null {
  if (!alerts.ok || alerts.data.firing.length === 0) return null;
  const n = alerts.data.firing.length;
  const byName = new Map<string, number>();
  for (const a of alerts.data.firing) byName.set(a.alertname, (byName.get(a.alertname) ?? 0) + 1);
  return h(
    'a',
    { class: 'strip bad', href: '#/alerts', id: 'firing-strip' },
    `${n} alert${n === 1 ? '' : 's'} firing: `,
    [...byName].map(([name, k]) => (k > 1 ? `${name} ×${k}` : name)).join(', '),
  );
}

/**
 * The latency tile leads to the calls behind its p95: Requests in the same range and filters, at or over that latency
 * (`min_latency_ms`), so an engineer paged for p95 latency opens the slow calls, their traces and request ids in one
 * click instead of paging through every call of the range.
 */
function slowCalls(el: HTMLElement, p95: number | null | undefined, keep: URLSearchParams): HTMLElement {
  if (typeof p95 !== 'number' || !(p95 > 0)) return el;
  const p = new URLSearchParams(keep);
  // The p95 is read from the rollups' histograms, within 1% of the exact value either way (store/histogram.ts): from
  // 1% under it, the calls at the p95 rank are listed, never an empty page for calls just under the estimate.
  p.set('min_latency_ms', String(Math.floor(p95 / 1.01)));
  el.append(h('a', { href: href('requests', p), id: 'slow-calls', class: 'n' }, 'calls at or over p95 →'));
  return el;
}

function tiles(
  ov: Result<Overview>,
  cost: Result<CostSummary>,
  budgets: Result<{ budgets: Budget[] }>,
  quality: Result<QualitySummary>,
  gpu: Result<GpuBody>,
  range: TimeRange,
  filters: Record<string, string>,
  keep: URLSearchParams,
): HTMLElement {
  const s = ov.ok ? ov.data.summary : null;
  const cur = ov.ok ? (ov.data.current ?? null) : null;
  const out = h('section', { class: 'tiles', id: 'tiles' });
  const over = windowWords(range);
  const nowNote = cur
    ? cur.partial
      ? `now: the first ${duration(cur.seconds)} of data (still filling)`
      : `now: last ${duration(cur.seconds)} of complete minutes`
    : 'no calls in this range';
  out.append(
    tile('requests', compact(s?.requests), s ? `in ${over}` : null, undefined, 'tile-requests'),
    tile(
      'request rate',
      rate(cur ? cur.rps : s ? 0 : null, 'req/s'),
      [nowNote, s ? `average over ${over}: ${rate(s.rps, 'req/s')}` : null],
      undefined,
      'tile-rps',
    ),
    tile(
      'token rate',
      rate(cur ? cur.tokens_per_s : s ? 0 : null, 'tok/s'),
      [
        cur ? `output ${rate(cur.output_tokens_per_s, 'tokens/s')} now` : null,
        s ? `average over ${over}: ${rate(s.tokens_per_s, 'tokens/s')}` : null,
      ],
      undefined,
      'tile-tokens',
    ),
    tile(
      'error rate',
      pct(s?.error_rate, 2),
      s ? `${compact(s.errors)} errors of ${compact(s.requests)} calls` : null,
      s && (s.error_rate ?? 0) > 0.05 ? 'bad' : undefined,
    ),
    slowCalls(
      tile(
        'latency p95',
        ms(s?.latency_p95),
        s ? `p50 ${ms(s.latency_p50)} · p99 ${ms(s.latency_p99)}` : null,
        undefined,
        'tile-latency',
      ),
      s?.latency_p95,
      keep,
    ),
    tile('TTFT p95', ms(s?.ttft_p95), s ? `p50 ${ms(s.ttft_p50)}` : null),
    tile('TPOT p95', ms(s?.tpot_p95), s ? `p50 ${ms(s.tpot_p50)}` : null),
  );
  if (cost.ok) {
    const c = cost.data;
    const monthly = budgets.ok
      ? budgets.data.budgets.find((b) => b.scope === 'global' && b.period === 'month')
      : undefined;
    const forecast = c.forecast_month_end_usd ?? null;
    const over = monthly && forecast !== null && forecast > monthly.limit_usd;
    const dim = spendDim(filters);
    const filtered = Object.keys(filters).length > 0;
    const today = dim ? (c.groups.find((g) => g.key === filters[dim]) ?? { cost_usd: 0, requests: 0 }) : c.total;
    out.append(
      tile(
        'spend today (UTC)',
        usd(today.cost_usd),
        [
          `${compact(today.requests)} requests`,
          dim ? `of ${dim} ${filters[dim]}` : filtered ? 'of all calls: spend is not split by these filters' : null,
        ],
        undefined,
        'tile-spend-today',
      ),
      tile(
        'month to date',
        usd(c.month_to_date_usd),
        c.forecast_basis === 'too_little_history'
          ? (c.forecast_note ?? 'too little spend history to forecast')
          : c.month_to_date_usd === null
            ? SCOPED_MONTH
            : forecast === null
              ? null
              : !c.month_to_date_usd && !forecast
                ? 'no spend this month yet: the forecast starts with the first priced call'
                : `month-end forecast ${usd(forecast)}${monthly ? ` of ${usd(monthly.limit_usd)} budget` : ''}, ${forecastBasis(c.forecast_rate_span_days)}${filtered ? '; all calls, not filtered' : ''}`,
        over ? 'bad' : undefined,
      ),
    );
  } else out.append(tile('spend', '–', why(cost, 'cost data')));
  if (quality.ok) {
    const dim = qualityDim(filters);
    const q: QualityStats | undefined = dim
      ? quality.data.groups.find((g) => g[dim] === filters[dim])
      : quality.data.total;
    // what the figures are of: the filtered group, or every call when quality is not split by the filters
    const of = dim
      ? `of ${dim} ${filters[dim]}`
      : Object.keys(filters).length > 0
        ? 'of all calls: quality is not split by these filters'
        : null;
    if (!q) out.append(tile('quality', '–', `no answers of ${dim} ${filters[dim as string]} in this range`));
    else
      out.append(
        tile(
          'satisfaction',
          pct(q.feedback.satisfaction_rate),
          [`${compact(q.feedback.up)} up · ${compact(q.feedback.down)} down`, of],
          undefined,
          'tile-satisfaction',
        ),
        tile(
          'refusal rate',
          pct(q.refusal_rate, 2),
          [`${compact(q.refusals)} of ${compact(q.responses)}`, of],
          undefined,
          'tile-refusal',
        ),
        tile(
          'hallucination rate',
          pct(q.hallucination_rate, 1),
          [
            q.reviewed.rate !== null
              ? `reviewed: ${pct(q.reviewed.rate)} of ${compact(q.reviewed.sampled)}`
              : `${compact(q.flagged)} flagged of ${compact(q.evaluated)}`,
            of,
          ],
          undefined,
          'tile-hallucination',
        ),
      );
  } else out.append(tile('quality', '–', why(quality, 'quality data')));
  if (gpu.ok && gpu.data.available && gpu.data.gpus.length) {
    const g = gpu.data.gpus;
    const util = g.filter((x) => x.utilization !== null);
    const avg = util.length ? util.reduce((a, x) => a + (x.utilization as number), 0) / util.length : null;
    const used = g.reduce((a, x) => a + (x.memory_used_bytes ?? 0), 0);
    const total = g.reduce((a, x) => a + (x.memory_total_bytes ?? 0), 0);
    out.append(
      tile(
        'GPU utilization',
        pct(avg, 0),
        `${g.length} GPU${g.length === 1 ? '' : 's'} · memory ${pct(total ? used / total : null, 0)}`,
      ),
    );
  }
  return out;
}

/** "24 h", "the custom range". */
function windowWords(range: TimeRange): string {
  return range.label === 'custom'
    ? `the chosen ${duration((range.to - range.from) / 1000)}`
    : `the last ${range.label}`;
}

/**
 * The time axis: the window, or, when the data began in its last half, from just before the first call (young
 * data squeezed into a sliver at the right edge reads as nothing).
 */
export function shownRange(
  o: Pick<Overview, 'data_from' | 'step_ms'>,
  w: { from: number; to: number },
): { from: number; to: number; young: boolean } {
  const df = o.data_from ?? null;
  if (df === null || df <= w.from || w.to - df > (w.to - w.from) / 2) return { ...w, young: false };
  const pad = Math.max(o.step_ms, (w.to - df) * 0.05);
  return { from: Math.max(w.from, df - pad), to: w.to, young: true };
}

function charts(
  ov: Result<Overview>,
  w: { from: number; to: number },
  range: TimeRange,
  filtered: boolean,
): HTMLElement {
  if (!ov.ok) return empty(why(ov, 'request figures'));
  const o = ov.data;
  // The bucket still filling holds only the calls that already ended: left out, not drawn as a cliff.
  const pts = o.points;
  const df = o.data_from ?? null;
  // Drawn: complete buckets from the one holding the first call (before it there was no service to measure, not
  // "0 req/s"). Each point sits in the middle of the time its bucket held data: it stands for all of it.
  const firstBucket = df === null ? Number.POSITIVE_INFINITY : Math.floor(df / o.step_ms) * o.step_ms;
  // Data younger than one complete bucket: its buckets still filling are drawn (and said to be), not a blank chart.
  const young = !pts.some((p) => !p.partial && p.requests > 0);
  const done = pts.map((p) => (young || !p.partial) && p.t >= firstBucket);
  const x = pts.map((p) => (Math.max(p.t, df ?? p.t) + Math.min(p.t + o.step_ms, o.to ?? p.t + o.step_ms)) / 2);
  type Key = keyof Overview['points'][number];
  const col = (k: Key) => pts.map((p, i) => (done[i] ? (p[k] as number | null) : null));
  const nullIfNoReq = (k: Key) => pts.map((p, i) => (done[i] && p.requests ? (p[k] as number) : null));
  const shown = shownRange(o, w);
  const markers = df !== null && df > w.from ? [{ at: df, label: 'first call' }] : [];
  const left = !young && pts.some((p) => p.partial && p.requests > 0);
  const note = [
    `${stepWords(o.step_ms)} buckets`,
    left ? `the last ${stepWords(o.step_ms)}, still filling, is left out` : null,
    young && o.summary.requests > 0 ? 'still filling: these figures will change as calls end' : null,
  ]
    .filter(Boolean)
    .join(' · ');
  const anyCalls = o.summary.requests > 0;
  const none = anyCalls
    ? `calls began ${df !== null ? time(df) : 'just now'}; the first ${stepWords(o.step_ms)} bucket draws once it is complete (the cards above show the figures so far)`
    : filtered
      ? `no requests match these filters in ${windowWords(range)} — clear a filter or widen the range`
      : `no requests in ${windowWords(range)} — point an OpenAI client at ${location.origin}/v1 (or run llmscope demo)`;
  const streamNone =
    anyCalls && !pts.some((p) => p.ttft_p50 !== null)
      ? 'no streamed calls in this range: TTFT and TPOT are measured on streamed responses only'
      : none;
  const base = { xRange: { from: shown.from, to: shown.to }, x, markers, note };
  const perc = (id: string, title: string, k: 'latency' | 'ttft' | 'tpot', emptyText: string) =>
    chart({
      ...base,
      id,
      title,
      ys: [col(`${k}_p50`), col(`${k}_p95`), col(`${k}_p99`)],
      series: [{ label: 'p50' }, { label: 'p95' }, { label: 'p99', dash: true }],
      yFmt: ms,
      yZero: 100,
      emptyText,
    });
  return h(
    'div',
    null,
    shown.young
      ? h(
          'p',
          { class: 'range-note', id: 'young-note' },
          `Data starts ${time(df)} (the dashed line): the charts begin there, not at the start of ${windowWords(range)}.`,
        )
      : null,
    h(
      'section',
      { class: 'charts', id: 'charts' },
      perc('chart-latency', 'Latency', 'latency', none),
      perc('chart-ttft', 'Time to first token', 'ttft', streamNone),
      perc('chart-tpot', 'Time per output token', 'tpot', streamNone),
      chart({
        ...base,
        id: 'chart-rps',
        title: 'Requests / s',
        ys: [col('rps')],
        series: [{ label: 'req/s', fill: true }],
        yFmt: (v) => rate(v, 'req/s'),
        yZero: 1,
        emptyText: none,
      }),
      chart({
        ...base,
        id: 'chart-tokens',
        title: 'Tokens / s',
        ys: [col('tokens_per_s'), col('output_tokens_per_s')],
        series: [{ label: 'all tokens/s' }, { label: 'output tokens/s', color: '--c3' }],
        yFmt: (v) => rate(v, 'tok/s'),
        yZero: 10,
        emptyText: none,
      }),
      chart({
        ...base,
        id: 'chart-errors',
        title: 'Error and refusal rate (share of calls)',
        ys: [nullIfNoReq('error_rate'), nullIfNoReq('refusal_rate')],
        series: [
          { label: 'errors', color: '--bad' },
          { label: 'refusals', color: '--c4' },
        ],
        yFmt: (v) => pct(v, 1),
        yZero: 0.05,
        emptyText: none,
      }),
    ),
  );
}

function gpuCard(gpu: Result<GpuBody>, w: { from: number; to: number }): HTMLElement {
  if (!gpu.ok) return card('GPUs', empty(why(gpu, 'GPU data')));
  if (!gpu.data.available || gpu.data.gpus.length === 0)
    return card('GPUs', empty('no GPU data', gpu.data.reason ?? 'configure gpu.collector to watch self-hosted GPUs'));
  const series = gpu.data.series;
  const x = series[0]?.points.map((p) => p.t) ?? [];
  return card(
    'GPUs (last hour)',
    chart({
      xRange: w,
      fromFirstData: true,
      id: 'chart-gpu',
      title: 'Utilization',
      x,
      ys: series.map((s) => s.points.map((p) => p.utilization_avg)),
      series: series.map((s) => ({ label: `${s.host}/${s.gpu}` })),
      yFmt: (v) => pct(v, 0),
      yZero: 1, // idle GPUs (every value 0) on 0..100%, not uPlot's 0..100 (10000%)
      height: 140,
    }),
    h('a', { href: '#/gpus' }, 'all GPUs →'),
  );
}

/**
 * The Overview's one filter when it is one of `dims`, the dimensions a figure is split by (spend: model, team or
 * feature; quality: model or feature), so that group's figure can be shown; null otherwise.
 */
function soleFilter<K extends string>(filters: Record<string, string>, dims: readonly K[]): K | null {
  const keys = Object.keys(filters);
  const k = keys[0] as K;
  return keys.length === 1 && dims.includes(k) ? k : null;
}
const spendDim = (filters: Record<string, string>) => soleFilter(filters, ['model', 'team', 'feature'] as const);
const qualityDim = (filters: Record<string, string>) => soleFilter(filters, ['model', 'feature'] as const);

function alertsCard(alerts: Result<AlertsBody>, params: URLSearchParams): HTMLElement {
  if (!alerts.ok) return card('Firing alerts', empty(why(alerts, 'alerts')));
  const f = alerts.data.firing;
  if (!alerts.data.enabled) return card('Firing alerts', empty('alerting is switched off (alerts.enabled: false)'));
  if (f.length === 0) return card('Firing alerts', empty('nothing firing', `${alerts.data.pending.length} pending`));
  return card(
    'Firing alerts',
    table(
      ['alert', 'severity', 'labels', 'value', 'since', ''],
      f.map((a) => [
        h('strong', null, a.alertname),
        h('span', { class: `sev ${a.severity}` }, a.severity),
        h(
          'span',
          { class: 'labels' },
          Object.entries(a.labels)
            .filter(([k]) => k !== 'alertname' && k !== 'severity')
            .map(([k, v]) => alertLabel(k, v, params)),
        ),
        alertValue(a.value, a.rule, alerts.data.rules),
        time(a.fired_at),
        a.silenced_by.length ? h('span', { class: 'muted' }, 'silenced') : '',
      ]),
      { id: 'firing-alerts' },
    ),
    h('a', { href: href('alerts', new URLSearchParams()) }, 'alerts →'),
  );
}
