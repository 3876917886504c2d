// The LlmCall: one typed record per LLM request, whichever way it came in (gateway or ingestion API).
// Every sink (metrics, logs, traces, store, cost, quality) consumes this record; wire form is snake_case.
import type { Metadata } from './metadata.js';

/**
 * `messages`: Anthropic's Messages API; `responses`: OpenAI's Responses API; `generate_content`: Gemini's
 * generateContent / streamGenerateContent; `realtime`: one response of an OpenAI Realtime session (WebSocket).
 */
export type Endpoint =
  | 'chat.completions'
  | 'completions'
  | 'embeddings'
  | 'messages'
  | 'responses'
  | 'generate_content'
  | 'realtime'
  | PlatformEndpoint;
/**
 * OpenAI's platform calls that spend money beside generation (POST /v1/images/generations|edits|variations,
 * /v1/audio/speech|transcriptions|translations, /v1/batches): admitted by keys, rate limits and budgets as calls are,
 * and recorded (decision 108). Their tokens come only from the answer's `usage`, never from the tokenizer.
 */
export type PlatformEndpoint =
  | 'images.generations'
  | 'images.edits'
  | 'images.variations'
  | 'audio.speech'
  | 'audio.transcriptions'
  | 'audio.translations'
  | 'batches';
export type CallStatus = 'ok' | 'client_error' | 'upstream_error' | 'rate_limited' | 'timeout' | 'cancelled';
/** `estimate`: counted with the tokenizer on part of a text too long to count whole, and extrapolated. */
export type TokenSource = 'usage' | 'tokenizer' | 'estimate';

const PLATFORM_LIST: readonly PlatformEndpoint[] = [
  'images.generations',
  'images.edits',
  'images.variations',
  'audio.speech',
  'audio.transcriptions',
  'audio.translations',
  'batches',
];
export const ENDPOINTS: readonly Endpoint[] = [
  'chat.completions',
  'completions',
  'embeddings',
  'messages',
  'responses',
  'generate_content',
  'realtime',
  ...PLATFORM_LIST,
];
/** The platform endpoints (PlatformEndpoint). */
export const PLATFORM_ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>(PLATFORM_LIST);
export const CALL_STATUSES: readonly CallStatus[] = [
  'ok',
  'client_error',
  'upstream_error',
  'rate_limited',
  'timeout',
  'cancelled',
];

/** Prices charged, in USD per token (not per million), so a stored call explains its own cost. */
export interface AppliedPrice {
  input: number;
  cachedInput: number;
  output: number;
  /** Per prompt token written to the prompt cache, when the model has such a price. */
  cacheWrite?: number;
  /**
   * Per audio token of input, cached input and output, when the call had audio tokens (a Realtime call's
   * `realtime.audio_tokens` event) and the model has audio prices; absent: any audio cost the text prices.
   */
  audioInput?: number;
  cachedAudioInput?: number;
  audioOutput?: number;
  /**
   * A call billed per unit (DALL·E per image, whisper-1 per second of audio, tts-1 per character of input): what
   * the unit is, its price in USD, and how many were billed; its cost is `units × unitPrice`.
   */
  unit?: 'image' | 'second' | 'character';
  unitPrice?: number;
  units?: number;
  /**
   * The provider's built-in tools the call used, each billed per use on top of tokens (docs/cost.md "Built-in
   * tools"): the tool, its price in USD per use (null: no price known, not in `costUsd`), and how many uses. Absent
   * when the call used none.
   */
  tools?: AppliedToolPrice[];
  /** Where the price came from: a catalog entry id or `config`. */
  source: string;
}

/**
 * Built-in tools a provider runs itself and reports per call: Anthropic's web search and web fetch
 * (`usage.server_tool_use`), OpenAI's web search and file search (Responses output items).
 */
export const BUILT_IN_TOOLS = ['web_search', 'web_search_preview', 'file_search', 'web_fetch'] as const;
export type BuiltInTool = (typeof BUILT_IN_TOOLS)[number];

/** How many times a call used each built-in tool, as its answer reports; a tool it did not use is absent. */
export type ToolUses = Partial<Record<BuiltInTool, number>>;

/**
 * The tool uses a call's answer reports, its web searches named `web_search_preview` when the request's `tools`
 * declared OpenAI's preview tool (`web_search_preview`, `web_search_preview_2025_03_11`) and no `web_search`: OpenAI
 * bills those as a line of their own, at other prices.
 */
export function toolUsesOf(uses: ToolUses, tools: unknown): ToolUses {
  if (!uses.web_search || !Array.isArray(tools)) return uses;
  let preview = false;
  for (const t of tools) {
    const type = (t as { type?: unknown } | null)?.type;
    if (typeof type !== 'string') continue;
    if (type === 'web_search' || type === 'web_search_2025_08_26') return uses;
    if (type.startsWith('web_search_preview')) preview = true;
  }
  if (!preview) return uses;
  const { web_search, ...rest } = uses;
  return { ...rest, web_search_preview: web_search };
}

/** One built-in tool's charge on a call: `units` uses at `unitPrice` USD each (null: unpriced). */
export interface AppliedToolPrice {
  tool: BuiltInTool;
  unitPrice: number | null;
  units: number;
}

/** A finished span, kept with the call for `/api/requests/:id` (times in epoch milliseconds). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: 'server' | 'client' | 'internal';
  startTime: number;
  endTime: number;
  status: 'unset' | 'ok' | 'error';
  attributes: Record<string, string | number | boolean>;
  events: { name: string; time: number; attributes?: Record<string, string | number | boolean> }[];
}

export interface CallEvent {
  time: number;
  name: string;
  attributes?: Record<string, string | number | boolean | null>;
}

export interface LlmCall {
  requestId: string;
  traceId: string | null;
  /** Epoch milliseconds (fractional allowed). */
  startedAt: number;
  endedAt: number;
  provider: string;
  model: string;
  endpoint: Endpoint;
  stream: boolean;
  status: CallStatus;
  httpStatus: number;
  errorType: string | null;
  /** The upstream's error message (or llmscope's own) of a failed call: at most 512 characters, redacted. */
  errorMessage?: string | null;
  user: string | null;
  team: string | null;
  feature: string | null;
  session: string | null;
  /** Virtual key id (never the key itself), when keys are configured. */
  apiKeyId: string | null;
  /**
   * Free-form string metadata (`x-llmscope-meta-<key>` headers, `/api/ingest`'s `metadata`): at most 20 keys, values
   * of at most 256 characters, redacted (calls/metadata.ts); null (or absent) when none. Never a metric label.
   */
  metadata?: Metadata | null;
  /**
   * The provider's own id for the call (OpenAI's `x-request-id` `req_…`, Anthropic's `request-id`), what its support
   * asks for; null (or absent) when the upstream gave none of its own.
   */
  upstreamRequestId?: string | null;
  inputTokens: number | null;
  outputTokens: number | null;
  cachedInputTokens: number | null;
  /**
   * Prompt tokens written to the provider's prompt cache (Anthropic's cache_creation_input_tokens), part of
   * inputTokens and priced at the cache-write rate; null (or absent) when unknown.
   */
  cacheWriteInputTokens?: number | null;
  reasoningTokens: number | null;
  tokenSource: TokenSource | null;
  ttftMs: number | null;
  tpotMs: number | null;
  latencyMs: number;
  overheadMs: number;
  costUsd: number | null;
  price: AppliedPrice | null;
  finishReason: string | null;
  refusal: boolean;
  requestBytes: number;
  responseBytes: number;
  /** Where the call came from. */
  source: 'gateway' | 'ingest';
  spans: SpanRecord[];
  events: CallEvent[];
  /** Prompt and response text, present only when content capture is switched on (already redacted). */
  content: { input: string | null; output: string | null } | null;
  /** Hot-path measurements that enrichers turn into tokens, TPOT and spans; never stored or sent. */
  internal?: CallInternals;
}

/** Raw marks (epoch ms) and request facts the gateway leaves for enrichers, so its hot path stays minimal. */
export interface CallInternals {
  arrivalAt: number;
  routedAt: number | null;
  upstreamStartAt: number | null;
  upstreamHeadersAt: number | null;
  firstContentAt: number | null;
  lastContentAt: number | null;
  upstreamEndAt: number | null;
  spanId: string;
  upstreamSpanId: string;
  parentSpanId: string | null;
  /** Request parameters worth a span attribute (max_tokens, temperature, top_p, seed). */
  params: Record<string, number>;
  serverAddress: string | null;
  serverPort: number | null;
  responseModel: string | null;
  responseId: string | null;
  /**
   * Prompt and output text, kept only until tokens are counted (or content captured), bounded: at most the head and
   * tail of a long text (see bounded-text.ts), with the whole text's length in `promptChars`/`outputChars` when cut.
   */
  promptText: string | null;
  promptChars?: number;
  /** Tokens the provider bills for the prompt's chat structure beyond its text (ProviderAdapter.promptFraming). */
  promptFraming?: number;
  /**
   * The request's tool definitions (its `tools`, as sent), which the provider bills as prompt: read only when tokens
   * are counted without usage (a cancelled stream), then dropped, so the hot path never serializes them.
   */
  tools?: unknown;
  /**
   * Where the model's own earlier turns (assistant messages) lie in `promptText`, as [start, end) pairs, when it
   * had any: quality checks leave them out of the evidence. An answer repeating what the model said before is not
   * grounded by it.
   */
  assistantRanges?: number[] | null;
  outputText: string | null;
  /** Length of the whole output; set when `outputText` is cut, or (alone) for an answer too large to parse. */
  outputChars?: number;
  /**
   * A stream's output that is not the answer's text (tool-call arguments, thinking, reasoning summaries), bounded as
   * `outputText` is: counted as output tokens when the stream ended without usage, never read as the answer.
   */
  otherOutputText?: string | null;
  /** Length of the whole of that output, when `otherOutputText` is cut. */
  otherOutputChars?: number;
  /**
   * Output tokens a stream carried that are not text (a cut Realtime response's audio, counted from its bytes): added
   * to the output tokens counted when the stream ended without usage.
   */
  outputAudioTokens?: number;
  /** Facts hooks (cost, budgets, keys) need after the call; free-form by hook name. */
  hooks?: Record<string, unknown>;
  /**
   * Set when `errorMessage` is llmscope's own (an LlmscopeError's message, naming a provider, a model or a limit),
   * not words from the upstream or the client: it holds no text of the call, so capture-off scrubbing leaves it whole.
   */
  ownError?: boolean;
  /**
   * Set on a call refused before a live virtual key admitted it (GatewayHook.distrusts): under `serve --workers` the
   * recorder process, which holds the keys, drops the attribution its client claimed (a worker's own hook cannot tell).
   */
  unvouched?: boolean;
  /**
   * Set on a call the provider ran though llmscope refused its admission (a Realtime response created upstream before
   * its admission's refusal, which ended the session): it admitted nothing, so its cost is added to the budgets it
   * falls under as spent (as an ingested call's is).
   */
  spentUnadmitted?: boolean;
  /**
   * The hook state of the admission refused for a spentUnadmitted call, as far as its hooks got (the key that
   * authenticated it): the key's tokens per minute take the tokens the call used, which no admission reserved.
   */
  refusedHooks?: Record<string, unknown>;
  /**
   * The part of cacheWriteInputTokens written to a 1-hour prompt cache (Anthropic), which costs more than the
   * 5-minute one: the price enricher charges it at that rate and folds it into the applied `price.cacheWrite`.
   */
  cacheWrite1hInputTokens?: number;
  /**
   * The service tier the answer says served the call (OpenAI's `service_tier`: `flex` and `priority` are billed at
   * other rates than `default`), from its usage (Usage.serviceTier); absent when it named none.
   */
  serviceTier?: string;
  /** The built-in tools the answer says the call used (Usage.toolUses), priced per use by the price enricher. */
  toolUses?: ToolUses;
  /**
   * USD per use of a built-in tool as an ingested record gave it (its price.tools' unit_price): priced at that
   * instead of pricing.tools or the catalog (R6); a tool without one is priced as a proxied call's would be.
   */
  toolUnitPrices?: Partial<Record<BuiltInTool, number>>;
  /**
   * Set by the spans enricher: the gateway's spans are built where they are read (spansFor in telemetry/spans.ts),
   * from these marks and the call's fields, and `spans` stays empty on the call.
   */
  spansDeferred?: boolean;
  /**
   * Set when the client's `traceparent` said not sampled (trace flags 00): the call is recorded and shown as any
   * other, its spans are not exported (telemetry.otlpEndpoint), and the upstream gets the flags as they came.
   */
  unsampled?: boolean;
}

/** What an admission (the gateway's hooks' reservation) that led to no call knows of that call. */
export interface UnspentCallOf {
  requestId: string;
  provider: string;
  model: string;
  endpoint: Endpoint;
  stream: boolean;
  /** Why no call came of it (`worker_exited`, `client_closed_request`). */
  errorType: string;
  attribution: Pick<LlmCall, 'user' | 'team' | 'feature' | 'session' | 'apiKeyId'>;
  /** The hooks' state for `settle` (`internal.hooks`). */
  hooks: Record<string, unknown>;
  at: number;
}

/**
 * The call an admission led to when it led to none (cut before the upstream, or in a worker that died): cancelled,
 * no tokens, no cost; what the admission hooks settle against so their reservations are given back.
 */
export function unspentCall(u: UnspentCallOf): LlmCall {
  return {
    requestId: u.requestId,
    traceId: null,
    startedAt: u.at,
    endedAt: u.at,
    provider: u.provider,
    model: u.model,
    endpoint: u.endpoint,
    stream: u.stream,
    status: 'cancelled',
    httpStatus: 499,
    errorType: u.errorType,
    errorMessage: null,
    ...u.attribution,
    metadata: null,
    inputTokens: null,
    outputTokens: null,
    cachedInputTokens: null,
    cacheWriteInputTokens: null,
    reasoningTokens: null,
    tokenSource: null,
    ttftMs: null,
    tpotMs: null,
    latencyMs: 0,
    overheadMs: 0,
    costUsd: null,
    price: null,
    finishReason: null,
    refusal: false,
    requestBytes: 0,
    responseBytes: 0,
    source: 'gateway',
    spans: [],
    events: [],
    content: null,
    internal: { ...arrivedInternals(u.at, '', '', null), hooks: u.hooks },
  };
}

/** A call's internals when it arrives: its arrival time and span ids, nothing measured yet. */
export function arrivedInternals(
  arrivalAt: number,
  spanId: string,
  upstreamSpanId: string,
  parentSpanId: string | null,
): CallInternals {
  return {
    arrivalAt,
    routedAt: null,
    upstreamStartAt: null,
    upstreamHeadersAt: null,
    firstContentAt: null,
    lastContentAt: null,
    upstreamEndAt: null,
    spanId,
    upstreamSpanId,
    parentSpanId,
    params: {},
    serverAddress: null,
    serverPort: null,
    responseModel: null,
    responseId: null,
    promptText: null,
    outputText: null,
  };
}

/** The snake_case wire form of a call (DESIGN §3, "The call record"). */
export interface LlmCallWire {
  request_id: string;
  trace_id: string | null;
  started_at: string;
  ended_at: string;
  provider: string;
  model: string;
  endpoint: Endpoint;
  stream: boolean;
  status: CallStatus;
  http_status: number;
  error_type: string | null;
  error_message: string | null;
  user: string | null;
  team: string | null;
  feature: string | null;
  session: string | null;
  /** The id of the virtual key that made the call (`key_…`, or a config key's `id`; never the key); null without one. */
  api_key_id: string | null;
  /** `{}` when the call has none. */
  metadata: Metadata;
  /** The provider's own id for the call (`req_…`), null when it gave none. */
  upstream_request_id: string | null;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_input_tokens: number | null;
  cache_write_input_tokens: number | null;
  reasoning_tokens: number | null;
  token_source: TokenSource | null;
  ttft_ms: number | null;
  tpot_ms: number | null;
  latency_ms: number;
  overhead_ms: number;
  cost_usd: number | null;
  price: {
    input: number;
    cached_input: number;
    cache_write?: number;
    output: number;
    audio_input?: number;
    cached_audio_input?: number;
    audio_output?: number;
    unit?: 'image' | 'second' | 'character';
    unit_price?: number;
    units?: number;
    tools?: { tool: BuiltInTool; unit_price: number | null; units: number }[];
    source: string;
  } | null;
  finish_reason: string | null;
  refusal: boolean;
  source: 'gateway' | 'ingest';
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const round3OrNull = (n: number | null): number | null => (n === null ? null : round3(n));

export function callToWire(c: LlmCall): LlmCallWire {
  return {
    request_id: c.requestId,
    trace_id: c.traceId,
    started_at: new Date(c.startedAt).toISOString(),
    ended_at: new Date(c.endedAt).toISOString(),
    provider: c.provider,
    model: c.model,
    endpoint: c.endpoint,
    stream: c.stream,
    status: c.status,
    http_status: c.httpStatus,
    error_type: c.errorType,
    error_message: c.errorMessage ?? null,
    user: c.user,
    team: c.team,
    feature: c.feature,
    session: c.session,
    api_key_id: c.apiKeyId ?? null,
    metadata: c.metadata ?? {},
    upstream_request_id: c.upstreamRequestId ?? null,
    input_tokens: c.inputTokens,
    output_tokens: c.outputTokens,
    cached_input_tokens: c.cachedInputTokens,
    cache_write_input_tokens: c.cacheWriteInputTokens ?? null,
    reasoning_tokens: c.reasoningTokens,
    token_source: c.tokenSource,
    ttft_ms: round3OrNull(c.ttftMs),
    tpot_ms: round3OrNull(c.tpotMs),
    latency_ms: round3(c.latencyMs),
    overhead_ms: round3(c.overheadMs),
    cost_usd: c.costUsd,
    price: c.price
      ? {
          input: c.price.input,
          cached_input: c.price.cachedInput,
          ...(c.price.cacheWrite !== undefined ? { cache_write: c.price.cacheWrite } : {}),
          output: c.price.output,
          ...(c.price.audioInput !== undefined
            ? {
                audio_input: c.price.audioInput,
                cached_audio_input: c.price.cachedAudioInput ?? c.price.audioInput,
                audio_output: c.price.audioOutput ?? c.price.output,
              }
            : {}),
          ...(c.price.unit !== undefined
            ? { unit: c.price.unit, unit_price: c.price.unitPrice ?? 0, units: c.price.units ?? 0 }
            : {}),
          ...(c.price.tools !== undefined
            ? { tools: c.price.tools.map((t) => ({ tool: t.tool, unit_price: t.unitPrice, units: t.units })) }
            : {}),
          source: c.price.source,
        }
      : null,
    finish_reason: c.finishReason,
    refusal: c.refusal,
    source: c.source,
  };
}

/** Status of a call from its HTTP status and how it ended. */
export function statusOf(httpStatus: number, opts: { cancelled?: boolean; timedOut?: boolean } = {}): CallStatus {
  if (opts.cancelled) return 'cancelled';
  if (opts.timedOut) return 'timeout';
  if (httpStatus === 429) return 'rate_limited';
  if (httpStatus === 408 || httpStatus === 504) return 'timeout';
  if (httpStatus >= 500) return 'upstream_error';
  if (httpStatus >= 400) return 'client_error';
  return 'ok';
}

/**
 * TPOT per DESIGN: (last content chunk − first content chunk) / (output_tokens − 1), for output_tokens ≥ 2.
 */
export function tpotOf(firstContentAt: number | null, lastContentAt: number | null, outputTokens: number | null) {
  if (firstContentAt === null || lastContentAt === null || outputTokens === null || outputTokens < 2) return null;
  return (lastContentAt - firstContentAt) / (outputTokens - 1);
}
