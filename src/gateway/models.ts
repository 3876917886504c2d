// GET /v1/models: the union of every provider's model list, plus the exact model names routes send somewhere,
// so a client's model picker shows what this gateway can serve. One unreachable provider hides nothing else.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { Config } from '../config/index.js';
import { LlmscopeError } from '../errors.js';
import { sendJson } from '../http/index.js';
import { globToRegExp } from './routing.js';
import type { Upstream } from './upstream.js';

type KeyFamily = 'openai' | 'anthropic' | 'gemini';
const FAMILY: Record<string, KeyFamily> = {
  'openai-compatible': 'openai',
  'openai-responses': 'openai',
  anthropic: 'anthropic',
  gemini: 'gemini',
};

/** Whether a model list shows `model` to a virtual key with models `allowed` (null: every model). */
export function modelMatcher(allowed: readonly string[] | null): (model: string) => boolean {
  const patterns = allowed?.map(globToRegExp) ?? null;
  return (model) => patterns === null || patterns.some((re) => re.test(model));
}

/** The error for a model a virtual key's list does not show (404 model_not_found in the route's shape). */
export function modelNotListed(id: string, list = 'GET /v1/models'): LlmscopeError {
  return new LlmscopeError(
    'LLMSCOPE_ERR_UNROUTABLE_MODEL',
    `The model '${id}' is not available with this virtual key; ${list} lists the models it may call`,
    { param: 'model' },
  );
}

/** Gemini's model list (`{models: [{name: "models/<id>"}], nextPageToken}`) with only the models `listed` shows. */
export function filterGeminiModels(list: unknown, listed: (model: string) => boolean): unknown {
  const l = list as { models?: unknown } | null;
  if (!l || typeof l !== 'object' || !Array.isArray(l.models)) return list;
  const models = l.models.filter((m: { name?: unknown } | null) => {
    const name = typeof m?.name === 'string' ? m.name : '';
    return listed(name.startsWith('models/') ? name.slice('models/'.length) : name);
  });
  return { ...l, models };
}

/**
 * The client's own key and the header it came in, with the API family it is for: an Anthropic SDK (it sends
 * `anthropic-version`; its key in `x-api-key` or, lately, `authorization`), a Gemini client (`x-goog-api-key`), else
 * an OpenAI client (`authorization`). Never a virtual key (lsk_), which is llmscope's.
 */
function clientKey(client: IncomingHttpHeaders): { family: KeyFamily; header: string; value: string } | null {
  const pick = (family: KeyFamily, header: string) => {
    const v = client[header];
    return typeof v === 'string' && v && !v.includes('lsk_') ? { family, header, value: v } : null;
  };
  if (client['anthropic-version'] !== undefined)
    return pick('anthropic', 'x-api-key') ?? pick('anthropic', 'authorization');
  return pick('gemini', 'x-goog-api-key') ?? pick('openai', 'authorization');
}

/**
 * The headers of one provider's GET /models: its configured headers and its own key (apiKeyEnv) in its format's
 * header; a provider without a key gets the key the client sent (as a call's is passed on) when the client speaks
 * its API and it is the only provider of that API without a key, so a client's key never goes to a provider it is
 * not for. Anthropic's list also needs an `anthropic-version`: the client's, else the current one.
 */
function modelsHeaders(
  up: Upstream,
  client: IncomingHttpHeaders,
  key: ReturnType<typeof clientKey>,
  keyless: Map<KeyFamily, number>,
): Record<string, string> {
  const out: Record<string, string> = { ...up.extraHeaders };
  const family = FAMILY[up.provider.type];
  if (key && !up.hasKey && family === key.family && keyless.get(family) === 1) out[key.header] = key.value;
  if (up.provider.type === 'anthropic') {
    const version = client['anthropic-version'];
    out['anthropic-version'] = typeof version === 'string' ? version : '2023-06-01';
  }
  return Object.assign(out, up.auth);
}

/**
 * Answers GET /v1/models with the list, or GET /v1/models/{id} (`id`: the OpenAI SDK's `models.retrieve`, Anthropic's
 * `models.retrieve`) with that model's entry as its provider lists it, 404 when no provider lists it and no route
 * names it. `allowed`: the virtual key's models (names or patterns, any case, as its calls are checked): only those
 * are listed, and another id is not found.
 */
export async function sendModels(
  res: ServerResponse,
  upstreams: ReadonlyMap<string, Upstream>,
  routes: Config['routes'],
  client: IncomingHttpHeaders = {},
  id?: string,
  allowed: readonly string[] | null = null,
): Promise<void> {
  const listed = modelMatcher(allowed);
  if (id !== undefined && !listed(id)) throw modelNotListed(id);
  const seen = new Map<string, unknown>();
  let ok = 0;
  // Providers without their own key, by the API their clients speak.
  const keyless = new Map<KeyFamily, number>();
  for (const up of upstreams.values()) {
    const f = FAMILY[up.provider.type];
    if (f !== undefined && !up.hasKey) keyless.set(f, (keyless.get(f) ?? 0) + 1);
  }
  const key = clientKey(client);
  await Promise.all(
    [...upstreams.values()].map(async (up) => {
      try {
        const r = await up.pool.request({
          path: `${up.basePath}/models`,
          method: 'GET',
          headers: modelsHeaders(up, client, key, keyless),
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        const j = (await r.body.json()) as { data?: { id?: string }[] };
        if (r.statusCode < 300 && Array.isArray(j.data)) {
          ok++;
          for (const m of j.data)
            if (m && typeof m.id === 'string' && !seen.has(m.id) && listed(m.id)) seen.set(m.id, m);
        }
      } catch {
        /* one unreachable provider does not hide the others */
      }
    }),
  );
  for (const route of routes)
    if (!route.model.includes('*') && !seen.has(route.model) && listed(route.model))
      seen.set(route.model, { id: route.model, object: 'model', created: 0, owned_by: route.provider });
  if (ok === 0 && seen.size === 0 && upstreams.size > 0)
    throw new LlmscopeError(
      'LLMSCOPE_ERR_UPSTREAM_UNREACHABLE',
      'no provider answered GET /models; check that the upstreams are running',
    );
  if (id !== undefined) {
    const m = seen.get(id);
    if (m === undefined)
      throw new LlmscopeError(
        'LLMSCOPE_ERR_UNROUTABLE_MODEL',
        `The model '${id}' does not exist here: no provider lists it and no route names it; GET /v1/models lists the models served`,
        { param: 'model' },
      );
    sendJson(res, 200, m);
    return;
  }
  sendJson(res, 200, { object: 'list', data: [...seen.values()] });
}
