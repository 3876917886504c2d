// GPUs: each GPU's utilization and memory now and over the range, what self-hosted output costs per 1K tokens
// beside API spend, and the low-utilization / high-memory signals. From /api/gpu.

import type { GpuBody } from '../../wire/index.js';
import { get, qs, why } from '../lib/api.js';
import { chart } from '../lib/chart.js';
import { bar, bytes, bytesTicks, card, compact, empty, fill, h, pct, table, time, usd } from '../lib/dom.js';
import type { Page } from './page.js';

export const gpusPage: Page = {
  title: () => 'GPUs',
  async render(root, ctx) {
    const r = await get<GpuBody>(`/api/gpu${qs({ from: Math.round(ctx.range.from), to: Math.round(ctx.range.to) })}`);
    if (!ctx.current()) return;
    if (!r.ok) {
      fill(
        root,
        empty(r.status === 404 ? 'no GPU data yet — the GPU capability is not in this build' : why(r, 'GPU data')),
      );
      return;
    }
    const g = r.data;
    // With no live reading but history in the range (a collector down for now), the history and costs still show.
    if (!g.available && g.gpus.length === 0 && g.series.length === 0) {
      fill(
        root,
        empty('no GPU data', g.reason ?? 'set gpu.collector (nvidia-smi or a DCGM exporter) to watch self-hosted GPUs'),
      );
      return;
    }
    const util = aligned(g.series, (p) => p.utilization_avg);
    const mem = aligned(g.series, (p) => p.memory_used_avg);
    const eff = g.efficiency;
    // What the collectors say beside the readings: one that failed (an exporter down) while others read, or the GPUs
    // an ok one could not read (one fallen off the bus).
    const problems = g.collectors
      .filter((c) => c.reason !== null && (c.status === 'ok' || c.status === 'error'))
      .map(
        (c) =>
          `${c.kind === 'nvidia-smi' ? 'nvidia-smi' : `dcgm ${c.source}`}: ${c.status === 'error' ? 'failed: ' : ''}${c.reason}`,
      );
    // A gpu.hosts name no collector reports (a typo, a container's id as host name): its models get no GPU cost.
    if (g.unseen_hosts.length > 0) {
      const seen = [...new Set([...g.gpus.map((d) => d.host), ...g.series.map((s) => s.host)])].sort();
      problems.push(
        `gpu.hosts names ${g.unseen_hosts.map((x) => `"${x}"`).join(', ')}, on which no collector reported a GPU in ` +
          `this range, so its models get no GPU-hours or cost; hosts reported: ${seen.join(', ') || 'none'} ` +
          '(in a container the host name is its id: set gpu.hostname, or host: per DCGM exporter)',
      );
    }
    fill(
      root,
      g.signals.length || problems.length
        ? h(
            'div',
            { class: 'strip', id: 'gpu-strip' },
            problems.map((p) => h('div', { class: 'bad' }, p)),
            g.signals.map((s) =>
              h(
                'div',
                null,
                `${s.host}/${s.gpu}: ${s.kind === 'low_utilization' ? 'low utilization' : 'high memory'} ${pct(s.value, 0)} (threshold ${pct(s.threshold, 0)})`,
              ),
            ),
          )
        : null,
      h(
        'section',
        { class: 'gpu-cards' },
        g.gpus.map((d) =>
          h(
            'div',
            { class: 'card gpu' },
            h('h3', null, `${d.host} / ${d.gpu}`),
            h('p', { class: 'muted' }, d.name ?? ''),
            h(
              'div',
              { class: 'share' },
              h('span', null, 'util'),
              bar(d.utilization),
              h('span', null, pct(d.utilization, 0)),
            ),
            h(
              'div',
              { class: 'share' },
              h('span', null, 'mem'),
              bar(d.memory_total_bytes ? (d.memory_used_bytes ?? 0) / d.memory_total_bytes : null),
              h('span', null, `${bytes(d.memory_used_bytes)} / ${bytes(d.memory_total_bytes)}`),
            ),
            h(
              'p',
              { class: 'muted' },
              `${d.temperature_c ?? '–'} °C · ${d.power_w === null ? '–' : Math.round(d.power_w)} W · ${time(d.updated_at)}`,
            ),
          ),
        ),
      ),
      h(
        'div',
        { class: 'grid2' },
        chart({
          xRange: ctx.range,
          fromFirstData: true,
          id: 'chart-gpu-util',
          title: `Utilization (${g.step})`,
          x: util.x,
          ys: util.ys,
          series: g.series.map((s) => ({ label: `${s.host}/${s.gpu}` })),
          yFmt: (v) => pct(v, 1),
          yZero: 1, // idle GPUs (every value 0) on 0..100%, not uPlot's 0..100 (10000%)
        }),
        chart({
          xRange: ctx.range,
          fromFirstData: true,
          id: 'chart-gpu-mem',
          title: `Memory used (${g.step})`,
          x: mem.x,
          ys: mem.ys,
          series: g.series.map((s) => ({ label: `${s.host}/${s.gpu}` })),
          yFmt: bytes,
          yTicksFmt: bytesTicks,
        }),
      ),
      card(
        'Cost per 1K output tokens',
        eff.length === 0
          ? empty('no efficiency figures', 'set gpu.pricePerGpuHour and which models each host serves')
          : table(
              ['model', 'kind', 'hosts', 'GPU hours', 'output tokens', 'cost', 'per 1K output tokens', 'utilization'],
              eff.map((e) => [
                e.model ?? '–',
                e.kind === 'self_hosted' ? 'self-hosted' : 'API',
                e.hosts.join(', ') || '–',
                e.gpu_hours === null ? '–' : e.gpu_hours.toFixed(2),
                compact(e.output_tokens),
                usd(e.cost_usd),
                usd(e.cost_per_1k_output_tokens),
                pct(e.utilization_avg, 0),
              ]),
              { id: 'gpu-efficiency' },
            ),
      ),
    );
  },
};

type GpuSeries = GpuBody['series'][number];

/**
 * Every GPU's points on one time axis, the union of their times, with null where a GPU has no point: a GPU is
 * stored only while it is read, so a host added later or a GPU that fell off the bus has fewer points than another,
 * and drawn at the first GPU's times its values would land at the wrong times (or past the axis's end).
 */
export function aligned(
  series: readonly GpuSeries[],
  value: (p: GpuSeries['points'][number]) => number | null,
): { x: number[]; ys: (number | null)[][] } {
  const x = [...new Set(series.flatMap((s) => s.points.map((p) => p.t)))].sort((a, b) => a - b);
  const at = new Map(x.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y: (number | null)[] = new Array(x.length).fill(null);
    for (const p of s.points) y[at.get(p.t) as number] = value(p);
    return y;
  });
  return { x, ys };
}
