// Tiny DOM helpers. Everything user-supplied (prompts, responses, names, labels) goes in as text nodes: nothing
// here ever sets innerHTML, so a prompt such as `<img src=x onerror=...>` is shown, never run.

type Child = Node | string | number | null | undefined | false;
/** Children may nest in arrays (as `map` gives them). */
export type Children = Child | Children[];
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

/** Creates an element; string children become text nodes, `on*` attributes become listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs | null = null,
  ...children: Children[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (attrs)
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
      else if (k === 'class') el.className = String(v);
      // Through the CSSOM, which the page's CSP allows, rather than a style attribute, which it refuses (no
      // 'unsafe-inline' for styles): the bars' widths, the waterfall's offsets.
      else if (k === 'style') el.style.cssText = String(v);
      else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  append(el, children);
  return el;
}

function append(el: Element, children: Children[]): void {
  for (const c of children) {
    if (Array.isArray(c)) append(el, c);
    else if (c === null || c === undefined || c === false) continue;
    else if (typeof c === 'string' || typeof c === 'number') el.append(document.createTextNode(String(c)));
    else el.append(c);
  }
}

export const $ = <T extends HTMLElement = HTMLElement>(sel: string, root: ParentNode = document): T =>
  root.querySelector(sel) as T;

/** Replaces an element's children (same rules as `h`). */
export function fill(el: Element, ...children: Children[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A placeholder that says why there is nothing to show (never a broken page). */
export function empty(text: string, hint?: string): HTMLElement {
  return h('div', { class: 'empty' }, h('p', null, text), hint ? h('p', { class: 'muted' }, hint) : null);
}

/** A card with a title and content. */
export function card(title: string, ...content: Children[]): HTMLElement {
  return h('section', { class: 'card' }, h('h3', null, title), ...content);
}

/** A figure tile: big value, label, optional note lines (each its own line), optional id. */
export function tile(
  label: string,
  value: string,
  note?: string | (string | null)[] | null,
  cls?: string,
  id?: string,
): HTMLElement {
  const notes = (Array.isArray(note) ? note : [note]).filter((n): n is string => !!n);
  return h(
    'div',
    { class: `tile${cls ? ` ${cls}` : ''}`, id: id ?? null },
    h('div', { class: 'v' }, value),
    h('div', { class: 'k' }, label),
    notes.map((n) => h('div', { class: 'n muted', title: n }, n)),
  );
}

/** A table from headers and rows of cells (strings are text; nodes are inserted as they are). */
export function table(headers: string[], rows: Children[][], attrs: Attrs = {}): HTMLTableElement {
  return h(
    'table',
    attrs,
    h(
      'thead',
      null,
      h(
        'tr',
        null,
        headers.map((x) => h('th', null, x)),
      ),
    ),
    h(
      'tbody',
      null,
      rows.map((r) =>
        h(
          'tr',
          null,
          r.map((c) => h('td', null, c)),
        ),
      ),
    ),
  );
}

/** A horizontal bar for ratios (0..1, clamped): amber from 80%, red from 100% (budgets); `plain` for shares. */
export function bar(ratio: number | null, label?: string, plain = false): HTMLElement {
  const r = ratio === null || !Number.isFinite(ratio) ? 0 : ratio;
  const level = plain ? ' plain' : r >= 1 ? ' over' : r >= 0.8 ? ' warn' : '';
  const el = h('div', { class: `bar${level}`, title: label ?? null });
  el.append(h('span', { style: `width:${Math.min(100, Math.max(0, r * 100)).toFixed(1)}%` }));
  return el;
}

// ---- formatting ------------------------------------------------------------------------------------------------

const nf = new Intl.NumberFormat('en-US');

export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return digits === 0 ? nf.format(Math.round(v)) : v.toFixed(digits);
}

/** 1234567 → 1.23M. */
export function compact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (a >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(1)}k`;
  return a >= 100 || Number.isInteger(v) ? nf.format(Math.round(v)) : v.toFixed(2);
}

export function pct(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(v * 100).toFixed(digits)}%`;
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 10_000) return `${(v / 1000).toFixed(1)} s`;
  if (v >= 1000) return `${(v / 1000).toFixed(2)} s`;
  if (v >= 100) return `${Math.round(v)} ms`;
  return `${v.toFixed(1)} ms`;
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1000) return `$${nf.format(Math.round(v))}`;
  if (a >= 1) return `$${v.toFixed(2)}`;
  if (a === 0) return '$0';
  if (a >= 0.01) return `$${v.toFixed(3)}`;
  return `$${v.toPrecision(2)}`;
}

export function bytes(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${x.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/**
 * Axis labels for byte ticks: one unit (the largest tick's) and as many decimals (up to 3) as the ticks' spacing
 * needs to tell them apart. `bytes` alone wrote "71.7 GiB" on every tick of a GPU memory chart varying by 0.1 GiB.
 */
export function bytesTicks(ticks: number[]): string[] {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  const finite = ticks.filter((t) => Number.isFinite(t));
  let i = 0;
  let scale = 1;
  const top = Math.max(0, ...finite.map(Math.abs));
  while (top / scale >= 1024 && i < units.length - 1) {
    scale *= 1024;
    i++;
  }
  let gap = Number.POSITIVE_INFINITY;
  for (let k = 1; k < finite.length; k++) {
    const d = Math.abs((finite[k] as number) - (finite[k - 1] as number)) / scale;
    if (d > 0) gap = Math.min(gap, d);
  }
  const decimals =
    i === 0 ? 0 : Number.isFinite(gap) ? Math.min(3, Math.max(1, Math.ceil(-Math.log10(gap) - 1e-9))) : 1;
  return ticks.map((t) => (Number.isFinite(t) ? `${(t / scale).toFixed(decimals)} ${units[i]}` : ''));
}

export function time(iso: string | number | null | undefined, withDate = true): string {
  if (iso === null || iso === undefined) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '–';
  return withDate
    ? d.toLocaleString(undefined, {
        month: 'short',
        day: 'numeric',
        hour: '2-digit',
        minute: '2-digit',
        second: '2-digit',
      })
    : d.toLocaleTimeString();
}

/** A rate with its unit: `7.93 req/s`, `1.52k tokens/s`. */
export function rate(v: number | null | undefined, unit: string): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `${v !== 0 && Math.abs(v) < 0.01 ? v.toPrecision(2) : compact(v)} ${unit}`;
}

/** A bucket size in words: 1 min, 5 min, 1 h, 3 h. */
export function stepWords(stepMs: number): string {
  return stepMs < 3_600_000 ? `${Math.round(stepMs / 60_000)} min` : `${Math.round(stepMs / 3_600_000)} h`;
}

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}
