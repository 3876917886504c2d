// Who may call which /api route: the three roles, the principals that hold them (the admin token, tokens from
// `auth.tokens`), their optional team/feature scopes, and the one table that says, for every /api route, the role it
// needs and what it does for a scoped principal. The router enforces the table (src/http/router.ts); a route missing
// from it is admin-only and refused to scoped principals (fail closed), and test/e2e/access.test.ts fails on it.
import { createHash, timingSafeEqual } from 'node:crypto';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether `held` is at least `needed` (admin ⊇ operator ⊇ viewer). */
export function roleAllows(held: Role, needed: Role): boolean {
  return RANK[held] >= RANK[needed];
}

/**
 * The calls a scoped principal may see: those whose team is one of `teams` (when set) and whose feature is one of
 * `features` (when set). A call without a team (or feature) is outside a team (or feature) scope.
 */
export interface Scope {
  teams?: readonly string[];
  features?: readonly string[];
}

export interface Principal {
  /** How it was recognized: the loopback bind (no credentials), a bearer token, or a signed-in browser. */
  kind: 'open' | 'bearer' | 'session';
  /** `admin` for the admin token and the open bind; a configured token's `name` otherwise. */
  name: string;
  role: Role;
  /** Null: sees everything. */
  scope: Scope | null;
  /** The session's id and expiry (epoch ms), for `kind: 'session'`. */
  id?: string;
  expires?: number;
}

/** The principal of the loopback bind and of the admin token. */
export const ADMIN_NAME = 'admin';

/**
 * What a route does for a scoped principal:
 * - `filter`: answers with the scope's data only (the handler narrows its store queries with the principal's scope);
 * - `refuse`: 403 — the route's data is not kept per team (pre-aggregated without a team, or deployment-wide), so it
 *   cannot be narrowed without leaking;
 * - `global`: the answer holds no team's data (price lists, the dashboard's config), so a scope changes nothing.
 */
export type ScopeRule = 'filter' | 'refuse' | 'global';

export interface RouteAccess {
  role: Role;
  scoped: ScopeRule;
}

const viewer = (scoped: ScopeRule): RouteAccess => ({ role: 'viewer', scoped });
const operator = (scoped: ScopeRule): RouteAccess => ({ role: 'operator', scoped });
const admin = (scoped: ScopeRule = 'refuse'): RouteAccess => ({ role: 'admin', scoped });

/**
 * Every /api route (`METHOD /pattern`, as registered) → the role it needs and its scope rule. HEAD uses GET's entry.
 * viewer reads; operator also gives feedback, labels reviews and silences alerts; admin also manages keys, budgets,
 * ingestion, bills, cost items and users' data.
 */
export const ROUTE_ACCESS: Readonly<Record<string, RouteAccess>> = {
  // The ledger and its views (src/api/)
  'GET /api/requests': viewer('filter'),
  'GET /api/requests/:id': viewer('filter'),
  'GET /api/sessions/:id': viewer('filter'),
  'GET /api/traces/:id': viewer('filter'),
  'GET /api/users/:id': viewer('filter'),
  'GET /api/stats/summary': viewer('filter'),
  'GET /api/stats/timeseries': viewer('filter'),
  'GET /api/overview': viewer('filter'),
  'GET /api/ui/config': viewer('global'),
  'GET /api/me': viewer('global'),
  'POST /api/ingest': admin(),
  'POST /api/otlp/v1/traces': admin(),
  'POST /api/otlp/v1/logs': admin(),
  // privacy and audit (src/privacy/, src/audit/)
  'DELETE /api/users/:id/data': admin(),
  'GET /api/audit': admin(),
  // virtual keys (src/cost/key-routes.ts)
  'GET /api/keys': admin(),
  'POST /api/keys': admin(),
  'POST /api/keys/:id/revoke': admin(),
  'POST /api/keys/:id/rotate': admin(),
  // cost (src/cost/routes.ts): spend by one dimension is kept per dimension, so a scoped principal gets it from the
  // call rollups (team, feature, model, provider), and the routes whose figures are deployment-wide are refused.
  'GET /api/cost/summary': viewer('filter'),
  'GET /api/cost/top': viewer('filter'),
  'GET /api/cost/timeseries': viewer('filter'),
  'GET /api/cost/forecast': viewer('refuse'),
  'GET /api/cost/daily': viewer('refuse'),
  'GET /api/cost/budgets': viewer('refuse'),
  'GET /api/cost/prices': viewer('global'),
  'GET /api/cost/catalog': viewer('global'),
  // models seen without a price: a model only one team calls would tell another team about it
  'GET /api/cost/unpriced': viewer('refuse'),
  'GET /api/cost/reconciliations': viewer('refuse'),
  'GET /api/cost/reconciliations/:id': viewer('refuse'),
  'POST /api/cost/reconciliations': admin(),
  'GET /api/cost/items': viewer('refuse'),
  'POST /api/cost/items': admin(),
  // quality (src/quality/api.ts): its counts and review queue carry model and feature but no team; feedback, labels
  // and one call's evaluations are reached through the call, so a scoped principal reaches those of its teams' calls.
  'POST /api/feedback': operator('filter'),
  'GET /api/quality/review': viewer('refuse'),
  'POST /api/quality/review': operator('filter'),
  'GET /api/quality/summary': viewer('refuse'),
  'GET /api/quality/series': viewer('refuse'),
  'GET /api/quality/requests/:id': viewer('filter'),
  // alerts (src/alerts/api.ts): alerts are shown when their labels name a team (and feature) in scope.
  'GET /api/alerts': viewer('filter'),
  'GET /api/alerts/noise': viewer('refuse'),
  'GET /api/alerts/silences': viewer('refuse'),
  'POST /api/alerts/silences': operator('refuse'),
  'DELETE /api/alerts/silences/:id': operator('refuse'),
  // gpu (src/gpu/api.ts): the fleet's utilization and cost, not any team's.
  'GET /api/gpu': viewer('refuse'),
};

/** The access rule of a registered route, or null when the table does not list it. */
export function routeAccess(method: string, pattern: string): RouteAccess | null {
  const m = method.toUpperCase() === 'HEAD' ? 'GET' : method.toUpperCase();
  return ROUTE_ACCESS[`${m} ${pattern}`] ?? null;
}

/** What an unlisted route gets: admin only, never a scoped principal. */
export const UNLISTED: RouteAccess = { role: 'admin', scoped: 'refuse' };

/** The stored form of a token: `sha256:` and the hex SHA-256 of the token (tokens are random, so one round is enough). */
export function hashToken(token: string): string {
  return `sha256:${createHash('sha256').update(token).digest('hex')}`;
}

export interface TokenPrincipal {
  name: string;
  role: Role;
  teams?: readonly string[];
  features?: readonly string[];
  /** `sha256:<64 hex>`. */
  tokenHash: string;
}

/** Configured tokens, matched by hash in constant time (every entry is compared, whichever matches). */
export class TokenTable {
  private readonly entries: { p: TokenPrincipal; digest: Buffer }[];

  constructor(tokens: readonly TokenPrincipal[]) {
    this.entries = tokens.map((p) => {
      const m = /^sha256:([0-9a-f]{64})$/.exec(p.tokenHash);
      if (!m) throw new Error(`token ${p.name}: tokenHash must be "sha256:" and 64 lowercase hex digits`);
      return { p, digest: Buffer.from(m[1] as string, 'hex') };
    });
  }

  get size(): number {
    return this.entries.length;
  }

  /** The principal holding this token, or null. */
  find(token: string): TokenPrincipal | null {
    const d = createHash('sha256').update(token).digest();
    let hit: TokenPrincipal | null = null;
    for (const e of this.entries) if (timingSafeEqual(d, e.digest) && hit === null) hit = e.p;
    return hit;
  }

  byName(name: string): TokenPrincipal | null {
    return this.entries.find((e) => e.p.name === name)?.p ?? null;
  }

  /** Material for the session key: changing any token's hash ends the sessions signed before. */
  fingerprint(): string {
    return this.entries.map((e) => `${e.p.name}:${e.p.tokenHash}`).join('\n');
  }
}

/** The principal a configured token stands for. */
export function principalOf(p: TokenPrincipal, kind: Principal['kind']): Principal {
  const scope: Scope | null =
    p.teams || p.features
      ? { ...(p.teams ? { teams: p.teams } : {}), ...(p.features ? { features: p.features } : {}) }
      : null;
  return { kind, name: p.name, role: p.role, scope };
}
