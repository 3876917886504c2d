// Spend for a team-scoped principal (docs/security.md). The spend aggregates are summed per dimension alone (spend by
// user, by team, ... each on its own), so they cannot say what one team spent per model or per feature; the call
// rollups carry team and feature on every row, so a scoped principal's spend is read from them, through the call
// store narrowed to its scope. Spend by user or by key is not in the rollups: it is refused (403), never answered
// from every team's figures.
import { LlmscopeError } from '../errors.js';
import type { RollupDimension, Store } from '../store/index.js';
import { DAY_MS } from '../time.js';
import type { CostsConfig } from './config.js';
import { dayOf } from './pricing.js';
import { SpendQueries } from './spend-queries.js';
import type { SpendDimension, SpendQuery, SpendRow, SpendStore } from './storage/index.js';

const FROM_ROLLUPS: Partial<Record<SpendDimension, RollupDimension | null>> = {
  all: null,
  team: 'team',
  feature: 'feature',
  model: 'model',
  provider: 'provider',
};

/** Spend queries over `calls` (already narrowed to the scope), answering from its rollups. */
export function rollupSpendQueries(
  calls: Store,
  opts: { costs: CostsConfig; now: () => number; minuteRetentionMs: number },
): SpendQueries {
  return new SpendQueries(new RollupSpend(calls), opts.costs, [], opts.now, opts.minuteRetentionMs);
}

class RollupSpend implements SpendStore {
  readonly kind = 'memory' as const;

  constructor(private readonly calls: Store) {}

  minutes(q: SpendQuery): Promise<SpendRow[]> {
    return this.rows(q, 'minute', q.from, q.to);
  }

  /** Whole UTC days overlapping [from, to), summed from hour rollups. */
  async daily(q: SpendQuery): Promise<SpendRow[]> {
    const from = Math.floor(q.from / DAY_MS) * DAY_MS;
    const to = Math.ceil(q.to / DAY_MS) * DAY_MS;
    const byDay = new Map<string, SpendRow>();
    for (const r of await this.rows(q, 'hour', from, to)) {
      const t = Math.floor(r.t / DAY_MS) * DAY_MS;
      const k = `${t}\u0000${r.value}`;
      const d = byDay.get(k);
      if (!d) byDay.set(k, { ...r, t, day: dayOf(t) });
      else {
        d.costUsd += r.costUsd;
        d.requests += r.requests;
        d.inputTokens += r.inputTokens;
        d.outputTokens += r.outputTokens;
        d.cachedInputTokens += r.cachedInputTokens;
      }
    }
    return [...byDay.values()].sort((a, b) => a.t - b.t);
  }

  private async rows(q: SpendQuery, step: 'minute' | 'hour', from: number, to: number): Promise<SpendRow[]> {
    const dim = FROM_ROLLUPS[q.dimension];
    if (dim === undefined)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_FORBIDDEN',
        `spend by ${q.dimension} is kept for every team together, so a team-scoped principal may not read it; group by team, feature, model or provider`,
      );
    const filter = dim && q.value !== undefined && q.value !== '' ? { [dim]: q.value } : {};
    const points = await this.calls.queryRollups({ from, to, step, groupBy: dim ? [dim] : [], filter });
    return points
      .filter((p) => !dim || q.value !== '' || p.group[dim] === undefined)
      .map((p) => ({
        t: p.t,
        day: dayOf(p.t),
        dimension: q.dimension,
        value: dim ? (p.group[dim] ?? '') : '',
        costUsd: p.costUsd,
        requests: p.requests,
        // The rollups do not count unpriced calls or bytes apart.
        unpriced: 0,
        inputTokens: p.inputTokens,
        outputTokens: p.outputTokens,
        cachedInputTokens: p.cachedInputTokens,
        bytes: 0,
      }));
  }

  private refuse(): never {
    throw new LlmscopeError('LLMSCOPE_ERR_FORBIDDEN', 'a team-scoped principal reads spend only');
  }

  apply(): Promise<void> {
    this.refuse();
  }
  pruneMinutes(): Promise<number> {
    this.refuse();
  }
  eraseUser(): Promise<number> {
    this.refuse();
  }
  saveReconciliation(): Promise<void> {
    this.refuse();
  }
  listReconciliations(): never {
    this.refuse();
  }
  getReconciliation(): never {
    this.refuse();
  }
  addCostItems(): never {
    this.refuse();
  }
  costItems(): never {
    this.refuse();
  }
}
