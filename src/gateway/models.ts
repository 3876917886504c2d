// GET /v1/models: the union of every provider's model list, plus the exact model names routes send somewhere,
// so a client's model picker shows what this gateway can serve. One unreachable provider hides nothing else.
import type { ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { sendJson } from '../http/index.js';
import type { Upstream } from './upstream.js';

export async function sendModels(
  res: ServerResponse,
  upstreams: ReadonlyMap<string, Upstream>,
  routes: Config['routes'],
): Promise<void> {
  const seen = new Map<string, unknown>();
  let ok = 0;
  await Promise.all(
    [...upstreams.values()].map(async (up) => {
      try {
        const r = await up.pool.request({
          path: `${up.basePath}/models`,
          method: 'GET',
          headers: up.authorization ? { authorization: up.authorization } : {},
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        const j = (await r.body.json()) as { data?: { id?: string }[] };
        if (r.statusCode < 300 && Array.isArray(j.data)) {
          ok++;
          for (const m of j.data) if (m && typeof m.id === 'string' && !seen.has(m.id)) seen.set(m.id, m);
        }
      } catch {
        /* one unreachable provider does not hide the others */
      }
    }),
  );
  for (const route of routes)
    if (!route.model.includes('*') && !seen.has(route.model))
      seen.set(route.model, { id: route.model, object: 'model', created: 0, owned_by: route.provider });
  if (ok === 0 && seen.size === 0 && upstreams.size > 0)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
      'no provider answered GET /models; check that the upstreams are running',
    );
  sendJson(res, 200, { object: 'list', data: [...seen.values()] });
}
