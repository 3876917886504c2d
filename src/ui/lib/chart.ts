// Time-series charts with uPlot, colored from the page's CSS variables so they follow the light/dark theme, and
// resized with their container. A chart with no data at all shows an empty state instead of a blank frame.
// Sparse series (a handful of calls, gaps between them) draw points, since a lone value between gaps draws no line;
// markers (where the data starts) are dashed vertical lines with a label.
import uPlot from 'uplot';
import { h } from './dom.js';

export interface SeriesSpec {
  label: string;
  /** CSS variable name (e.g. --c1) or a color. */
  color?: string;
  /** Values formatter for the legend and the y axis. */
  fmt?: (v: number) => string;
  dash?: boolean;
  fill?: boolean;
}

export interface ChartSpec {
  title: string;
  series: SeriesSpec[];
  /** x values in epoch ms and one array per series (null = gap). */
  x: number[];
  ys: (number | null)[][];
  height?: number;
  /** Y axis formatter. */
  yFmt?: (v: number) => string;
  /** The y axis's tick labels from all its ticks at once (precision to tell them apart); yFmt when absent. */
  yTicksFmt?: (ticks: number[]) => string[];
  emptyText?: string;
  id?: string;
  /** The x range shown (epoch ms), so a sparse series still spans the chosen time range. */
  xRange?: { from: number; to: number };
  /** Vertical markers (epoch ms) with a label, e.g. where the data starts. */
  markers?: { at: number; label: string }[];
  /** A line under the title (what the points are, what is left out). */
  note?: string | null;
  /**
   * Start the x range at the first value (with a marker) when the data began in the range's last half: young
   * data squeezed into a sliver at the right edge reads as nothing.
   */
  fromFirstData?: boolean;
  /**
   * Start the y axis at 0 (non-negative figures: an honest baseline, and a lone value does not get a range of its
   * own rounding); the number is the top when every value is 0.
   */
  yZero?: number;
}

/** The range to show for a spec with `fromFirstData`, and the marker it adds (null: the whole range). */
export function firstDataRange(
  x: number[],
  ys: (number | null)[][],
  range: { from: number; to: number },
): { from: number; to: number; first: number } | null {
  let first = Number.POSITIVE_INFINITY;
  for (const s of ys)
    for (let i = 0; i < s.length; i++) {
      const v = s[i];
      if (v !== null && v !== undefined && Number.isFinite(v) && v !== 0) {
        first = Math.min(first, x[i] as number);
        break;
      }
    }
  if (!Number.isFinite(first) || first <= range.from || range.to - first > (range.to - range.from) / 2) return null;
  const step = x.length > 1 ? (x[1] as number) - (x[0] as number) : 60_000;
  return { from: Math.max(range.from, first - Math.max(step, (range.to - first) * 0.05)), to: range.to, first };
}

/** True when a series has few values or a value with no neighbour: a line alone would not show it. */
export function isSparse(ys: (number | null)[]): boolean {
  let n = 0;
  let lone = false;
  for (let i = 0; i < ys.length; i++) {
    const v = ys[i];
    if (v === null || v === undefined || !Number.isFinite(v)) continue;
    n++;
    const prev = ys[i - 1];
    const next = ys[i + 1];
    if ((prev === null || prev === undefined) && (next === null || next === undefined)) lone = true;
  }
  return lone || (n > 0 && n <= 60);
}

const PALETTE = ['--c1', '--c2', '--c3', '--c4', '--c5', '--c6'];

const cssVar = (name: string): string =>
  name.startsWith('--') ? getComputedStyle(document.documentElement).getPropertyValue(name).trim() || '#888' : name;

const live = new Set<{ plot: uPlot; el: HTMLElement }>();
const observer = new ResizeObserver((entries) => {
  for (const e of entries)
    for (const c of live)
      if (c.el === e.target)
        c.plot.setSize({ width: Math.max(200, Math.floor(e.contentRect.width)), height: c.plot.height });
});

/** Destroys every chart (on page change). */
export function destroyCharts(): void {
  for (const c of live) {
    observer.unobserve(c.el);
    c.plot.destroy();
  }
  live.clear();
}

/** A chart card: title, then the plot (or an empty state when every series is empty). */
export function chart(input: ChartSpec): HTMLElement {
  let spec = input;
  if (input.fromFirstData && input.xRange) {
    const r = firstDataRange(input.x, input.ys, input.xRange);
    if (r)
      spec = {
        ...input,
        xRange: { from: r.from, to: r.to },
        markers: [...(input.markers ?? []), { at: r.first, label: 'first data' }],
        note: [input.note, `starts at the first data (${new Date(r.first).toLocaleTimeString()})`]
          .filter(Boolean)
          .join(' · '),
      };
  }
  const hasData = spec.ys.some((s) => s.some((v) => v !== null && Number.isFinite(v)));
  const body = h('div', { class: 'plot' });
  const fig = h(
    'figure',
    {
      class: 'chart',
      id: spec.id ?? null,
      'data-points': String(hasData ? spec.x.length : 0),
      'data-markers': String(spec.markers?.length ?? 0),
    },
    h('figcaption', null, spec.title, spec.note ? h('span', { class: 'muted note' }, spec.note) : null),
    body,
  );
  if (!hasData) {
    body.append(h('div', { class: 'empty small' }, spec.emptyText ?? 'no data in this range'));
    return fig;
  }
  // uPlot needs the element in the document to measure; build on the next frame.
  requestAnimationFrame(() => {
    if (!body.isConnected) return;
    // Charts replaced by a refresh are gone from the document: free them.
    for (const c of live)
      if (!c.el.isConnected) {
        observer.unobserve(c.el);
        c.plot.destroy();
        live.delete(c);
      }
    const axis = cssVar('--muted');
    const grid = cssVar('--grid');
    const opts: uPlot.Options = {
      width: Math.max(200, body.clientWidth || 480),
      height: spec.height ?? 180,
      cursor: { drag: { x: false, y: false } },
      legend: { live: true },
      scales: {
        x: spec.xRange ? { time: true, range: [spec.xRange.from / 1000, spec.xRange.to / 1000] } : { time: true },
        ...(spec.yZero !== undefined
          ? {
              y: {
                range: (_u: uPlot, _min: number, max: number): uPlot.Range.MinMax => [
                  0,
                  max > 0 ? max * 1.15 : (spec.yZero as number),
                ],
              },
            }
          : {}),
      },
      series: [
        { value: (_u, v) => (v === null ? '–' : new Date(v * 1000).toLocaleString()) },
        ...spec.series.map((s, i) => {
          const color = cssVar(s.color ?? (PALETTE[i % PALETTE.length] as string));
          return {
            label: s.label,
            stroke: color,
            width: 1.5,
            dash: s.dash ? [4, 3] : undefined,
            fill: s.fill ? `${color}22` : undefined,
            spanGaps: false,
            points: isSparse(spec.ys[i] ?? []) ? { show: true, size: 6, fill: color } : { size: 4 },
            value: (_u: uPlot, v: number | null) => (v === null ? '–' : (s.fmt ?? spec.yFmt ?? String)(v)),
          };
        }),
      ],
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, space: 70 },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 84,
          values: (_u, vals) =>
            spec.yTicksFmt ? spec.yTicksFmt(vals) : vals.map((v) => (spec.yFmt ? spec.yFmt(v) : String(v))),
        },
      ],
      hooks: spec.markers?.length ? { draw: [(u: uPlot) => drawMarkers(u, spec.markers ?? [], axis)] } : {},
    };
    const data = [spec.x.map((t) => t / 1000), ...spec.ys] as uPlot.AlignedData;
    const plot = new uPlot(opts, data, body);
    body.dataset.drawn = String(spec.ys.reduce((n, s) => n + s.filter((v) => v !== null).length, 0));
    const entry = { plot, el: body };
    live.add(entry);
    observer.observe(body);
  });
  return fig;
}

/** Dashed vertical lines with a label at the top, inside the plotting area. */
function drawMarkers(u: uPlot, markers: { at: number; label: string }[], color: string): void {
  const ctx = u.ctx;
  const { top, height, left, width } = u.bbox;
  ctx.save();
  for (const m of markers) {
    const x = Math.round(u.valToPos(m.at / 1000, 'x', true));
    if (x < left - 1 || x > left + width + 1) continue;
    ctx.strokeStyle = color;
    ctx.setLineDash([3 * devicePixelRatio, 3 * devicePixelRatio]);
    ctx.lineWidth = devicePixelRatio;
    ctx.beginPath();
    ctx.moveTo(x, top);
    ctx.lineTo(x, top + height);
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = color;
    ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
    const tw = ctx.measureText(m.label).width;
    const tx = x + 4 * devicePixelRatio + tw > left + width ? x - 4 * devicePixelRatio - tw : x + 4 * devicePixelRatio;
    ctx.fillText(m.label, tx, top + 12 * devicePixelRatio);
  }
  ctx.restore();
}
