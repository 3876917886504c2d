// GET /api/me: who the caller is to llmscope — its name, role and team scope — so a dashboard or a script can tell
// what it may read before it asks (docs/security.md).
import type { Principal } from './access.js';
import { sendJson } from './reply.js';
import type { Router } from './router.js';

export function principalWire(p: Principal) {
  return {
    name: p.name,
    role: p.role,
    /** How it was recognized: `bearer`, `session`, or `open` (the loopback bind, no credentials). */
    via: p.kind,
    teams: p.scope?.teams ?? null,
    features: p.scope?.features ?? null,
    session_expires_at: p.expires === undefined ? null : new Date(p.expires).toISOString(),
  };
}

export function registerMeRoute(api: Router): void {
  api.get('/api/me', ({ res, principal }) => {
    if (!principal) return sendJson(res, 200, null);
    sendJson(res, 200, principalWire(principal));
  });
}
