// Costs that are not per-token API calls: GPUs paid by the hour, vector-database storage, egress measured at the
// gateway, fixed monthly items, self-hosted models priced by GPU-hours, and imported cost line items. All accrue by
// day (UTC); today's share grows with the hours elapsed, so "so far" figures never count time that has not passed.
import { parse as parseCsv } from 'csv-parse/sync';
import { DAY_MS } from '../time.js';
import type { CostsConfig, PriceOverride } from './config.js';
import { dayOf, dayStart, daysBetween } from './pricing.js';
import type { CostItem } from './storage/index.js';

export interface NonApiLine {
  day: string;
  category: string;
  name: string;
  provider: string | null;
  amountUsd: number;
}

function daysInMonth(day: string): number {
  const d = new Date(dayStart(day));
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
}

function active(item: { from?: string; to?: string }, day: string): boolean {
  return (item.from === undefined || day >= item.from) && (item.to === undefined || day <= item.to);
}

export interface AccrueInput {
  costs: CostsConfig;
  /** `pricing.models` entries priced by GPU-hours. */
  gpuPriced?: readonly PriceOverride[];
  /** Request + response bytes through the gateway, by day. */
  bytesByDay?: ReadonlyMap<string, number>;
  items?: readonly CostItem[];
  /** Accrue up to this time (today's share of daily amounts is the elapsed fraction). Default: whole days. */
  now?: number;
}

/** Non-API cost lines for each day in [fromDay, toDay]. */
export function accrueNonApi(fromDay: string, toDay: string, input: AccrueInput): NonApiLine[] {
  const out: NonApiLine[] = [];
  const { costs } = input;
  for (const day of daysBetween(fromDay, toDay)) {
    const start = dayStart(day);
    const share = input.now === undefined ? 1 : Math.min(1, Math.max(0, (input.now - start) / DAY_MS));
    if (share <= 0) continue;
    const month = daysInMonth(day);
    const push = (category: string, name: string, provider: string | null | undefined, amountUsd: number): void => {
      if (amountUsd > 0) out.push({ day, category, name, provider: provider ?? null, amountUsd });
    };
    for (const g of costs.gpu)
      if (active(g, day)) push('gpu', g.name, g.provider, g.gpus * g.pricePerGpuHour * 24 * share);
    for (const v of costs.vectorDb)
      if (active(v, day)) push('vector_db', v.name, v.provider, ((v.gb * v.pricePerGbMonth) / month) * share);
    for (const f of costs.fixed) if (active(f, day)) push('fixed', f.name, f.provider, (f.monthlyUsd / month) * share);
    for (const p of input.gpuPriced ?? [])
      if (p.gpuHours && (p.effectiveFrom === undefined || day >= p.effectiveFrom))
        push('self_hosted', p.model, p.provider, p.gpuHours.gpus * p.gpuHours.pricePerGpuHour * 24 * share);
    if (costs.egress) {
      const bytes = input.bytesByDay?.get(day) ?? 0;
      push('egress', costs.egress.name, null, (bytes / 1e9) * costs.egress.pricePerGb);
    }
  }
  for (const it of input.items ?? [])
    if (it.day >= fromDay && it.day <= toDay)
      out.push({ day: it.day, category: it.category, name: it.name, provider: it.provider, amountUsd: it.amountUsd });
  return out;
}

/** A day `YYYY-MM-DD` from an ISO date/time, a `YYYY-MM-DD` date, or epoch seconds/milliseconds. */
export function dayFrom(v: unknown): string | null {
  if (typeof v === 'number' && Number.isFinite(v)) return dayOf(v < 1e11 ? v * 1000 : v);
  if (typeof v !== 'string') return null;
  const s = v.trim();
  if (/^\d{9,13}$/.test(s)) return dayFrom(Number(s));
  // a calendar day as written; 2025-02-30 or 2025-13-01 is none (Date.parse would roll the first into March)
  if (/^\d{4}-\d{2}-\d{2}$/.test(s)) {
    const t = Date.parse(`${s}T00:00:00Z`);
    return Number.isFinite(t) && dayOf(t) === s ? s : null;
  }
  const t = Date.parse(s);
  return Number.isFinite(t) ? dayOf(t) : null;
}

/**
 * The largest dollar amount (either sign) a bill line or cost item may have: far above any real one, and small
 * enough that no body's lines add up past what a number holds (two lines of 1e308 summed to Infinity: a
 * reconciliation answered 500, daily totals and the forecast null).
 */
export const MAX_AMOUNT_USD = 1e12;

/** A dollar amount from a number or a string such as "12.50", "$1,204.10"; null past ±MAX_AMOUNT_USD. */
export function amountFrom(v: unknown): number | null {
  const n = amountOf(v);
  return n !== null && Math.abs(n) <= MAX_AMOUNT_USD ? n : null;
}

/** What a message about an amount amountFrom refused adds: the bound, when it was a number past it. */
export function amountBound(v: unknown): string {
  return amountOf(v) === null ? '' : ` from -${MAX_AMOUNT_USD} to ${MAX_AMOUNT_USD}`;
}

function amountOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v !== 'string') return null;
  const s = v.trim().replace(/^\$/, '').replace(/,/g, '');
  if (s === '') return null;
  const n = Number(s);
  return Number.isFinite(n) ? n : null;
}

/** Parses CSV text into objects keyed by lower-cased, trimmed header names. */
export function csvRecords(text: string): Record<string, string>[] {
  return parseCsv(text.replace(/^\uFEFF/, ''), {
    columns: (header: string[]) => header.map((h) => h.trim().toLowerCase()),
    skip_empty_lines: true,
    trim: true,
    relax_column_count: true,
  }) as Record<string, string>[];
}

export class CostItemsError extends Error {}

/**
 * Cost line items from CSV (header: date, name, amount_usd, and optionally category, provider) or JSON (an array
 * of such objects, or `{ "items": [...] }`). Errors name the line.
 */
export function parseCostItems(text: string, source: string): CostItem[] {
  const trimmed = text.trim();
  let rows: Record<string, unknown>[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let json: unknown;
    try {
      json = JSON.parse(trimmed);
    } catch (err) {
      throw new CostItemsError(`${source}: not valid JSON (${(err as Error).message})`);
    }
    const list = Array.isArray(json) ? json : (json as { items?: unknown }).items;
    if (!Array.isArray(list)) throw new CostItemsError(`${source}: expected an array of items or {"items": [...]}`);
    rows = list as Record<string, unknown>[];
  } else rows = csvRecords(trimmed);
  return rows.map((r, i) => {
    const where = `${source}: item ${i + 1}`;
    const day = dayFrom(r.date ?? r.day);
    if (!day) throw new CostItemsError(`${where}: "date" must be a date like 2025-01-31`);
    const given = r.amount_usd ?? r.amount ?? r.cost_usd;
    const amount = amountFrom(given);
    if (amount === null) throw new CostItemsError(`${where}: "amount_usd" must be a number${amountBound(given)}`);
    const name = typeof r.name === 'string' && r.name.trim() ? r.name.trim() : null;
    if (!name) throw new CostItemsError(`${where}: "name" is required`);
    const category = typeof r.category === 'string' && r.category.trim() ? r.category.trim() : 'other';
    const provider = typeof r.provider === 'string' && r.provider.trim() ? r.provider.trim() : null;
    return { day, name, category, provider, amountUsd: amount, source };
  });
}
