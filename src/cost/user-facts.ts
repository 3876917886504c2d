// What the cost capability tells GET /api/users/:id about one user: spend from the daily aggregates, and the budgets
// that apply to the user with their state now. The route (src/api/users.ts) sees only this shape, so the core API
// imports no capability; the server hands it the cost module's source when that module is loaded.
import { type Budget, type BudgetKey, periodEnd, periodStart } from './budgets.js';
import { r9 } from './round.js';
import type { SpendStore } from './storage/types.js';

/** A user's cost facts, in the wire form the user page shows. */
export interface UserCostSource {
  /** USD the user spent in [from, to), from the daily aggregates. */
  spentUsd(user: string, from: number, to: number): Promise<number>;
  /** The budgets that apply to the user (global ones and theirs), with spend, reservations and ratio now. */
  budgets(user: string, now: number): Promise<Record<string, unknown>[]>;
}

export function userCostSource(
  spend: Pick<SpendStore, 'daily'>,
  budgets: {
    readonly budgetList: readonly Budget[];
    readonly ledger: {
      state(key: BudgetKey): { spent: number; reserved: number } | Promise<{ spent: number; reserved: number }>;
    };
  },
): UserCostSource {
  return {
    async spentUsd(user, from, to) {
      const rows = await spend.daily({ dimension: 'user', value: user, from, to });
      return r9(rows.reduce((s, r) => s + r.costUsd, 0));
    },
    async budgets(user, now) {
      const out: Record<string, unknown>[] = [];
      for (const b of budgets.budgetList) {
        if (b.scope !== 'global' && !(b.scope === 'user' && (b.match === null || b.match === user))) continue;
        const key: BudgetKey = {
          budget: b.name,
          value: b.scope === 'global' ? '' : user,
          periodStart: periodStart(b.period, now),
        };
        const s = await budgets.ledger.state(key);
        out.push({
          name: b.name,
          scope: b.scope,
          period: b.period,
          limit_usd: b.limit,
          action: b.action,
          spent_usd: r9(s.spent),
          reserved_usd: r9(s.reserved),
          ratio: b.limit > 0 ? s.spent / b.limit : null,
          resets_at: new Date(periodEnd(b.period, now)).toISOString(),
        });
      }
      return out;
    },
  };
}
