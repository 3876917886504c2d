// Public face of providers/: one folder per wire format behind the ProviderAdapter interface, and the lookups
// the gateway uses (which adapter serves a route, which format an endpoint belongs to).
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint } from '../calls/index.js';
import type { ProviderAdapter, WireFormat } from './adapter.js';
import { anthropicAdapter } from './anthropic/index.js';
import { geminiAdapter } from './gemini/index.js';
import { openaiCompatibleAdapter } from './openai-compatible/index.js';
import { openaiResponsesAdapter } from './openai-responses/index.js';

export type {
  ChunkInfo,
  ChunkTally,
  ProviderAdapter,
  RenderedError,
  ResponseInfo,
  StreamMetering,
  StreamReader,
  Usage,
  WireFormat,
} from './adapter.js';
export { tallyChunk, WIRE_FORMATS } from './adapter.js';
export * as anthropic from './anthropic/index.js';
export * as gemini from './gemini/index.js';
export * as openaiCompatible from './openai-compatible/index.js';
export * as openaiResponses from './openai-responses/index.js';
export { StreamTally } from './stream-tally.js';
export { isVertexBaseUrl } from './vertex.js';

/** Every adapter, one per wire format. */
export const ADAPTERS: readonly ProviderAdapter[] = [
  openaiCompatibleAdapter,
  anthropicAdapter,
  openaiResponsesAdapter,
  geminiAdapter,
];

const byEndpoint = new Map<Endpoint, ProviderAdapter>();
const byPath = new Map<string, { adapter: ProviderAdapter; endpoint: Endpoint }>();
for (const a of ADAPTERS) {
  for (const e of a.endpoints ?? []) byEndpoint.set(e, a);
  for (const [path, endpoint] of Object.entries(a.routes)) {
    byEndpoint.set(endpoint, a);
    byPath.set(path, { adapter: a, endpoint });
  }
}

/** The adapter of the format a call on `endpoint` is written in. */
export function adapterFor(endpoint: Endpoint): ProviderAdapter {
  return byEndpoint.get(endpoint) ?? openaiCompatibleAdapter;
}

/** The gateway route at `path` (`/v1/chat/completions`, `/v1/messages`, ...), if it is one. */
export function gatewayRoute(path: string): { adapter: ProviderAdapter; endpoint: Endpoint } | undefined {
  const exact = byPath.get(path);
  if (exact) return exact;
  for (const adapter of ADAPTERS) {
    const endpoint = adapter.matchPath?.(path);
    if (endpoint) return { adapter, endpoint };
  }
  return undefined;
}

/** A client path passed through to a provider unrecorded: the format's adapter, the upstream path, the model it names. */
export interface PassThrough {
  adapter: ProviderAdapter;
  /** After the provider's base path, without the query. */
  path: string;
  /** The model the path names (Gemini's `models/{m}:countTokens`); null when the body's `model` says, or none. */
  model: string | null;
  /** A model no provider of the format serves goes to its default provider (the platform's other APIs). */
  fallback: boolean;
  /** A Vertex AI path: a provider of the format on a Vertex host is asked first. */
  vertex: boolean;
  /** A platform call that spends money: its POST is admitted and recorded under this endpoint (PassThroughMatch). */
  spends: Endpoint | null;
}

/**
 * The pass-through `path` is, if any: under an adapter's prefixes (`/v1/messages/count_tokens`: the upstream path is
 * the client's without its leading `/v1`) or one of an adapter's own paths (Gemini's `/v1beta/models/{m}:countTokens`,
 * OpenAI's files, batches, images, audio...; `/v1/files` is Anthropic's when `headers` carry `anthropic-version`).
 */
export function passThroughRoute(path: string, headers?: IncomingHttpHeaders): PassThrough | undefined {
  for (const adapter of ADAPTERS) {
    for (const prefix of adapter.passThrough)
      if (path.startsWith(prefix))
        return { adapter, path: path.slice(3), model: null, fallback: false, vertex: false, spends: null };
    const own = adapter.passThroughPath?.(path, headers);
    if (own)
      return {
        adapter,
        path: own.path,
        model: own.model,
        fallback: own.fallback ?? false,
        vertex: own.vertex === true,
        spends: own.spends ?? null,
      };
  }
  return undefined;
}

/**
 * The prompt text of a call on `endpoint`, in its own format (budgets estimate tokens from it). An embeddings body
 * with Gemini's `content` or `requests` and no `input` is Gemini's (embedContent, batchEmbedContents).
 */
export function promptTextOf(body: Record<string, unknown>, endpoint: Endpoint): string {
  if (endpoint === 'embeddings' && body.input === undefined && (body.content !== undefined || body.requests))
    return geminiAdapter.promptText(body, endpoint);
  return adapterFor(endpoint).promptText(body, endpoint);
}

export function formatOf(endpoint: Endpoint): WireFormat {
  return adapterFor(endpoint).format;
}
