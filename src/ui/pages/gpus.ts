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
    if (!g.available && g.gpus.length === 0) {
      fill(
        root,
        empty('no GPU data', g.reason ?? 'set gpu.collector (nvidia-smi or a DCGM exporter) to watch self-hosted GPUs'),
      );
      return;
    }
    const x = g.series[0]?.points.map((p) => p.t) ?? [];
    const eff = g.efficiency;
    fill(
      root,
      g.signals.length
        ? h(
            'div',
            { class: 'strip' },
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
          x,
          ys: g.series.map((s) => s.points.map((p) => p.utilization_avg)),
          series: g.series.map((s) => ({ label: `${s.host}/${s.gpu}` })),
          yFmt: (v) => pct(v, 1),
        }),
        chart({
          xRange: ctx.range,
          fromFirstData: true,
          id: 'chart-gpu-mem',
          title: `Memory used (${g.step})`,
          x,
          ys: g.series.map((s) => s.points.map((p) => p.memory_used_avg)),
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
