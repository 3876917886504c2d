// The checks `serve` runs on a validated config before it opens anything, shared with `check-config` so that a
// config check-config passes is one serve starts with. Pure: reads the config (and the environment for warnings),
// opens no store, socket or file. (Alert rules are checked by the schema itself, in validateConfig.)
import { availableParallelism } from 'node:os';
import type { Config } from '../config/index.js';
import { pricingProblems } from '../cost/pricing-checks.js';
import { isLoopback } from '../server.js';

export interface StartupProblem {
  /** Config path the problem is about, e.g. `storage.url` or `providers[0].apiKeyEnv`. */
  path: string;
  message: string;
}

export interface StartupReport {
  /** Problems that stop `serve` from starting. */
  errors: StartupProblem[];
  /** Things `serve` starts with but that are likely mistakes. */
  warnings: StartupProblem[];
}

/** Headers in `providers[].headers` that carry a credential to the upstream. */
const KEY_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);

/** Why `storage.url` cannot be opened, or null when its scheme is one serve knows. */
export function storageUrlProblem(url: string): string | null {
  const u = url.trim();
  if (u.startsWith('sqlite:')) {
    let rest = u.slice('sqlite:'.length);
    if (rest.startsWith('//')) rest = rest.slice(2);
    return rest
      ? null
      : `storage.url "${url}" names no file; use sqlite:PATH (e.g. sqlite:./llmscope-data/llmscope.db) or sqlite::memory:`;
  }
  if (/^postgres(ql)?:\/\//i.test(u)) {
    try {
      new URL(u);
      return null;
    } catch {
      return `storage.url is not a valid PostgreSQL URL; use postgres://USER:PASSWORD@HOST:5432/DB`;
    }
  }
  return `storage.url "${url}" is not supported; use sqlite:PATH (e.g. sqlite:./llmscope-data/llmscope.db), sqlite::memory: or postgres://USER:PASSWORD@HOST:5432/DB`;
}

/** Providers that send a key of llmscope's own upstream (so callers need none), with the config path of that key. */
export function serverKeyedProviders(config: Config): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  config.providers.forEach((p, i) => {
    if (p.apiKeyEnv) out.push({ name: p.name, path: `providers[${i}].apiKeyEnv` });
    else if (p.googleCredentials) out.push({ name: p.name, path: `providers[${i}].googleCredentials` });
    else {
      const h = Object.keys(p.headers).find((k) => KEY_HEADERS.has(k.toLowerCase()));
      if (h) out.push({ name: p.name, path: `providers[${i}].headers.${h}` });
    }
  });
  return out;
}

/**
 * Whether the no-open-relay rule depends on keys kept in the store: off loopback, a provider sends llmscope's own key,
 * no virtual key is in the config and nothing allows an unauthenticated gateway. `serve` then counts the store's keys
 * (made with `llmscope keys create` or /api/keys) and passes the count to `startupChecks`.
 */
export function relayNeedsStoredKeys(config: Config): boolean {
  return (
    !isLoopback(config.server.host) &&
    config.keys.length === 0 &&
    !config.server.allowUnauthenticatedGateway &&
    serverKeyedProviders(config).length > 0
  );
}

/**
 * Every check `serve` makes before starting; `env` is read for variables the config names (auth tokens, the OIDC
 * secret: errors; provider and virtual keys: warnings). `storedKeys`:
 * how many virtual keys the store holds, when the caller counted them (see relayNeedsStoredKeys). `cores`: the host's
 * (more gateway workers than cores: a warning).
 */
export function startupChecks(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  storedKeys = 0,
  cores = availableParallelism(),
): StartupReport {
  const errors: StartupProblem[] = [];
  const warnings: StartupProblem[] = [];
  const loopback = isLoopback(config.server.host);

  const storage = storageUrlProblem(config.storage.url);
  if (storage) errors.push({ path: 'storage.url', message: storage });

  if (!loopback && !config.server.adminToken)
    errors.push({
      path: 'server.adminToken',
      message: `server.host is ${config.server.host} (not loopback), so the dashboard and /api need server.adminToken (or LLMSCOPE_ADMIN_TOKEN)`,
    });

  // No open relay: off loopback, a server-side provider key with no virtual keys lets anyone who reaches the port
  // spend on that key.
  const keyed = serverKeyedProviders(config);
  if (relayNeedsStoredKeys(config) && storedKeys === 0)
    errors.push({
      path: 'keys',
      message:
        `server.host is ${config.server.host} (not loopback) and provider(s) ${keyed.map((k) => k.name).join(', ')} ` +
        `call upstream with llmscope's own key (${keyed.map((k) => k.path).join(', ')}), but no virtual keys are ` +
        'configured or stored: anyone who can reach this port could make LLM calls billed to that key. Fix: create a ' +
        'key with `llmscope keys create NAME` (docs/keys.md) or add virtual keys to the config (keys: [{id, hash: ' +
        '"sha256:..."}], docs/cost.md "Virtual keys"), and callers send "Authorization: Bearer lsk_..."; or, if a ' +
        'firewall or proxy in front of llmscope already decides who may ' +
        'call it, say so with server.allowUnauthenticatedGateway: true',
    });

  // What createApp refuses to start without (src/server.ts tokenTable, oidcClient), so check-config says so too.
  config.auth.tokens.forEach((t, i) => {
    if (t.tokenEnv === undefined) return;
    const v = env[t.tokenEnv];
    if (!v || v.length < 16)
      errors.push({
        path: `auth.tokens[${i}].tokenEnv`,
        message: `the environment variable ${t.tokenEnv} is ${v ? 'shorter than 16 characters' : 'not set'} (token "${t.name}")`,
      });
  });
  const oidc = config.auth.oidc;
  if (oidc && !config.server.adminToken)
    errors.push({
      path: 'auth.oidc',
      message:
        'auth.oidc needs server.adminToken (or LLMSCOPE_ADMIN_TOKEN): sign-in sessions are signed with a key derived from it',
    });
  if (oidc?.clientSecretEnv !== undefined && !env[oidc.clientSecretEnv])
    errors.push({
      path: 'auth.oidc.clientSecretEnv',
      message: `the environment variable ${oidc.clientSecretEnv} is not set`,
    });

  if (config.providers.length === 0)
    warnings.push({
      path: 'providers',
      message:
        'no providers configured, so /v1/* has nowhere to go; pass --upstream URL or a config file with providers',
    });
  config.providers.forEach((p, i) => {
    // A base URL without a path (`--upstream http://localhost:8000`): llmscope appends only the route's own path, so
    // every call would get the upstream's 404. Vertex hosts are given without a path, for Gemini and for Claude
    // (an anthropic provider answering Vertex's rawPredict paths): said only of Anthropic's own host there.
    if (pathless(p.baseUrl) && (p.type === 'anthropic' ? isAnthropicApi(p.baseUrl) : p.type !== 'gemini'))
      warnings.push({
        path: `providers[${i}].baseUrl`,
        message: `${p.baseUrl} has no path, and llmscope appends only the route's own (${p.type === 'anthropic' ? '/messages' : '/chat/completions'}), so calls to ${p.name} will likely get the upstream's 404; did you mean ${p.baseUrl.replace(/\/$/, '')}/v1? (OpenAI, Anthropic, vLLM, Ollama and most others serve under /v1)`,
      });
    if (p.apiKeyEnv && !env[p.apiKeyEnv])
      warnings.push({
        path: `providers[${i}].apiKeyEnv`,
        message: `${p.apiKeyEnv} is not set in this environment, so calls to ${p.name} go without llmscope's key (the caller's Authorization is passed on)`,
      });
  });
  // More gateway processes than cores only share them (each worker is a Node process of about 150 MB at start).
  const workers = config.server.workers;
  if (typeof workers === 'number' && workers >= 2 && workers > cores)
    warnings.push({
      path: 'server.workers',
      message: `${workers} gateway workers on a host with ${cores} cores (and a recorder process besides): more workers than cores share them rather than serve more, each using about 150 MB of memory; "auto" runs ${Math.max(1, cores - 1)} here`,
    });
  warnings.push(...pricingProblems(config.pricing));
  // A gpu.hosts entry's providers are matched against the calls' provider, which is a providers[].name: a name no
  // provider has (a typo, vLLM for vllm) serves no call, so its GPU-hours are charged to no model's output tokens.
  const providerNames = new Set(config.providers.map((p) => p.name));
  if (providerNames.size > 0)
    config.gpu.hosts.forEach((h, i) => {
      h.providers.forEach((name, j) => {
        if (!providerNames.has(name))
          warnings.push({
            path: `gpu.hosts[${i}].providers[${j}]`,
            message: `"${name}" is not a providers[].name (${[...providerNames].join(', ')}): calls through the gateway never carry it, so host ${h.host} serves none of them under it and its GPU-hours are charged to no model that calls go to (calls sent to /api/ingest may still name it)`,
          });
      });
    });
  config.keys.forEach((k, i) => {
    if (k.keyEnv && !env[k.keyEnv])
      warnings.push({
        path: `keys[${i}].keyEnv`,
        message: `${k.keyEnv} is not set in this environment, so virtual key "${k.id}" is disabled (calls with it get 401)`,
      });
  });
  return { errors, warnings };
}

/** Anthropic's own API host (not Vertex's, whose Claude base URL has no path). */
function isAnthropicApi(url: string): boolean {
  try {
    return new URL(url).hostname === 'api.anthropic.com';
  } catch {
    return false;
  }
}

/** A URL whose path is empty or `/` (and has no query, as Azure's `?api-version=` base URLs may). */
function pathless(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.pathname === '' || u.pathname === '/') && u.search === '';
  } catch {
    return false;
  }
}

/** One line per problem, `path: message`. */
export function formatProblems(problems: readonly StartupProblem[], prefix = ''): string {
  return problems.map((p) => `${prefix}${p.path}: ${p.message}`).join('\n');
}
