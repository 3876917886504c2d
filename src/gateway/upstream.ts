// Upstreams: one undici Pool per configured provider (keep-alive, bounded connections), and the headers we send.
import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';
import { durationMs, type ProviderConfig } from '../config/index.js';
import { GoogleTokenSource } from '../providers/google-auth.js';

export interface Upstream {
  provider: ProviderConfig;
  pool: Pool;
  origin: string;
  basePath: string;
  host: string;
  port: number;
  timeoutMs: number;
  /** `Bearer <key>` from the provider's apiKeyEnv, when set (OpenAI-style providers). */
  authorization: string | null;
  /** The headers carrying the provider's key upstream: `authorization`, Anthropic's `x-api-key` or Gemini's `x-goog-api-key`. */
  auth: Record<string, string>;
  /** True when the provider has its own key (apiKeyEnv set and present). */
  hasKey: boolean;
  /** The provider's Google credentials (googleCredentials): their token goes when the client sends no Authorization. */
  google: GoogleTokenSource | null;
  extraHeaders: Record<string, string>;
  /**
   * The provider answered a stream llmscope asked usage for 400 naming `stream_options` (Azure OpenAI before
   * api-version 2024-09-01-preview, some OpenAI-compatible servers): this process no longer adds the field for it.
   */
  refusesStreamOptions: boolean;
}

export function createUpstream(provider: ProviderConfig, env: NodeJS.ProcessEnv = process.env): Upstream {
  const u = new URL(provider.baseUrl);
  const timeoutMs = durationMs(provider.timeout);
  const key = provider.apiKeyEnv ? env[provider.apiKeyEnv] : undefined;
  return {
    provider,
    pool: new Pool(u.origin, {
      connections: provider.connections ?? null,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    }),
    origin: u.origin,
    basePath: u.pathname.replace(/\/$/, ''),
    host: u.hostname,
    port: Number(u.port) || (u.protocol === 'https:' ? 443 : 80),
    timeoutMs,
    authorization: key && provider.type !== 'anthropic' && provider.type !== 'gemini' ? `Bearer ${key}` : null,
    hasKey: !!key,
    google: provider.googleCredentials
      ? new GoogleTokenSource(
          provider.name,
          provider.googleCredentials,
          `provider "${provider.name}" googleCredentials`,
        )
      : null,
    auth: !key
      ? {}
      : provider.type === 'anthropic'
        ? { 'x-api-key': key }
        : provider.type === 'gemini'
          ? { 'x-goog-api-key': key }
          : { authorization: `Bearer ${key}` },
    extraHeaders: provider.headers,
    refusesStreamOptions: false,
  };
}

const KEY_HEADERS = new Set(['authorization', 'x-api-key', 'api-key', 'x-goog-api-key']);

/**
 * Whether a gateway call without a virtual key may go upstream on llmscope's own provider key (a provider's apiKeyEnv
 * that is set, its googleCredentials, or a key among its configured headers) with nothing saying that exposure is intended: no virtual keys in
 * the config, no server.allowUnauthenticatedGateway (the rule `serve` applies off loopback). Asked only of a request a
 * proxy forwarded (docs/security.md).
 */
export function relaysOwnKey(
  upstreams: ReadonlyMap<string, Upstream>,
  config: { keys: readonly unknown[]; server: { allowUnauthenticatedGateway: boolean } },
): boolean {
  if (config.keys.length > 0 || config.server.allowUnauthenticatedGateway) return false;
  for (const up of upstreams.values())
    if (up.hasKey || up.google !== null || Object.keys(up.extraHeaders).some((k) => KEY_HEADERS.has(k.toLowerCase())))
      return true;
  return false;
}

/** Request headers that are never forwarded (hop-by-hop, or llmscope's own). */
const DROP_REQUEST = new Set([
  'host',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'content-length',
  'accept-encoding',
  'traceparent',
  'tracestate',
  'expect',
]);

/**
 * A Cookie header as it may go upstream: without llmscope's own cookies (`llmscope_session`, `llmscope_csrf`,
 * `llmscope_oidc`), which a browser on the dashboard's site also sends with gateway calls (a chat page on the same host,
 * a Realtime WebSocket): a sign-in to llmscope is not the provider's to see. Null when nothing else is left.
 */
export function cookieForUpstream(v: string): string | null {
  if (!v.includes('llmscope_')) return v;
  const kept = v
    .split(';')
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith('llmscope_'));
  return kept.length ? kept.join('; ') : null;
}

export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  up: Upstream,
  opts: { traceparent: string; tracestate?: string; requestId: string; forwardClientAuth: boolean; bodyLength: number },
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k in incoming) {
    const v = incoming[k];
    if (v === undefined || DROP_REQUEST.has(k) || k.startsWith('x-llmscope-')) continue;
    // The provider's own key (apiKeyEnv) replaces whatever key the client sent, in either header.
    if (
      (k === 'authorization' || k === 'x-api-key' || k === 'x-goog-api-key') &&
      (!opts.forwardClientAuth || up.hasKey)
    )
      continue;
    if (k === 'cookie') {
      const c = cookieForUpstream(Array.isArray(v) ? v.join('; ') : v);
      if (c !== null) out[k] = c;
      continue;
    }
    out[k] = Array.isArray(v) ? v.join(', ') : v;
  }
  Object.assign(out, up.extraHeaders);
  Object.assign(out, up.auth);
  // llmscope's Google token (made ready by the caller) when the client's own Authorization does not go.
  if (up.google?.header && out.authorization === undefined) out.authorization = up.google.header;
  out.traceparent = opts.traceparent;
  if (opts.tracestate) out.tracestate = opts.tracestate;
  out['x-request-id'] = opts.requestId;
  out['content-type'] = 'application/json';
  out['content-length'] = String(opts.bodyLength);
  return out;
}

/** Response headers not passed back to the client (hop-by-hop; length/encoding are set by Node). */
const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'content-length',
  'proxy-connection',
  'upgrade',
  'trailer',
]);

export function clientHeaders(
  upstream: IncomingHttpHeaders | Record<string, string | string[] | undefined>,
  keepLength: boolean,
): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const k in upstream) {
    const v = upstream[k];
    if (v === undefined) continue;
    if (DROP_RESPONSE.has(k) && !(keepLength && k === 'content-length')) continue;
    out[k] = v;
  }
  return out;
}
