// GET /v1/models: the union of every provider's model list, plus the exact model names routes send somewhere,
// so a client's model picker shows what this gateway can serve. One unreachable provider hides nothing else.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { sendJson } from '../http/index.js';
import type { Upstream } from './upstream.js';

/** The header a client's key comes in, by the provider's wire format (as its clients send it). */
const KEY_HEADER: Record<string, string> = {
  'openai-compatible': 'authorization',
  'openai-responses': 'authorization',
  anthropic: 'x-api-key',
  gemini: 'x-goog-api-key',
};

/**
 * The headers of one provider's GET /models: its configured headers and its own key (apiKeyEnv) in its format's
 * header; a provider without a key gets the key the client sent in that header (as a call's is passed on) when it is
 * the only one without a key that reads that header, so a client's key never goes to a provider it may not be for,
 * and never a virtual key (lsk_), which is llmscope's. Anthropic's list also needs an `anthropic-version`: the
 * client's, else the current one.
 */
function modelsHeaders(
  up: Upstream,
  client: IncomingHttpHeaders,
  keyless: Map<string, number>,
): Record<string, string> {
  const out: Record<string, string> = { ...up.extraHeaders };
  const k = KEY_HEADER[up.provider.type];
  const v = k === undefined ? undefined : client[k];
  if (k !== undefined && !up.hasKey && keyless.get(k) === 1 && typeof v === 'string' && !v.includes('lsk_')) out[k] = v;
  if (up.provider.type === 'anthropic') {
    const version = client['anthropic-version'];
    out['anthropic-version'] = typeof version === 'string' ? version : '2023-06-01';
  }
  return Object.assign(out, up.auth);
}

export async function sendModels(
  res: ServerResponse,
  upstreams: ReadonlyMap<string, Upstream>,
  routes: Config['routes'],
  client: IncomingHttpHeaders = {},
): Promise<void> {
  const seen = new Map<string, unknown>();
  let ok = 0;
  // Providers without their own key, by the header their clients' keys come in.
  const keyless = new Map<string, number>();
  for (const up of upstreams.values()) {
    const k = KEY_HEADER[up.provider.type];
    if (k !== undefined && !up.hasKey) keyless.set(k, (keyless.get(k) ?? 0) + 1);
  }
  await Promise.all(
    [...upstreams.values()].map(async (up) => {
      try {
        const r = await up.pool.request({
          path: `${up.basePath}/models`,
          method: 'GET',
          headers: modelsHeaders(up, client, keyless),
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
