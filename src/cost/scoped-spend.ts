// Spend for a team-scoped principal (docs/security.md). The spend aggregates are summed per dimension alone (spend by
// user, by team, ... each on its own), so they cannot say what one team spent per model or per user; a scoped
// principal's spend is read from the calls instead, narrowed to its scope: by team, feature, model or provider from
// the call rollups (which carry team and feature on every row), by user or key from the raw calls (kept for
// storage.retention.raw), summed in the database.
import { UNPRICED_SQL } from '../calls/units.js';
import { LlmscopeError } from '../errors.js';
import { type CallScope, type RollupDimension, type Store, type StoreBackend, scopedStore } from '../store/index.js';
import { DAY_MS, MINUTE_MS } from '../time.js';
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

/** Raw-call columns of the dimensions the rollups do not carry. */
const RAW_COLUMNS: Partial<Record<SpendDimension, string>> = { user: '"user"', key: 'api_key_id' };

/** Spend queries over the calls of `scope` in `calls`: from its rollups, or its raw calls for user and key. */
export function rollupSpendQueries(
  calls: Store,
  scope: CallScope,
  opts: { costs: CostsConfig; now: () => number; minuteRetentionMs: number },
): SpendQueries {
  return new SpendQueries(new RollupSpend(calls, scope), opts.costs, [], opts.now, opts.minuteRetentionMs);
}

class RollupSpend implements SpendStore {
  readonly kind = 'memory' as const;
  private readonly calls: Store;

  constructor(
    all: Store,
    private readonly scope: CallScope,
  ) {
    this.calls = scopedStore(all, scope);
  }

  minutes(q: SpendQuery): Promise<SpendRow[]> {
    if (RAW_COLUMNS[q.dimension]) return rawSpend(this.calls.backend, this.scope, q, MINUTE_MS, q.from, q.to);
    return this.rows(q, 'minute', q.from, q.to);
  }

  /** Whole UTC days overlapping [from, to), summed from hour rollups. */
  async daily(q: SpendQuery): Promise<SpendRow[]> {
    const from = Math.floor(q.from / DAY_MS) * DAY_MS;
    const to = Math.ceil(q.to / DAY_MS) * DAY_MS;
    if (RAW_COLUMNS[q.dimension]) return rawSpend(this.calls.backend, this.scope, q, DAY_MS, from, to);
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
        d.cacheWriteInputTokens += r.cacheWriteInputTokens;
        d.reasoningTokens += r.reasoningTokens;
        d.toolCostUsd += r.toolCostUsd;
      }
    }
    return [...byDay.values()].sort((a, b) => a.t - b.t);
  }

  private async rows(q: SpendQuery, step: 'minute' | 'hour', from: number, to: number): Promise<SpendRow[]> {
    const dim = FROM_ROLLUPS[q.dimension];
    if (dim === undefined)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_FORBIDDEN',
        `spend by ${q.dimension} is kept for every team together, so a team-scoped principal may not read it; group by team, feature, model, provider, user or key`,
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
        // Nor cache-write or reasoning tokens: unknown (NaN, through any sum), answered as null.
        cacheWriteInputTokens: Number.NaN,
        reasoningTokens: Number.NaN,
        // Nor the built-in tool part of the cost (decision 163): unknown, answered as null.
        toolCostUsd: Number.NaN,
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
  pruneDays(): Promise<number> {
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

const FIGURES = `count(*) AS requests,
  sum(${UNPRICED_SQL}) AS unpriced,
  coalesce(sum(cost_usd), 0) AS cost, coalesce(sum(input_tokens), 0) AS input,
  coalesce(sum(output_tokens), 0) AS output, coalesce(sum(cached_input_tokens), 0) AS cached,
  coalesce(sum(request_bytes + response_bytes), 0) AS bytes,
  coalesce(sum(cache_write_input_tokens), 0) AS cache_write, coalesce(sum(reasoning_tokens), 0) AS reasoning`;

/**
 * Spend of the scope's raw calls started in [from, to), per bucket of `bucketMs` and value of the query's dimension
 * (user or key), summed in the database. `value` narrows to one value ('' = calls without one).
 */
async function rawSpend(
  backend: StoreBackend,
  scope: CallScope,
  q: SpendQuery,
  bucketMs: number,
  from: number,
  to: number,
): Promise<SpendRow[]> {
  const col = RAW_COLUMNS[q.dimension] as string;
  const pg = backend.kind === 'postgres';
  const params: unknown[] = [];
  const p = (v: unknown, cast = '') => {
    params.push(v);
    return pg ? `$${params.length}${cast}` : '?';
  };
  const bucket = pg
    ? `floor(started_at / ${p(bucketMs, '::float8')}) * ${p(bucketMs, '::float8')}`
    : `CAST(started_at / ${p(bucketMs)} AS INTEGER) * ${p(bucketMs)}`;
  const where = [`started_at >= ${p(from, '::float8')}`, `started_at < ${p(to, '::float8')}`];
  for (const [c, list] of [
    ['team', scope.teams],
    ['feature', scope.features],
  ] as const)
    if (list)
      where.push(
        pg
          ? `${c} = ANY(${p([...list], '::text[]')})`
          : `${c} IN (SELECT value FROM json_each(${p(JSON.stringify(list))}))`,
      );
  if (q.value === '') where.push(`${col} IS NULL`);
  else if (q.value !== undefined) where.push(`${col} = ${p(q.value)}`);
  const sql = `SELECT ${bucket} AS t, coalesce(${col}, '') AS value, ${FIGURES} FROM calls WHERE ${where.join(' AND ')} GROUP BY 1, 2 ORDER BY 1`;
  const rows = (
    backend.kind === 'postgres'
      ? (await backend.pool.query(sql, params)).rows
      : backend.db.prepare(sql).all(...(params as (string | number)[]))
  ) as Record<string, string | number>[];
  // pg returns count and sum of bigint as strings
  return rows.map((r) => {
    const t = Number(r['t']);
    return {
      t,
      day: dayOf(t),
      dimension: q.dimension,
      value: String(r['value']),
      costUsd: Number(r['cost']),
      requests: Number(r['requests']),
      unpriced: Number(r['unpriced']),
      inputTokens: Number(r['input']),
      outputTokens: Number(r['output']),
      cachedInputTokens: Number(r['cached']),
      bytes: Number(r['bytes']),
      cacheWriteInputTokens: Number(r['cache_write']),
      reasoningTokens: Number(r['reasoning']),
      // summed from raw calls' columns, which do not keep the tool part of their cost apart: unknown (null)
      toolCostUsd: Number.NaN,
    };
  });
}
