// Who is signed in (GET /api/me, read once) and what that principal may do: the one place the dashboard decides
// which pages it offers, which panels it asks for and which actions it shows. ACCESS mirrors the server's route
// table (src/http/access.ts ROUTE_ACCESS) for every route the dashboard calls; test/access-ui.test.ts fails when
// the two disagree. The server still enforces everything: this only keeps the dashboard from offering what would 403.

export type Role = 'viewer' | 'operator' | 'admin';
/** `filter`: a scoped principal gets its scope's data; `refuse`: 403 for a scoped principal; `global`: no team data. */
export type ScopeRule = 'filter' | 'refuse' | 'global';

/** The /api routes the dashboard calls (`METHOD /pattern`, as the server registers them). */
export const ACCESS: Readonly<Record<string, { role: Role; scoped: ScopeRule }>> = {
  'GET /api/me': { role: 'viewer', scoped: 'global' },
  'GET /api/ui/config': { role: 'viewer', scoped: 'global' },
  'GET /api/overview': { role: 'viewer', scoped: 'filter' },
  'GET /api/requests': { role: 'viewer', scoped: 'filter' },
  'GET /api/requests/:id': { role: 'viewer', scoped: 'filter' },
  'GET /api/sessions/:id': { role: 'viewer', scoped: 'filter' },
  'GET /api/traces/:id': { role: 'viewer', scoped: 'filter' },
  'GET /api/users/:id': { role: 'viewer', scoped: 'filter' },
  'GET /api/cost/summary': { role: 'viewer', scoped: 'filter' },
  'GET /api/cost/timeseries': { role: 'viewer', scoped: 'filter' },
  'GET /api/stats/summary': { role: 'viewer', scoped: 'filter' },
  'GET /api/stats/timeseries': { role: 'viewer', scoped: 'filter' },
  'GET /api/cost/daily': { role: 'viewer', scoped: 'refuse' },
  'GET /api/cost/budgets': { role: 'viewer', scoped: 'refuse' },
  'GET /api/cost/reconciliations': { role: 'viewer', scoped: 'refuse' },
  'POST /api/feedback': { role: 'operator', scoped: 'filter' },
  'GET /api/quality/summary': { role: 'viewer', scoped: 'refuse' },
  'GET /api/quality/series': { role: 'viewer', scoped: 'refuse' },
  'GET /api/quality/review': { role: 'viewer', scoped: 'refuse' },
  'POST /api/quality/review': { role: 'operator', scoped: 'filter' },
  'GET /api/alerts': { role: 'viewer', scoped: 'filter' },
  'GET /api/alerts/noise': { role: 'viewer', scoped: 'refuse' },
  'GET /api/alerts/silences': { role: 'viewer', scoped: 'refuse' },
  'POST /api/alerts/silences': { role: 'operator', scoped: 'refuse' },
  'DELETE /api/alerts/silences/:id': { role: 'operator', scoped: 'refuse' },
  'GET /api/gpu': { role: 'viewer', scoped: 'refuse' },
  'GET /api/keys': { role: 'admin', scoped: 'refuse' },
  'POST /api/keys': { role: 'admin', scoped: 'refuse' },
  'POST /api/keys/:id/revoke': { role: 'admin', scoped: 'refuse' },
  'POST /api/keys/:id/rotate': { role: 'admin', scoped: 'refuse' },
  'GET /api/audit': { role: 'admin', scoped: 'refuse' },
};

/** GET /api/me's answer. */
export interface Me {
  name: string;
  role: Role;
  via: 'open' | 'bearer' | 'session';
  teams: string[] | null;
  features: string[] | null;
  session_expires_at: string | null;
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Null until read, and when the server does not say (an older llmscope): then everything is offered, as before. */
let me: Me | null = null;

export function setMe(m: Me | null): void {
  me = m;
}

export function currentMe(): Me | null {
  return me;
}

export const scoped = (m: Me | null = me): boolean => !!m && (m.teams !== null || m.features !== null);

const PATTERNS = Object.keys(ACCESS).map((key) => {
  const [method, pattern] = key.split(' ') as [string, string];
  const re = new RegExp(`^${pattern.replace(/:[a-z]+/g, '[^/]+')}$`);
  return { method, re, key };
});

/** The table's key for a request (`GET`, `/api/requests/abc?x=1` → `GET /api/requests/:id`), or null. */
export function routeKey(method: string, path: string): string | null {
  const p = path.split('?')[0] as string;
  return PATTERNS.find((x) => x.method === method && x.re.test(p))?.key ?? null;
}

export type Denial = 'role' | 'scope';

/** Why `m` may not call the route `key`, or null when it may (a route not in the table is left to the server). */
export function denied(key: string, m: Me | null = me): Denial | null {
  const a = ACCESS[key];
  if (!a || !m) return null;
  if (RANK[m.role] < RANK[a.role]) return 'role';
  if (a.scoped === 'refuse' && scoped(m)) return 'scope';
  return null;
}

export const can = (key: string, m: Me | null = me): boolean => denied(key, m) === null;

/** The plain words for a panel the principal may not see. */
export function deniedText(d: Denial, key?: string): string {
  if (d === 'scope') return 'not available for a team-scoped sign-in';
  const role = key ? ACCESS[key]?.role : undefined;
  return `not available to your role${role ? ` (needs ${role})` : ''}`;
}
