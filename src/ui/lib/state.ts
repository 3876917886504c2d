// URL state: a hash router (`#/requests/<id>?range=6h&model=gpt-4o`), so every view, time range and filter is a
// shareable link, and the server needs no route of its own (it serves index.html and /api only).

export const PRESETS: Record<string, number> = {
  '1h': 3_600_000,
  '6h': 6 * 3_600_000,
  '24h': 24 * 3_600_000,
  '7d': 7 * 86_400_000,
  '30d': 30 * 86_400_000,
};
export const DEFAULT_RANGE = '24h';
/** Minute steps up to two days, hourly beyond (the API's rule, so the points match its rollups). */
export const MINUTE_STEP_MAX_MS = 2 * 86_400_000;

export interface Route {
  page: string;
  id: string | null;
  params: URLSearchParams;
}

export function currentRoute(hash = location.hash): Route {
  const raw = hash.replace(/^#\/?/, '');
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const params = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  const [page, ...rest] = path.split('/').filter(Boolean);
  return { page: page || 'overview', id: rest.length ? decodeURIComponent(rest.join('/')) : null, params };
}

export function href(page: string, params?: URLSearchParams | Record<string, string>, id?: string): string {
  const p = params instanceof URLSearchParams ? params : new URLSearchParams(params ?? {});
  const s = p.toString();
  return `#/${page}${id ? `/${encodeURIComponent(id)}` : ''}${s ? `?${s}` : ''}`;
}

/** The range and filter parameters worth carrying from page to page. */
const CARRIED = ['range', 'from', 'to', 'model', 'provider', 'team', 'feature', 'endpoint'];

export function carried(params: URLSearchParams): URLSearchParams {
  const out = new URLSearchParams();
  for (const k of CARRIED) {
    const v = params.get(k);
    if (v) out.set(k, v);
  }
  return out;
}

/** Changes the current URL's parameters (null deletes); replaces history unless `push`. */
export function setParams(changes: Record<string, string | null>, push = false): void {
  const r = currentRoute();
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') r.params.delete(k);
    else r.params.set(k, v);
  }
  const url = href(r.page, r.params, r.id ?? undefined);
  if (push) location.hash = url;
  else {
    history.replaceState(null, '', url);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  }
}

export interface TimeRange {
  from: number;
  to: number;
  /** The preset name, or 'custom'. */
  label: string;
  /** A relative range that moves with the clock (auto-refresh applies). */
  live: boolean;
  step: 'minute' | 'hour';
  stepMs: number;
}

const parseTime = (v: string | null): number | null => {
  if (!v) return null;
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  return Number.isFinite(n) ? n : null;
};

export function rangeOf(params: URLSearchParams, now = Date.now()): TimeRange {
  const from = parseTime(params.get('from'));
  const to = parseTime(params.get('to'));
  if (from !== null && to !== null && from < to) return withStep({ from, to, label: 'custom', live: false });
  const name = params.get('range') ?? DEFAULT_RANGE;
  const span = PRESETS[name] ?? (PRESETS[DEFAULT_RANGE] as number);
  return withStep({ from: now - span, to: now, label: PRESETS[name] ? name : DEFAULT_RANGE, live: true });
}

function withStep(r: Omit<TimeRange, 'step' | 'stepMs'>): TimeRange {
  const minute = r.to - r.from <= MINUTE_STEP_MAX_MS;
  return { ...r, step: minute ? 'minute' : 'hour', stepMs: minute ? 60_000 : 3_600_000 };
}

/**
 * An alert's label as shown in a list: `model=gpt-4o-mini`, linked to the Overview filtered by it (in the range of
 * `params`) when the dashboard filters on that label (model, provider, team, feature, endpoint), so an alert leads to
 * its model's charts without typing.
 */
export function alertLabel(k: string, v: string, params: URLSearchParams): HTMLElement {
  const code = document.createElement('code');
  code.textContent = `${k}=${v}`;
  if (!FILTERS.includes(k)) return code;
  const p = new URLSearchParams();
  for (const n of ['range', 'from', 'to']) {
    const x = params.get(n);
    if (x) p.set(n, x);
  }
  p.set(k, v);
  const a = document.createElement('a');
  a.href = href('overview', p);
  a.className = 'alert-filter';
  a.title = `the Overview for ${k} ${v}`;
  a.append(code);
  return a;
}
const FILTERS = ['model', 'provider', 'team', 'feature', 'endpoint'];

/** Filters on the rollup dimensions present in the URL. */
export function filtersOf(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['model', 'provider', 'team', 'feature', 'endpoint']) {
    const v = params.get(k);
    if (v) out[k] = v;
  }
  return out;
}

/** `datetime-local` value for an epoch ms, in local time. */
export function localInput(t: number): string {
  const d = new Date(t - new Date(t).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}
