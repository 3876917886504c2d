// The first dashboard page: live request rate, latency percentiles, TTFT/TPOT, error rate and the latest
// requests. Reads only pre-aggregated rollups (/api/stats/*) plus one page of /api/requests.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import './style.css';

interface Point {
  t: number;
  rps: number;
  error_rate: number | null;
  latency_p50: number | null;
  latency_p95: number | null;
  latency_p99: number | null;
  ttft_p95: number | null;
  tpot_p95: number | null;
}
interface Summary {
  requests: number;
  rps: number;
  error_rate: number | null;
  latency_p50: number | null;
  latency_p95: number | null;
  ttft_p95: number | null;
  tpot_p95: number | null;
  tokens_per_s: number;
  cost_usd: number;
}
interface CallRow {
  request_id: string;
  started_at: string;
  model: string;
  status: string;
  user: string | null;
  feature: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  ttft_ms: number | null;
  tpot_ms: number | null;
  latency_ms: number;
}

const RANGES: Record<string, number> = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 24 * 3600e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
const params = new URLSearchParams(location.search);
let range = params.get('range') && RANGES[params.get('range') as string] ? (params.get('range') as string) : '1h';

const $ = (id: string): HTMLElement => document.getElementById(id) as HTMLElement;

function fmt(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || Number.isNaN(v) ? '–' : v.toFixed(digits);
}

function td(text: string, cls?: string): HTMLTableCellElement {
  const c = document.createElement('td');
  c.textContent = text; // user-supplied values are text, never HTML
  if (cls) c.className = cls;
  return c;
}

async function getJson<T>(path: string): Promise<T> {
  const r = await fetch(path, { credentials: 'same-origin' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return (await r.json()) as T;
}

const charts = new Map<string, uPlot>();
function draw(id: string, labels: string[], data: uPlot.AlignedData): void {
  const el = $(id);
  const width = Math.max(300, el.clientWidth || 460);
  const existing = charts.get(id);
  if (existing) {
    existing.setData(data);
    return;
  }
  const colors = ['#0969da', '#bf8700', '#cf222e', '#1a7f37'];
  const opts: uPlot.Options = {
    width,
    height: 200,
    series: [{}, ...labels.map((label, i) => ({ label, stroke: colors[i % colors.length], width: 1.5, spanGaps: false }))],
    axes: [{ stroke: '#8b949e' }, { stroke: '#8b949e' }],
  };
  charts.set(id, new uPlot(opts, data, el));
}

function tile(k: string, v: string): HTMLElement {
  const d = document.createElement('div');
  d.className = 'tile';
  const vv = document.createElement('div');
  vv.className = 'v';
  vv.textContent = v;
  const kk = document.createElement('div');
  kk.className = 'k';
  kk.textContent = k;
  d.append(vv, kk);
  return d;
}

async function refresh(): Promise<void> {
  const to = Date.now();
  const from = to - (RANGES[range] as number);
  const q = `from=${from}&to=${to}`;
  try {
    const [ts, sum, reqs] = await Promise.all([
      getJson<{ points: Point[] }>(`/api/stats/timeseries?${q}`),
      getJson<Summary>(`/api/stats/summary?${q}`),
      getJson<{ data: CallRow[] }>(`/api/requests?limit=25`),
    ]);
    const tiles = $('tiles');
    tiles.replaceChildren(
      tile('requests', String(sum.requests)),
      tile('requests / s', fmt(sum.rps, 2)),
      tile('error rate %', fmt(sum.error_rate === null ? null : sum.error_rate * 100, 2)),
      tile('latency p50 ms', fmt(sum.latency_p50, 0)),
      tile('latency p95 ms', fmt(sum.latency_p95, 0)),
      tile('TTFT p95 ms', fmt(sum.ttft_p95, 0)),
      tile('TPOT p95 ms', fmt(sum.tpot_p95, 1)),
      tile('tokens / s', fmt(sum.tokens_per_s, 1)),
    );
    const t = ts.points.map((p) => p.t / 1000);
    const col = (f: (p: Point) => number | null) => ts.points.map(f) as (number | null)[];
    draw('chart-rps', ['req/s'], [t, col((p) => p.rps)]);
    draw('chart-latency', ['p50', 'p95', 'p99'], [t, col((p) => p.latency_p50), col((p) => p.latency_p95), col((p) => p.latency_p99)]);
    draw('chart-tokens', ['TTFT p95', 'TPOT p95'], [t, col((p) => p.ttft_p95), col((p) => p.tpot_p95)]);
    draw('chart-errors', ['error %'], [t, col((p) => (p.error_rate === null ? null : p.error_rate * 100))]);
    const body = $('requests').querySelector('tbody') as HTMLElement;
    body.replaceChildren(
      ...reqs.data.map((c) => {
        const tr = document.createElement('tr');
        tr.append(
          td(new Date(c.started_at).toLocaleTimeString()),
          td(c.model),
          td(c.status, c.status === 'ok' ? undefined : 'err'),
          td(c.user ?? '–'),
          td(c.feature ?? '–'),
          td(`${c.input_tokens ?? '–'} / ${c.output_tokens ?? '–'}`),
          td(fmt(c.ttft_ms, 0)),
          td(fmt(c.tpot_ms, 1)),
          td(fmt(c.latency_ms, 0)),
          td(c.request_id),
        );
        return tr;
      }),
    );
    $('requests-empty').hidden = reqs.data.length > 0;
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (err) {
    $('status').textContent = `could not load data: ${(err as Error).message}`;
  }
}

function buildRangeNav(): void {
  const nav = $('range');
  for (const r of Object.keys(RANGES)) {
    const b = document.createElement('button');
    b.textContent = r;
    b.className = r === range ? 'active' : '';
    b.onclick = () => {
      range = r;
      const p = new URLSearchParams(location.search);
      p.set('range', r);
      history.replaceState(null, '', `?${p}`);
      for (const x of nav.querySelectorAll('button')) x.className = x.textContent === r ? 'active' : '';
      void refresh();
    };
    nav.append(b);
  }
}

$('base-url').textContent = `${location.origin}/v1`;
buildRangeNav();
void refresh();
setInterval(refresh, 5000);
