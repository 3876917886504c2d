// A Store narrowed to a principal's teams and features (docs/security.md): the one place team scopes are applied to
// the ledger and its rollups, so every /api route that reads through it answers with the scope's calls only —
// lists, single calls, sessions, aggregates and top-K lists alike. Both stores filter one team (and feature) in
// SQL; a scope of several is the merge of one keyset-ordered query per (team, feature), so pages, cursors and
// indexes stay those of the store underneath.
import type { LlmCall } from '../calls/index.js';
import { LlmscopeError } from '../errors.js';
import { encodeCursor } from './cursor.js';
import { mergeInto } from './histogram.js';
import type { CallPage, CallQuery, RollupDimension, RollupPoint, RollupQuery, Store } from './store.js';

/** The calls a principal may see: team in `teams` (when set) and feature in `features` (when set). */
export interface CallScope {
  readonly teams?: readonly string[];
  readonly features?: readonly string[];
}

/** Whether a call with this team and feature is inside the scope (a call without one is outside a scope of it). */
export function callInScope(scope: CallScope | null | undefined, team: string | null, feature: string | null): boolean {
  if (!scope) return true;
  if (scope.teams && (team === null || !scope.teams.includes(team))) return false;
  if (scope.features && (feature === null || !scope.features.includes(feature))) return false;
  return true;
}

/** The store itself when `scope` is null, otherwise a view of it that holds only the scope's calls. */
export function scopedStore(store: Store, scope: CallScope | null | undefined): Store {
  return scope ? new ScopedStore(store, scope).asStore() : store;
}

const DEFAULT_LIMIT = 50;

/**
 * Store methods that hold no call data of their own or that only admin routes use (which scoped principals never
 * reach): passed through. Every other method not narrowed below fails closed, so a method added to `Store` later
 * cannot answer a scoped principal unnarrowed by accident.
 */
const PASS_THROUGH = new Set<PropertyKey>(['kind', 'backend', 'migrate', 'ping', 'close', 'knownIds']);

/** Narrows one store to a scope; the Proxy forwards what PASS_THROUGH names and refuses what it does not know. */
class ScopedStore {
  constructor(
    private readonly inner: Store,
    private readonly scope: CallScope,
  ) {}

  asStore(): Store {
    const narrowed: Record<PropertyKey, unknown> = {
      getCall: (id: string) => this.getCall(id),
      listCalls: (q: CallQuery) => this.listCalls(q),
      queryRollups: (q: RollupQuery) => this.queryRollups(q),
    };
    return new Proxy(this.inner, {
      get: (target, prop) => {
        if (prop in narrowed) return narrowed[prop];
        const v = Reflect.get(target, prop, target);
        if (PASS_THROUGH.has(prop)) return typeof v === 'function' ? v.bind(target) : v;
        if (typeof v !== 'function') return v;
        return () => {
          throw new LlmscopeError(
            'LLMSCOPE_ERR_FORBIDDEN',
            `${String(prop)} is not narrowed to a team scope, so a scoped principal may not use it`,
          );
        };
      },
    });
  }

  async getCall(requestId: string): Promise<LlmCall | null> {
    const c = await this.inner.getCall(requestId);
    return c && callInScope(this.scope, c.team, c.feature) ? c : null;
  }
  async listCalls(query: CallQuery): Promise<CallPage> {
    const teams = narrow(query.team, this.scope.teams);
    const features = narrow(query.feature, this.scope.features);
    if (teams?.length === 0 || features?.length === 0) return { items: [], nextCursor: null };
    const combos: { team?: string; feature?: string }[] = [];
    for (const team of teams ?? [undefined])
      for (const feature of features ?? [undefined]) combos.push({ team, feature });
    if (combos.length === 1) return this.inner.listCalls({ ...query, ...combos[0] });
    // One page per combination, from the same keyset position; the merged page is the first `limit` of them in the
    // store's order, and its cursor the last one taken (so the next page starts after it in every combination).
    const limit = query.limit ?? DEFAULT_LIMIT;
    const pages = await Promise.all(combos.map((c) => this.inner.listCalls({ ...query, ...c, limit })));
    const all = pages.flatMap((p) => p.items).sort(newestFirst);
    const items = all.slice(0, limit);
    const more = all.length > limit || pages.some((p) => p.nextCursor !== null);
    const last = items[items.length - 1];
    return {
      items,
      nextCursor: more && last ? encodeCursor({ startedAt: last.startedAt, requestId: last.requestId }) : null,
    };
  }

  async queryRollups(query: RollupQuery): Promise<RollupPoint[]> {
    const filter = { ...(query.filter ?? {}) };
    const teams = narrow(filter.team, this.scope.teams);
    const features = narrow(filter.feature, this.scope.features);
    if (teams?.length === 0 || features?.length === 0) return [];
    const want = query.groupBy ?? [];
    // Rollups carry team and feature: split by them too, keep the scope's rows, merge back to what was asked for.
    const extra: RollupDimension[] = [];
    if (this.scope.teams && !want.includes('team')) extra.push('team');
    if (this.scope.features && !want.includes('feature')) extra.push('feature');
    const points = await this.inner.queryRollups({ ...query, filter, groupBy: [...want, ...extra] });
    const kept = points.filter(
      (p) =>
        (!teams || (p.group.team !== undefined && teams.includes(p.group.team))) &&
        (!features || (p.group.feature !== undefined && features.includes(p.group.feature))),
    );
    if (extra.length === 0) return kept;
    const merged = new Map<string, RollupPoint>();
    for (const p of kept) {
      const group: RollupPoint['group'] = {};
      for (const d of want) if (p.group[d] !== undefined) group[d] = p.group[d];
      const key = `${p.t}\u0000${want.map((d) => group[d] ?? '').join('\u0000')}`;
      const m = merged.get(key);
      if (m) addPoint(m, p);
      else merged.set(key, addPoint(emptyPoint(p.t, group), p));
    }
    return [...merged.values()].sort((a, b) => a.t - b.t);
  }
}

/** The values a dimension may take: the scope's, narrowed to the one asked for (empty: nothing can match). */
function narrow(asked: string | undefined, allowed: readonly string[] | undefined): readonly string[] | undefined {
  if (!allowed) return asked === undefined ? undefined : [asked];
  if (asked === undefined) return allowed;
  return allowed.includes(asked) ? [asked] : [];
}

function newestFirst(a: LlmCall, b: LlmCall): number {
  return b.startedAt - a.startedAt || (a.requestId < b.requestId ? 1 : a.requestId > b.requestId ? -1 : 0);
}

function emptyPoint(t: number, group: RollupPoint['group']): RollupPoint {
  return {
    t,
    group,
    requests: 0,
    statuses: {},
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    cachedInputTokens: 0,
    costUsd: 0,
    refusals: 0,
    latency: {},
    ttft: {},
    tpot: {},
  };
}

function addPoint(into: RollupPoint, p: RollupPoint): RollupPoint {
  into.requests += p.requests;
  for (const [k, v] of Object.entries(p.statuses) as [keyof RollupPoint['statuses'], number][])
    into.statuses[k] = (into.statuses[k] ?? 0) + v;
  into.errors += p.errors;
  into.inputTokens += p.inputTokens;
  into.outputTokens += p.outputTokens;
  into.cachedInputTokens += p.cachedInputTokens;
  into.costUsd += p.costUsd;
  into.refusals += p.refusals;
  mergeInto(into.latency, p.latency);
  mergeInto(into.ttft, p.ttft);
  mergeInto(into.tpot, p.tpot);
  return into;
}
