// Spend in memory: for tests, and the reference the database backends are checked against.
import { dayOf } from '../pricing.js';
import {
  addFigures,
  type CostItem,
  emptyFigures,
  type ReconciliationRecord,
  type SpendDelta,
  type SpendDimension,
  type SpendQuery,
  type SpendRow,
  type SpendStore,
} from './types.js';

function rowKey(t: number, d: SpendDimension, v: string): string {
  return `${t}\u0000${d}\u0000${v}`;
}

/** Spend in memory: for tests and for running without a SQLite store. */
export class MemorySpendStore implements SpendStore {
  readonly kind = 'memory' as const;
  private readonly minuteRows = new Map<string, SpendRow>();
  private readonly dailyRows = new Map<string, SpendRow>();
  private readonly recs: ReconciliationRecord[] = [];
  private readonly items = new Map<string, CostItem>();

  async apply(deltas: readonly SpendDelta[]): Promise<void> {
    for (const d of deltas) {
      const { minute, dimension, value, ...f } = d;
      const day = dayOf(minute);
      const dayT = Date.parse(`${day}T00:00:00Z`);
      for (const [map, t] of [
        [this.minuteRows, minute],
        [this.dailyRows, dayT],
      ] as const) {
        const k = rowKey(t, dimension, value);
        const row = map.get(k);
        if (row) addFigures(row, f);
        else map.set(k, { t, day, dimension, value, ...emptyFigures(), ...f });
      }
    }
  }

  /** Rows of the query's dimension/value whose bucket [t, t + span) overlaps [from, to) (span 1: starts inside). */
  private select(map: Map<string, SpendRow>, q: SpendQuery, span: number): SpendRow[] {
    const out: SpendRow[] = [];
    for (const r of map.values())
      if (
        r.dimension === q.dimension &&
        (q.value === undefined || r.value === q.value) &&
        r.t + span > q.from &&
        r.t < q.to
      )
        out.push({ ...r });
    return out.sort((a, b) => a.t - b.t || a.value.localeCompare(b.value));
  }

  async daily(q: SpendQuery): Promise<SpendRow[]> {
    return this.select(this.dailyRows, q, 86_400_000);
  }

  async minutes(q: SpendQuery): Promise<SpendRow[]> {
    return this.select(this.minuteRows, q, 1);
  }

  async pruneMinutes(before: number): Promise<number> {
    let n = 0;
    for (const [k, r] of this.minuteRows)
      if (r.t < before) {
        this.minuteRows.delete(k);
        n++;
      }
    return n;
  }

  async pruneDays(before: number): Promise<number> {
    const cut = Date.parse(`${dayOf(before)}T00:00:00Z`);
    let n = 0;
    for (const [k, r] of this.dailyRows)
      if (r.t < cut) {
        this.dailyRows.delete(k);
        n++;
      }
    return n;
  }

  async eraseUser(user: string): Promise<number> {
    let n = 0;
    for (const rows of [this.minuteRows, this.dailyRows])
      for (const [k, r] of rows)
        if (r.dimension === 'user' && r.value === user) {
          rows.delete(k);
          n++;
        }
    return n;
  }

  async saveReconciliation(r: ReconciliationRecord): Promise<void> {
    const i = this.recs.findIndex((x) => x.id === r.id);
    if (i >= 0) this.recs.splice(i, 1);
    this.recs.push(structuredClone(r));
  }

  async listReconciliations(limit: number): Promise<ReconciliationRecord[]> {
    return [...this.recs].sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  async getReconciliation(id: string): Promise<ReconciliationRecord | null> {
    return this.recs.find((r) => r.id === id) ?? null;
  }

  async addCostItems(items: readonly CostItem[]): Promise<number> {
    for (const it of items)
      this.items.set([it.day, it.category, it.name, it.provider ?? '', it.source].join('\u0000'), { ...it });
    return items.length;
  }

  async costItems(fromDay: string, toDay: string): Promise<CostItem[]> {
    return [...this.items.values()]
      .filter((i) => i.day >= fromDay && i.day <= toDay)
      .sort((a, b) => (a.day < b.day ? -1 : 1));
  }
}
