// Which OTLP spans are LLM calls, and the LlmCall each becomes. Reads the conventions instrumentations emit today:
// - OpenTelemetry GenAI (gen_ai.*), current names and the older ones still sent (gen_ai.system, *_prompt_tokens);
// - OpenInference (openinference.span.kind = LLM | EMBEDDING, llm.model_name, llm.provider, llm.token_count.*);
// - OpenLLMetry (gen_ai.* plus llm.usage.*, llm.request.type);
// - the Vercel AI SDK (ai.*: only the provider calls, ai.*.doGenerate / doStream / doEmbed, are calls; the outer
//   ai.generateText span sums them and stays a trace span, so nothing counts twice).
// Attribution comes from the documented `llmscope.*` attributes first (on the span, in the AI SDK's
// `ai.telemetry.metadata.*`, or on the resource), then user.id / enduser.id, session.id / gen_ai.conversation.id,
// and the resource's service.name as the feature.
import { keepText } from '../calls/bounded-text.js';
import {
  type CallInternals,
  type CallStatus,
  type Endpoint,
  type LlmCall,
  type Metadata,
  metadataProblem,
  type SpanRecord,
  statusOf,
} from '../calls/index.js';
import { COUNT_CAP_CHARS, countKeptTokens, countTokens } from '../calls/tokens.js';
import { requestUnitsOf, unitsEvent, unitsUnknownEvent } from '../calls/units.js';
import { otlpRequestId } from '../store/otlp-ids.js';
import type { Attributes, AttrValue, OtlpSpan } from './model.js';

/**
 * Span attributes that carry prompts, outputs or tool payloads: never stored with the trace (content is opt-in).
 * Beside the conventions' own (a retrieval's gen_ai.retrieval.documents and .query.text, a memory's gen_ai.memory.content
 * and .query among them) and OpenLLMetry's
 * (an image's gen_ai.response.revised_prompt, gen_ai.guardrail.input / output, llm.request.functions.N.*, and its
 * releases before 0.2's llm.prompts.N.* / llm.completions.N.*), OpenLIT's (gen_ai.content.prompt / completion /
 * revised_prompt / reasoning, gen_ai.response.tool_calls), OpenInference's llm.function_call (a call's arguments): the
 * documents of rerank spans (the AI SDK's ai.documents / ai.ranking, OpenInference's reranker.*), Pydantic AI / Logfire's `events` and `all_messages_events` (the messages as a JSON
 * list), `pydantic_ai.all_messages` (an agent run's conversation, instrumentation version 2 on), `final_result`, and
 * a running tool's `tool_arguments` / `tool_response` (before version 3), Logfire's OpenAI and Anthropic spans' `request_data`
 * (the request's JSON, its messages with it) and `response_data` (the answer's message or text), Langfuse's `langfuse.observation.input` / `output`, MLflow's `mlflow.spanInputs` / `Outputs`.
 * Agent frameworks' own: Google ADK's `gcp.vertex.agent.llm_request` / `llm_response` (the request's contents and the
 * answer, on by default), `tool_call_args` / `tool_response` and `data`; OpenLLMetry's CrewAI spans' crew, task and
 * agent texts (`crewai.crew.result`, `crewai.task.description`, `crewai.agent.backstory`, ...); Spring AI's tool call
 * arguments and results, its older ChatClient `user.text` / `system.text`, and a vector store query's text and
 * documents (`db.vector.query.content` / `response.documents`); LiteLLM's `raw_gen_ai_request` span, which writes the
 * provider's raw request and answer as `llm.<provider>.<field>` (`llm.openai.messages`, `llm.anthropic.content`,
 * `llm.openai.choices`, ...); Mastra's exporter a span's input and output as `mastra.<span type>.input` / `output`
 * (an agent run's prompt and answer, a model step's, a workflow's), and its earlier exporter a tool call's
 * gen_ai.tool.input / output and every span's `input` / `output`; Logfire's OpenAI Agents spans (instrument_openai_agents)
 * the span data's own `input` / `output` (a function tool's arguments and result, a speech's text), a response span's
 * `raw_input` and `response` (the Responses API's whole answer) — these four only as the whole name; Laminar's
 * `lmnr.span.input` / `output` (an observed function's arguments and result, a model call's messages) and Braintrust's
 * `braintrust.input` / `output` / `expected` (and their `_json` forms).
 */
const CONTENT_KEY =
  /^(gen_ai\.(prompt|completion|content|response\.tool_calls|event\.content|input\.messages|output\.messages|system_instructions|tool\.definitions|tool\.call\.(arguments|result)|tool\.(input|output)|retrieval\.(documents|query\.text)|memory\.(content|query)|response\.revised_prompt|guardrail\.(input|output))|llm\.(input_messages|output_messages|prompts?|completions|function_call|prompt_template|tools|request\.functions)|input\.value|output\.value|ai\.(prompt|response\.(text|object|toolCalls|reasoning|reasoningText|providerMetadata|msToFinish)|toolCall\.(args|result)|value|values|embeddings?|schema)|traceloop\.entity\.(input|output)|retrieval\.documents|embedding\.(embeddings|text)|ai\.(documents|ranking)|reranker\.(input_documents|output_documents|query)|events|all_messages_events|final_result|pydantic_ai\.all_messages|tool_arguments|tool_response|request_data|response_data|langfuse\.(observation|trace)\.(input|output)|mlflow\.span(Inputs|Outputs)|gcp\.vertex\.agent\.(llm_request|llm_response|tool_call_args|tool_response|data)|crewai\.(crew\.(result|tasks_output|tasks|agents)|task\.(description|expected_output|output|context|prompt_context)|agent\.(goal|backstory|result|tools_results))|spring\.ai\.(tool\.call\.(arguments|result)|chat\.client\.(user|system)\.(text|params))|db\.vector\.query\.(content|response\.documents)|llm\.(?!token_count\.|usage\.|request\.|response\.)[a-z0-9_]+\.(messages|choices|system|contents?|input|output|prompt|instructions|candidates|data|stringified_raw_response)|mastra\.[a-z_]+\.(input|output)|lmnr\.span\.(input|output)|braintrust\.(input|output|expected)(_json)?|(input|output|raw_input|response)(?=$))(\.|$)/;
const MAX_ATTRIBUTES = 64;
const MAX_EVENTS = 16;
const MAX_STRING = 1024;
const MAX_FIELD = 256;
const MAX_ERROR_MESSAGE = 512;

const CALL_OPERATIONS = new Set(['chat', 'text_completion', 'completion', 'embeddings', 'generate_content']);
/** GenAI operations that are not model calls (their spans are kept with the trace). */
const OTHER_OPERATIONS = new Set([
  'execute_tool',
  'invoke_agent',
  'create_agent',
  'invoke_workflow',
  'retrieval',
  // a rerank (OpenLLMetry's, in gen_ai.operation.name since its request type moved there): billed per search, no tokens
  'rerank',
  // the conventions' memory operations (a memory store's search or update, which may name the embedding model it used)
  'search_memory',
  'update_memory',
  'delete_memory',
  'create_memory_store',
  'delete_memory_store',
]);
const AI_SDK_CALL = /\.(doGenerate|doStream|doEmbed)$/;
/**
 * Image generations: Spring AI's ImageModel observation (`image`), OpenLLMetry's image spans (`image_generation`).
 * Recorded on images.generations, as the gateway records POST /v1/images/generations.
 */
const IMAGE_OPERATIONS = new Set(['image', 'image_generation']);
/** How many images were asked for: OpenLLMetry's count, else the GenAI conventions' request `n`. */
const IMAGE_COUNT_KEYS = ['gen_ai.request.image.count', 'gen_ai.request.choice.count'];
/** DALL·E: billed per image, answered with no token usage (`openai/dall-e-3` too). */
const DALL_E = /(?:^|\/)dall-e-/i;

/**
 * Other names instrumentations give the GenAI operations: Semantic Kernel's (`chat.completions`,
 * `chat.streaming_completions`, `text.completions`, `text.streaming_completions`), Spring AI's and LiteLLM's
 * `embedding`, and LiteLLM's async call types, which it writes as the operation (`acompletion`, `aembedding`,
 * `atext_completion`, `arerank`).
 */
const OPERATION_ALIASES = new Map([
  ['chat.completions', 'chat'],
  ['chat.streaming_completions', 'chat'],
  ['text.completions', 'text_completion'],
  ['text.streaming_completions', 'text_completion'],
  ['embedding', 'embeddings'],
  ['aembedding', 'embeddings'],
  ['acompletion', 'chat'],
  ['atext_completion', 'text_completion'],
  ['arerank', 'rerank'],
]);
const STREAMING_OPERATION = /^(chat|text)\.streaming_completions$/;
/** The span's GenAI operation, under its conventions' name (OPERATION_ALIASES), or null. */
function operationOf(a: Attributes): string | null {
  const op = asString(a['gen_ai.operation.name']);
  return op === null ? null : (OPERATION_ALIASES.get(op) ?? op);
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;

/** Why a span cannot be taken at all (counted as rejected in the export's partial_success), or null when it can. */
export function invalidReason(s: OtlpSpan): string | null {
  if (!HEX32.test(s.traceId) || /^0+$/.test(s.traceId)) return 'trace_id is not 16 non-zero bytes';
  if (!HEX16.test(s.spanId) || /^0+$/.test(s.spanId)) return 'span_id is not 8 non-zero bytes';
  if (s.parentSpanId !== null && !HEX16.test(s.parentSpanId)) return 'parent_span_id is not 8 bytes';
  if (s.startNs <= 0n) return 'start_time_unix_nano is missing';
  // (an end of 0: the field left out, as a relay writing a span that never ended does)
  if (s.endNs <= 0n) return 'end_time_unix_nano is missing';
  if (s.endNs < s.startNs) return 'end_time_unix_nano is before start_time_unix_nano';
  return null;
}

const asString = (v: AttrValue | undefined): string | null =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : null;

function asCount(v: AttrValue | undefined): number | null {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) && n >= 0 ? Math.round(n) : null;
}

const INPUT_TOKENS = [
  'gen_ai.usage.input_tokens',
  'gen_ai.usage.prompt_tokens',
  'llm.token_count.prompt',
  'llm.usage.prompt_tokens',
  'ai.usage.inputTokens',
  'ai.usage.promptTokens',
  'ai.usage.tokens',
];
const OUTPUT_TOKENS = [
  'gen_ai.usage.output_tokens',
  'gen_ai.usage.completion_tokens',
  'llm.token_count.completion',
  'llm.usage.completion_tokens',
  'ai.usage.outputTokens',
  'ai.usage.completionTokens',
];
const CACHED_TOKENS = [
  'gen_ai.usage.cache_read.input_tokens',
  'gen_ai.usage.cache_read_input_tokens',
  'llm.token_count.prompt_details.cache_read',
  'llm.usage.cache_read_input_tokens',
  'ai.usage.cachedInputTokens',
  'ai.usage.inputTokenDetails.cacheReadTokens',
  // Pydantic AI (its usage's details: gen_ai.usage.details.<key>) and Mastra's OpenTelemetry exporter
  'gen_ai.usage.details.cache_read_tokens',
  'gen_ai.usage.cached_input_tokens',
];
const CACHE_WRITE_TOKENS = [
  'gen_ai.usage.cache_creation.input_tokens',
  'gen_ai.usage.cache_creation_input_tokens',
  'llm.token_count.prompt_details.cache_write',
  'llm.usage.cache_creation_input_tokens',
  // AI SDK 6 (ai.usage.inputTokens is the whole prompt, cache reads and writes included)
  'ai.usage.inputTokenDetails.cacheWriteTokens',
  // the Anthropic SDK's own spans (@anthropic-ai/sdk's tracing: anthropic.messages.create)
  'gen_ai.usage.cache_write.input_tokens',
  // Strands Agents (Bedrock's cacheWriteInputTokens), beside its gen_ai.usage.cache_read_input_tokens
  'gen_ai.usage.cache_write_input_tokens',
  // Pydantic AI and Mastra, as their cache reads above
  'gen_ai.usage.details.cache_write_tokens',
  'gen_ai.usage.cache_write_tokens',
];
const REASONING_TOKENS = [
  'gen_ai.usage.reasoning.output_tokens',
  'gen_ai.usage.reasoning_tokens', // OpenLLMetry, Mastra
  'gen_ai.usage.details.reasoning_tokens', // Pydantic AI (OpenAI's completion_tokens_details)
  'llm.token_count.completion_details.reasoning',
  'ai.usage.reasoningTokens',
  'ai.usage.outputTokenDetails.reasoningTokens',
];
const TOTAL_TOKENS = [
  'gen_ai.usage.total_tokens',
  'llm.usage.total_tokens',
  'llm.token_count.total',
  'ai.usage.totalTokens',
];
const TOKEN_KEYS = [
  ...TOTAL_TOKENS,
  ...INPUT_TOKENS,
  ...OUTPUT_TOKENS,
  ...CACHED_TOKENS,
  ...CACHE_WRITE_TOKENS,
  ...REASONING_TOKENS,
];

/**
 * Why an LLM span's token counts cannot be taken, or null: a count past 2^53 − 1 (the most /api/ingest takes) is
 * no count a call had, and priced it would swamp every spend total, so the span is rejected rather than recorded.
 */
export function usageProblem(s: OtlpSpan): string | null {
  for (const k of TOKEN_KEYS) {
    const v = s.attributes[k];
    const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && n > Number.MAX_SAFE_INTEGER)
      return `${k} is ${v}, not a token count (at most ${Number.MAX_SAFE_INTEGER})`;
  }
  return null;
}

function asNumber(v: AttrValue | undefined): number | null {
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

/** Attribution keys with their AI SDK telemetry-metadata forms, made once (not a new string per lookup). */
const ownKeys = (keys: string[]): [string, string][] => keys.map((k) => [k, `ai.telemetry.metadata.${k}`]);
const USER_KEYS = ownKeys(['llmscope.user', 'user.id', 'enduser.id', 'userId']);
/** Every span attribute a call's user is read from (its own or an ancestor's): what erasing a user looks for. */
export const USER_ATTRIBUTE_KEYS: readonly string[] = USER_KEYS.flat();
// (Google ADK's call_llm spans name the session only in gcp.vertex.agent.session_id; its gen_ai.conversation.id is on
// the agent's span around them)
const SESSION_KEYS = ownKeys([
  'llmscope.session',
  'session.id',
  'gen_ai.conversation.id',
  'sessionId',
  'gcp.vertex.agent.session_id',
]);
const TEAM_KEYS = ownKeys(['llmscope.team']);
const FEATURE_KEYS = ownKeys(['llmscope.feature']);

function first<T>(read: (v: AttrValue | undefined) => T | null, a: Attributes, keys: readonly string[]): T | null {
  for (const k of keys) {
    const v = read(a[k]);
    if (v !== null) return v;
  }
  return null;
}

const clip = (s: string | null, n: number): string | null => (s === null ? null : s.slice(0, n));

/** The call's model, first present wins (OpenInference's newer conventions split llm.model_name into request/response). */
const MODEL_KEYS = [
  'gen_ai.request.model',
  'ai.model.id',
  'gen_ai.response.model',
  'llm.model_name',
  'llm.request.model_name',
  'llm.response.model_name',
  'embedding.model_name', // OpenInference's EMBEDDING spans
];

/**
 * Logfire's OpenAI and Anthropic instrumentation (logfire.instrument_openai / instrument_anthropic) records a streamed
 * call as two spans with the same GenAI attributes: the request's span (`Chat Completion with 'gpt-4o'`, its
 * `request_data` saying `"stream": true`), which ends when the stream is handed to the app, before any of it is read
 * (no usage, no answer), and a log when the stream has been read (`streaming response from 'gpt-4o' took 1.20s`, a
 * zero-length span with `duration` in seconds and the answer and usage in `response_data`). The log is the call; the
 * request's span is kept with the trace.
 */
function logfireStreamPart(a: Attributes): 'request' | 'log' | null {
  const template = a['logfire.msg_template'];
  if (typeof template !== 'string') return null;
  if (template.startsWith('streaming response from ')) return 'log';
  const request = a.request_data;
  return typeof request === 'string' && request.length <= 1 << 20 && /"stream"\s*:\s*true/.test(request)
    ? 'request'
    : null;
}

/** A Logfire streaming log's `response_data` (JSON: `{message, usage}` for chat, the Response for Responses), or null. */
function logfireResponse(a: Attributes): Record<string, unknown> | null {
  const v = a.response_data;
  if (typeof v !== 'string' || v.length > 1 << 20) return null;
  try {
    const j = JSON.parse(v) as unknown;
    return typeof j === 'object' && j !== null && !Array.isArray(j) ? (j as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The usage a Logfire streaming log's response carries (chat's prompt/completion tokens or Responses' input/output). */
function logfireUsage(r: Record<string, unknown> | null): {
  input: number | null;
  output: number | null;
  cached: number | null;
  reasoning: number | null;
} | null {
  const u = r?.usage;
  if (typeof u !== 'object' || u === null) return null;
  const o = u as Record<string, unknown>;
  const count = (v: unknown) => asCount(typeof v === 'number' || typeof v === 'string' ? v : undefined);
  const sub = (k: string, f: string) => {
    const d = o[k];
    return typeof d === 'object' && d !== null ? count((d as Record<string, unknown>)[f]) : null;
  };
  return {
    input: count(o.prompt_tokens ?? o.input_tokens),
    output: count(o.completion_tokens ?? o.output_tokens),
    cached: sub('prompt_tokens_details', 'cached_tokens') ?? sub('input_tokens_details', 'cached_tokens'),
    reasoning: sub('completion_tokens_details', 'reasoning_tokens') ?? sub('output_tokens_details', 'reasoning_tokens'),
  };
}

/** The answer's text in a Logfire streaming log's response: the message's content, or the chunks' text joined. */
function logfireOutput(r: Record<string, unknown> | null): string | null {
  if (r === null) return null;
  const m = r.message;
  if (typeof m === 'object' && m !== null) {
    const c = (m as Record<string, unknown>).content;
    if (typeof c === 'string' && c !== '') return c;
  }
  if (typeof r.combined_chunk_content === 'string' && r.combined_chunk_content !== '') return r.combined_chunk_content;
  if (Array.isArray(r.output)) {
    const out: string[] = [];
    textsIn(r.output, out);
    return joined(out);
  }
  return null;
}

/** True when the span is a model call (not llmscope's own gateway span sent back, not an agent/tool/chain step). */
export function isLlmSpan(s: OtlpSpan): boolean {
  const a = s.attributes;
  // llmscope's own gateway spans (exported by telemetry.otlpEndpoint): the gateway already recorded the call.
  if (a['llmscope.request_id'] !== undefined) return false;
  if (logfireStreamPart(a) === 'request') return false;
  const oi = asString(a['openinference.span.kind']);
  if (oi !== null) return oi.toUpperCase() === 'LLM' || oi.toUpperCase() === 'EMBEDDING';
  const aiOp = asString(a['ai.operationId']);
  if (aiOp !== null) return AI_SDK_CALL.test(aiOp);
  const op = operationOf(a);
  if (op !== null && OTHER_OPERATIONS.has(op)) return false;
  // OpenLLMetry's rerank spans (Cohere's rerank: billed per search, no tokens), trace spans as the AI SDK's
  // doRerank and OpenInference's RERANKER are
  if (a['llm.request.type'] === 'rerank') return false;
  // The Anthropic SDK's own spans (anthropic.<resource>.<method>, with the API's http.route) name the operation of its
  // model calls (chat on anthropic.messages.create); its others that carry a model are not calls: a token count
  // (anthropic.messages.count_tokens, unbilled; the gateway relays it unrecorded), a session's creation.
  if (op === null && /^anthropic\.[a-z_]+\./.test(s.name) && a['http.route'] !== undefined) return false;
  const hasModel =
    asString(a['gen_ai.request.model']) !== null ||
    asString(a['gen_ai.response.model']) !== null ||
    asString(a['llm.model_name']) !== null;
  if (op !== null && CALL_OPERATIONS.has(op)) return hasModel || asString(a['gen_ai.provider.name']) !== null;
  // Older instrumentations: a system/provider and a model, or a request type.
  const hasSystem =
    asString(a['gen_ai.system']) !== null ||
    asString(a['gen_ai.provider.name']) !== null ||
    asString(a['llm.request.type']) !== null;
  return hasModel && hasSystem;
}

/**
 * The call's id: the same span always gives the same id, so a re-sent export counts once; led by the span's start
 * time, so the store's keys take new calls in order (src/store/otlp-ids.ts, which also reads the older form).
 */
export const requestIdOf = (s: Pick<OtlpSpan, 'traceId' | 'spanId' | 'startNs'>): string =>
  otlpRequestId(s.traceId, s.spanId, s.startNs);

const nsToMs = (ns: bigint): number => Number(ns / 1000n) / 1000;

function endpointOf(a: Attributes, provider: string, model: string): Endpoint {
  const op = operationOf(a);
  const oi = asString(a['openinference.span.kind'])?.toUpperCase();
  const aiOp = asString(a['ai.operationId']) ?? '';
  const reqType = asString(a['llm.request.type']);
  if (op === 'embeddings' || oi === 'EMBEDDING' || aiOp.endsWith('.doEmbed') || reqType === 'embedding')
    return 'embeddings';
  if (op !== null && IMAGE_OPERATIONS.has(op)) return 'images.generations';
  // The AI SDK's provider names the API it called: openai.responses (openai('m') in @ai-sdk/openai 2), openai.completion
  const api = asString(a['ai.model.provider'])?.split('.')[1];
  // OpenAI's Responses API answers with a resp_ id: @opentelemetry/instrumentation-openai names it in
  // gen_ai.response.id (its operation is `chat` either way), OpenInference's output.value is the response's JSON.
  if (
    api === 'responses' ||
    asString(a['gen_ai.response.id'])?.startsWith('resp_') ||
    asString(a['output.value'])?.startsWith('{"id":"resp_') ||
    // Logfire's OpenAI Agents response spans: the Response as JSON in `response`
    asString(a.response)?.startsWith('{"id":"resp_')
  )
    return 'responses';
  // (the GenAI conventions name Google's providers gcp.gemini, gcp.vertex_ai and gcp.gen_ai; OpenLLMetry's Gemini and
  // Vertex AI spans say gen_ai.system Google / VertexAI with llm.request.type `completion`: a generateContent call all
  // the same, as the gateway records it)
  // Claude on Vertex AI is Anthropic's Messages API, not generateContent: the AI SDK's `vertex.anthropic.messages`
  // provider, or a Claude model under a Google provider (gcp.vertex_ai), as the gateway records it on /v1/messages
  if (/(^|\.)anthropic\./.test(asString(a['ai.model.provider']) ?? '')) return 'messages';
  if (/gemini|vertex|google|^gcp\./.test(provider) && /^(publishers\/anthropic\/models\/)?claude/i.test(model))
    return 'messages';
  if (op === 'generate_content' || /gemini|vertex|google|^gcp\./.test(provider)) return 'generate_content';
  // (llm.request.type `completion` beside a `chat` operation is LiteLLM's: its call type `completion` is a chat call)
  if (
    op === 'text_completion' ||
    op === 'completion' ||
    (reqType === 'completion' && op !== 'chat') ||
    api === 'completion'
  )
    return 'completions';
  if (provider === 'anthropic' || provider.endsWith('.anthropic')) return 'messages';
  return 'chat.completions';
}

/**
 * Names agent frameworks write where the model's provider belongs (gen_ai.system / gen_ai.provider.name), and the
 * name a span naming no provider gets: Google ADK's `call_llm` without the google-genai instrumentation says
 * `gcp.vertex.agent`, Strands Agents' `chat` spans `strands-agents`, OpenLLMetry's CrewAI spans `crewai` (its
 * `{model}.llm` span is the call when no provider SDK's instrumentation runs under it) and its LangChain handler
 * `Langchain` for a chat model class it does not recognise, Spring AI's ChatClient `spring_ai`. A call recorded under
 * such a name is the model's provider's (decision 165): see withModelProvider.
 */
export const FRAMEWORK_PROVIDERS: ReadonlySet<string> = new Set([
  'gcp.vertex.agent',
  'strands-agents',
  'crewai',
  'langchain',
  'spring_ai',
  'unknown',
]);

/** Who serves a model, by its name (the price catalog's provider: the cost capability's), or null when not known. */
export type ModelProvider = (model: string) => string | null;

/**
 * The call with the provider its model's name says when its span names an agent framework (or nothing) as its
 * provider (decision 165): spend, metrics, budgets and reconciliation by provider then count it under the provider
 * that bills it. A model nobody knows keeps the framework's name; a provider the span names otherwise is never
 * changed, and the stored span keeps its attributes as sent. At most one lookup, for such calls only.
 */
export function withModelProvider(call: LlmCall, providerOfModel: ModelProvider | undefined): LlmCall {
  if (providerOfModel === undefined || call.model === 'unknown' || !FRAMEWORK_PROVIDERS.has(call.provider)) return call;
  const p = providerOfModel(call.model);
  if (p !== null && p !== '') call.provider = clip(p, 128) as string;
  return call;
}

function providerOf(a: Attributes): string {
  // The AI SDK names providers "openai.chat", "anthropic.messages", ... (in gen_ai.system too): the part before the dot.
  const ai = asString(a['ai.model.provider']);
  if (ai !== null) return (ai.split('.')[0] ?? ai).toLowerCase();
  const p = first(asString, a, ['gen_ai.provider.name', 'gen_ai.system', 'llm.provider', 'llm.system']);
  return (p ?? langChainProvider(a) ?? 'unknown').toLowerCase();
}

/**
 * LangChain's provider (`ls_provider`: openai, anthropic, google_genai, ...), which it puts in every chat model's run
 * metadata and OpenInference's LangChain instrumentation records in the span's `metadata` JSON, its only provider.
 */
function langChainProvider(a: Attributes): string | null {
  const m = asString(a.metadata);
  if (m === null || m.length > 65_536 || !m.includes('"ls_provider"')) return null;
  try {
    const v = (JSON.parse(m) as { ls_provider?: unknown } | null)?.ls_provider;
    return typeof v === 'string' && v !== '' ? clip(v, MAX_FIELD) : null;
  } catch {
    return null;
  }
}

/**
 * An AI SDK call span from before AI SDK 6 on Anthropic's provider (`anthropic.messages`, `vertex.anthropic.messages`):
 * its ai.usage.inputTokens / promptTokens are Anthropic's input_tokens, without the cache's reads and writes (AI SDK 6
 * sends the whole prompt, with ai.usage.inputTokenDetails.*). The reads and writes its provider metadata names (the
 * writes are nowhere else), or null when the span is not one.
 */
function olderAiSdkAnthropic(a: Attributes, aiOp: string): { read: number | null; write: number | null } | null {
  if (aiOp === '' || !/(^|\.)anthropic\./.test(asString(a['ai.model.provider']) ?? '')) return null;
  for (const k in a) if (k.startsWith('ai.usage.inputTokenDetails.')) return null;
  const meta = a['ai.response.providerMetadata'];
  let m: Record<string, unknown> | null = null;
  if (typeof meta === 'string' && meta.length <= 65_536)
    try {
      const j = JSON.parse(meta) as { anthropic?: unknown } | null;
      m = typeof j?.anthropic === 'object' && j.anthropic !== null ? (j.anthropic as Record<string, unknown>) : null;
    } catch {
      // not JSON: no metadata
    }
  const count = (v: unknown) => asCount(typeof v === 'number' || typeof v === 'string' ? v : undefined);
  return { read: count(m?.cacheReadInputTokens), write: count(m?.cacheCreationInputTokens) };
}

function invocationParameters(a: Attributes): Record<string, unknown> {
  const v = a['llm.invocation_parameters'];
  if (typeof v !== 'string' || v.length > 65_536) return {};
  try {
    const p = JSON.parse(v) as unknown;
    return typeof p === 'object' && p !== null ? (p as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Finish reasons that mean the provider refused or blocked the answer: OpenAI's `content_filter` (the AI SDK's unified
 * `content-filter`, which it reports for every provider's filter), Anthropic's `refusal`, and Gemini's blocks as the
 * gateway counts them (`SAFETY`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `SPII`, `RECITATION`, `IMAGE_SAFETY`).
 */
const REFUSAL_FINISH =
  /^(content[_-]?filter|refusal|safety|prohibited_content|blocklist|spii|recitation|image_safety)$/i;

function finishReasonOf(a: Attributes): string | null {
  for (const k of [
    'gen_ai.response.finish_reasons',
    'ai.response.finishReason',
    'llm.response.finish_reason',
    'llm.finish_reason', // OpenInference
    'gen_ai.completion.0.finish_reason',
    'anthropic.message.stop_reason', // the Anthropic SDK's own spans: the answer's stop_reason, as sent
    // Semantic Kernel (Python): the choices' reasons joined by commas, each as its enum prints (FinishReason.STOP)
    'gen_ai.response.finish_reason',
  ]) {
    const v = a[k];
    if (Array.isArray(v)) {
      const s = v.map(asString).find((x) => x !== null);
      if (s) return s;
    } else if (typeof v === 'string' && v.startsWith('[')) {
      // the list as a JSON string (Sentry's SDK, AG2 and hand-written spans: json.dumps(["stop"]))
      const s = firstOfJsonList(v);
      // (Semantic Kernel for .NET writes its list so, each reason as the SDK's enum prints it, ContentFilter, and N/A
      // for a choice that named none)
      if (s !== null && s !== 'N/A') return s;
    } else if (k === 'gen_ai.response.finish_reason' && typeof v === 'string' && v !== '') {
      const s = (v.split(',')[0] as string).trim();
      // a Python enum's str(): the member's name is the reason (FinishReason.CONTENT_FILTER: content_filter)
      const m = /^[A-Z][A-Za-z]*\.([A-Z][A-Z_]*)$/.exec(s);
      if (s !== '') return m ? (m[1] as string).toLowerCase() : s;
    } else if (asString(v) !== null) return asString(v);
  }
  return null;
}

/**
 * The finish reason of the first `gen_ai.choice` span event, for a span that carries its answer as GenAI events and
 * says no finish reason itself: the event's `finish_reason` attribute (Strands, the events' attribute form), or the
 * `finish_reason` of its body in `gen_ai.event.content` (Semantic Kernel, Azure AI Inference).
 */
function finishReasonOfEvents(s: OtlpSpan): string | null {
  for (const e of s.events) {
    if (e.name !== 'gen_ai.choice') continue;
    const direct = asString(e.attributes.finish_reason);
    if (direct !== null) return direct;
    const body = e.attributes['gen_ai.event.content'];
    if (typeof body === 'string' && body.length <= 65_536 && body.includes('"finish_reason"'))
      try {
        const r = (JSON.parse(body) as { finish_reason?: unknown } | null)?.finish_reason;
        if (typeof r === 'string' && r !== '') return r;
      } catch {
        // not JSON
      }
    return null;
  }
  return null;
}

/** The first non-empty string of a JSON list written as a string (`["stop"]`), or null. */
function firstOfJsonList(v: string): string | null {
  if (v.length > 4096) return null;
  try {
    const list = JSON.parse(v) as unknown;
    if (Array.isArray(list)) for (const x of list) if (typeof x === 'string' && x !== '') return x;
  } catch {
    // not JSON
  }
  return null;
}

const FIRST_TOKEN_EVENT = /first[ _.-]?(token|chunk)|^ai\.stream\.firstChunk$/i;

function ttftOf(s: OtlpSpan, latencyMs: number): number | null {
  const a = s.attributes;
  let ttft = first(asNumber, a, ['llmscope.ttft_ms', 'ai.response.msToFirstChunk', 'ai.stream.msToFirstChunk']);
  if (ttft === null) {
    const sec = first(asNumber, a, ['gen_ai.server.time_to_first_token', 'gen_ai.response.time_to_first_chunk']);
    // Seconds, as the conventions say; Strands Agents writes milliseconds there (Bedrock's timeToFirstByteMs): a time
    // that is longer than the call in seconds but not in milliseconds can only be milliseconds.
    if (sec !== null) ttft = sec * 1000 > latencyMs + 1 && sec <= latencyMs + 1 ? sec : sec * 1000;
  }
  if (ttft === null) {
    const e = s.events.find((ev) => FIRST_TOKEN_EVENT.test(ev.name));
    if (e && e.timeNs >= s.startNs) ttft = nsToMs(e.timeNs - s.startNs);
  }
  return ttft !== null && ttft >= 0 && ttft <= latencyMs + 1 ? ttft : null;
}

/** The HTTP status a span says it got (`http.response.status_code`, the older `http.status_code`), or null. */
export function httpStatusOfSpan(s: OtlpSpan): number | null {
  return first(asCount, s.attributes, ['http.response.status_code', 'http.status_code']);
}

function statusOfSpan(
  s: OtlpSpan,
  errorType: string | null,
  childStatus: number | null,
): { status: CallStatus; httpStatus: number } {
  const failed = s.status.code === 2 || errorType !== null;
  // A failed call without a status of its own takes its HTTP client child's (fetch/undici instrumentation under the
  // AI SDK's doGenerate, which records the provider's error without its status).
  const code = httpStatusOfSpan(s) ?? (failed ? childStatus : null);
  if (!failed) {
    const http = code !== null && code >= 100 && code <= 599 ? code : 200;
    return { status: statusOf(http), httpStatus: http };
  }
  const et = errorType ?? '';
  const http =
    code !== null && code >= 400 && code <= 599
      ? code
      : /^[45]\d\d$/.test(et)
        ? Number(et)
        : (statusOfSdkMessage(s, et) ?? httpOfErrorType(et));
  if (/abort|cancel/i.test(et)) return { status: 'cancelled', httpStatus: 499 };
  return { status: statusOf(http), httpStatus: http };
}

/**
 * The input tokens of an embedding span that names no usage, from the request's input as OpenInference records it
 * (`input.value`: the one string, or a JSON list of them): each input counted by itself, as the provider bills them
 * (joined, the separators would count too). Past COUNT_CAP_CHARS of inputs, the rest are extrapolated from the
 * characters counted. Null when there is no such input (token-id lists, other JSON).
 */
function embeddingInputTokens(a: Attributes): number | null {
  const v = asString(a['input.value']);
  if (v === null || v === '') return null;
  let list: unknown[] = [v];
  if (v.trimStart().startsWith('['))
    try {
      const parsed: unknown = JSON.parse(v);
      if (Array.isArray(parsed)) list = parsed;
    } catch {
      // not JSON: the input is that string
    }
  if (list.length === 0 || !list.every((x) => typeof x === 'string')) return null;
  let tokens = 0;
  let counted = 0;
  let rest = 0;
  for (const x of list as string[]) {
    if (counted >= COUNT_CAP_CHARS) rest += x.length;
    else {
      tokens += countKeptTokens(x, x.length).tokens;
      counted += x.length;
    }
  }
  return rest === 0 ? tokens : tokens + Math.round((tokens * rest) / Math.max(1, counted));
}

/**
 * The status a provider SDK's error message leads with, for a failed span that names no error class (OpenInference's
 * LangChain spans keep only the error's message): the Node SDKs' (openai, anthropic) APIError message is
 * `429 Rate limit reached…`, the Python SDKs' `Error code: 429 - {…}`.
 */
function statusOfSdkMessage(s: OtlpSpan, errorType: string): number | null {
  if (errorType !== '' && errorType !== 'error') return null;
  const exception = s.events.find((e) => e.name === 'exception');
  const message = s.status.message || (exception ? asString(exception.attributes['exception.message']) : null) || '';
  const m = /^(?:Error code: )?([45]\d\d)(?: -)? \S/.exec(message);
  return m ? Number(m[1]) : null;
}

/**
 * The HTTP status an error type names: the provider SDKs' error classes (openai and anthropic, Node and Python:
 * BadRequestError 400, AuthenticationError 401, PermissionDeniedError 403, NotFoundError 404, ConflictError 409,
 * UnprocessableEntityError 422, RateLimitError 429, InternalServerError 500, OverloadedError 529, APITimeoutError),
 * which instrumentations put in error.type or exception.type, possibly qualified (`openai.BadRequestError`); else 500.
 */
const ERROR_CLASS_STATUS: readonly [RegExp, number][] = [
  [/rate.?limit|too.?many.?requests|resource.?exhausted/i, 429],
  [/timeout|timed.?out|deadline.?exceeded/i, 504],
  [/bad.?request|invalid.?request|invalid.?argument/i, 400],
  [/authentication|unauthori[sz]ed|unauthenticated/i, 401],
  [/permission.?denied|forbidden/i, 403],
  [/not.?found/i, 404],
  [/conflict/i, 409],
  [/request.?too.?large|payload.?too.?large/i, 413],
  [/unprocessable/i, 422],
  [/overloaded/i, 529],
  [/service.?unavailable|unavailable/i, 503],
];

function httpOfErrorType(et: string): number {
  for (const [re, status] of ERROR_CLASS_STATUS) if (re.test(et)) return status;
  return 500;
}

/** user / session / team / feature: the llmscope.* attribute, the conventional ones, then the resource's. */
/** A user and a session a span names itself (ownAttribution), or one of its ancestors does (the receiver's walk). */
export interface Attributed {
  user: string | null;
  session: string | null;
}

/** The span's own attribute, or the same key in the AI SDK's telemetry metadata (not the resource's). */
function ownPick(s: OtlpSpan, keys: [string, string][]): string | null {
  const a = s.attributes;
  for (const [k, ai] of keys) {
    const v = asString(a[k] ?? a[ai]);
    if (v !== null) return clip(v, MAX_FIELD);
  }
  return null;
}

/**
 * The user and session a span names in its own attributes (not its resource's): what a call span under it takes when
 * it names none itself (decision 166: Mastra and Google ADK name them on the agent's span only).
 */
export function ownAttribution(s: OtlpSpan): Attributed {
  return { user: ownPick(s, USER_KEYS), session: ownPick(s, SESSION_KEYS) };
}

/**
 * The call's attribution: the span's own attributes, then (user and session) the nearest ancestor's that names them
 * (`inherited`, decision 166), then the resource's.
 */
function attribution(s: OtlpSpan, inherited: Attributed | null = null) {
  const pick = (keys: [string, string][], from: string | null = null): string | null => {
    const own = ownPick(s, keys);
    if (own !== null) return own;
    if (from !== null) return from;
    for (const [k] of keys) {
      const v = asString(s.resource[k]);
      if (v !== null) return clip(v, MAX_FIELD);
    }
    return null;
  };
  const service = asString(s.resource['service.name']);
  return {
    user: pick(USER_KEYS, inherited?.user ?? null),
    session: pick(SESSION_KEYS, inherited?.session ?? null),
    team: pick(TEAM_KEYS),
    feature:
      pick(FEATURE_KEYS) ??
      (service !== null && !service.startsWith('unknown_service') ? clip(service, MAX_FIELD) : null),
  };
}

/** Texts of a message list (JSON): every string under a `content` or `text` key, in order, bounded in depth. */
function textsIn(v: unknown, out: string[], depth = 0): void {
  if (depth > 8 || v === null || v === undefined) return;
  if (Array.isArray(v)) for (const x of v) textsIn(x, out, depth + 1);
  else if (typeof v === 'object')
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if ((k === 'content' || k === 'text') && typeof x === 'string') out.push(x);
      else if (typeof x === 'object') textsIn(x, out, depth + 1);
    }
}

/** A JSON attribute's texts, or the attribute itself when it is plain text. */
function textOfValue(v: AttrValue | undefined): string[] {
  if (typeof v !== 'string' || v === '') return [];
  const t = v.trimStart();
  if (t.startsWith('[') || t.startsWith('{'))
    try {
      const out: string[] = [];
      textsIn(JSON.parse(v), out);
      return out;
    } catch {
      // not JSON: the text itself
    }
  return [v];
}

/** `prefix.N.suffix` attributes (OpenLLMetry's gen_ai.prompt.0.content, OpenInference's llm.input_messages.0...). */
function indexed(a: Attributes, prefix: string, suffix: RegExp): string[] {
  const found: [number, number, string][] = [];
  for (const k in a) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)$/.exec(k.slice(prefix.length));
    const v = a[k];
    if (m && suffix.test(m[2] as string) && typeof v === 'string') found.push([Number(m[1]), k.length, v]);
  }
  return found.sort((x, y) => x[0] - y[0] || x[1] - y[1]).map((f) => f[2]);
}

/**
 * The prompt and the answer a span carries, when its instrumentation records content (GenAI's
 * gen_ai.input/output.messages, OpenLLMetry's gen_ai.prompt/completion.N, OpenInference's llm.input/output_messages
 * and input/output.value, the AI SDK's ai.prompt and ai.response.text). Never stored from the span: like a proxied
 * call's text it feeds token counting when usage is missing, quality checks, and captured content when
 * telemetry.captureContent is on, after redaction.
 */
export function textsOfSpan(s: OtlpSpan): { prompt: string | null; output: string | null } {
  const a = s.attributes;
  // Indexed attributes are looked for (a walk over every key each) only when some key has their prefix; each list
  // in order, the first with a non-empty text wins.
  const has = indexedPrefixes(a);
  let prompt = joined([...textOfValue(a['gen_ai.system_instructions']), ...textOfValue(a['gen_ai.input.messages'])]);
  if (prompt === null && has & GEN_AI_PROMPT) prompt = joined(indexed(a, 'gen_ai.prompt.', /^content$/));
  if (prompt === null && has & LLM_INPUT) prompt = joined(indexed(a, 'llm.input_messages.', MESSAGE_CONTENT));
  prompt ??= joined(textOfValue(a['ai.prompt.messages']));
  prompt ??= joined(textOfValue(a['ai.prompt']));
  prompt ??= joined(textOfValue(a['input.value']));
  let output = joined(textOfValue(a['gen_ai.output.messages']));
  if (output === null && has & GEN_AI_COMPLETION) output = joined(indexed(a, 'gen_ai.completion.', /^content$/));
  if (output === null && has & LLM_OUTPUT) output = joined(indexed(a, 'llm.output_messages.', MESSAGE_CONTENT));
  output ??= joined(textOfValue(a['ai.response.text']));
  output ??= joined(textOfValue(a['output.value']));
  if (output === null && logfireStreamPart(a) === 'log') output = logfireOutput(logfireResponse(a));
  if (prompt === null || output === null) {
    // Pydantic AI (instrumentation version 1, Logfire): the messages as one JSON list of GenAI events
    const e = textsOfEventList(a.events ?? a.all_messages_events);
    prompt ??= e.prompt;
    output ??= e.output;
  }
  if ((prompt === null || output === null) && s.events.length > 0) {
    const e = textsOfEvents(s);
    prompt ??= e.prompt;
    output ??= e.output;
  }
  return { prompt, output };
}

/**
 * Span events that carry a call's messages: GenAI's per-message events as span events (`gen_ai.user.message`, ...,
 * `gen_ai.choice`; Azure AI Inference and Semantic Kernel put the message in `gen_ai.event.content`, Strands in
 * `content` / `message`), the older `gen_ai.content.prompt` / `gen_ai.content.completion` (`gen_ai.prompt` /
 * `gen_ai.completion`) and `gen_ai.client.inference.operation.details` (the GenAI message attributes).
 */
const CONTENT_EVENT =
  /^gen_ai\.((system|user|assistant|tool)\.message|choice|content\.(prompt|completion)|client\.inference\.operation\.details)$/;
/** What a content event keeps when its span is stored: never its message. */
const CONTENT_EVENT_KEEP = /^(gen_ai\.(system|provider\.name|response\.finish_reasons?)|index|finish_reason|role)$/;

/**
 * The prompt and answer of a JSON list of GenAI events (`[{"event.name": "gen_ai.user.message", "content": ...},
 * {"event.name": "gen_ai.choice", "message": {...}}]`): choices are the answer, every other event the prompt.
 */
function textsOfEventList(v: AttrValue | undefined): { prompt: string | null; output: string | null } {
  if (typeof v !== 'string' || !v.trimStart().startsWith('[')) return { prompt: null, output: null };
  let list: unknown;
  try {
    list = JSON.parse(v);
  } catch {
    return { prompt: null, output: null };
  }
  if (!Array.isArray(list)) return { prompt: null, output: null };
  const prompt: string[] = [];
  const output: string[] = [];
  for (const e of list) {
    if (e === null || typeof e !== 'object') continue;
    textsIn(e, (e as Record<string, unknown>)['event.name'] === 'gen_ai.choice' ? output : prompt);
  }
  return { prompt: joined(prompt), output: joined(output) };
}

/** The prompt and answer the span's content events carry (textsOfSpan's fallback). */
function textsOfEvents(s: OtlpSpan): { prompt: string | null; output: string | null } {
  const prompt: string[] = [];
  const output: string[] = [];
  for (const e of s.events) {
    const m = CONTENT_EVENT.exec(e.name);
    if (!m) continue;
    const a = e.attributes;
    if (m[1] === 'client.inference.operation.details') {
      prompt.push(...textOfValue(a['gen_ai.system_instructions']), ...textOfValue(a['gen_ai.input.messages']));
      output.push(...textOfValue(a['gen_ai.output.messages']));
    } else if (m[1] === 'content.prompt') prompt.push(...textOfValue(a['gen_ai.prompt']));
    else if (m[1] === 'content.completion') output.push(...textOfValue(a['gen_ai.completion']));
    else if (m[1] === 'choice') output.push(...textOfValue(a['gen_ai.event.content'] ?? a.message ?? a.content));
    else prompt.push(...textOfValue(a['gen_ai.event.content'] ?? a.content));
  }
  return { prompt: joined(prompt), output: joined(output) };
}

const MESSAGE_CONTENT = /^message\.(content|contents\.\d+\.message_content\.text)$/;

/** The non-empty texts joined by newlines, or null when there are none. */
function joined(texts: string[]): string | null {
  if (texts.length === 0) return null;
  const t = texts.filter((x) => x !== '');
  return t.length > 0 ? t.join('\n') : null;
}

const GEN_AI_PROMPT = 1;
const GEN_AI_COMPLETION = 2;
const LLM_INPUT = 4;
const LLM_OUTPUT = 8;

/** Which of the indexed-content prefixes some key of `a` has (one walk over the keys). */
function indexedPrefixes(a: Attributes): number {
  let has = 0;
  for (const k in a) {
    const c = k.charCodeAt(0);
    if (c === 103 /* g */) {
      if (k.startsWith('gen_ai.prompt.')) has |= GEN_AI_PROMPT;
      else if (k.startsWith('gen_ai.completion.')) has |= GEN_AI_COMPLETION;
    } else if (c === 108 /* l */) {
      if (k.startsWith('llm.input_messages.')) has |= LLM_INPUT;
      else if (k.startsWith('llm.output_messages.')) has |= LLM_OUTPUT;
    }
  }
  return has;
}

interface ChatMessage {
  role: string;
  text: string;
}

/** A JSON message list (`[{role, content|parts}]`, or a request body's `{messages: [...]}`), or null if it is none. */
function messagesOfJson(v: AttrValue | undefined): ChatMessage[] | null {
  if (typeof v !== 'string' || !/^\s*[[{]/.test(v)) return null;
  let j: unknown;
  try {
    j = JSON.parse(v);
  } catch {
    return null;
  }
  const list = Array.isArray(j) ? j : (j as { messages?: unknown } | null)?.messages;
  if (!Array.isArray(list) || list.length === 0) return null;
  const out: ChatMessage[] = [];
  for (const m of list) {
    const role = (m as { role?: unknown } | null)?.role;
    if (typeof role !== 'string') return null;
    const texts: string[] = [];
    textsIn(m, texts);
    out.push({ role, text: texts.join('\n') });
  }
  return out;
}

/** `prefix.N.<role>` / `prefix.N.<content>` attributes as messages, or null when they carry no roles. */
function indexedMessages(a: Attributes, prefix: string, role: string, content: RegExp): ChatMessage[] | null {
  const byIndex = new Map<number, { role: string | null; texts: string[] }>();
  for (const k in a) {
    if (!k.startsWith(prefix)) continue;
    const m = /^(\d+)\.(.+)$/.exec(k.slice(prefix.length));
    const v = a[k];
    if (!m || typeof v !== 'string') continue;
    const at = byIndex.get(Number(m[1])) ?? { role: null, texts: [] };
    byIndex.set(Number(m[1]), at);
    if (m[2] === role) at.role = v;
    else if (content.test(m[2] as string)) at.texts.push(v);
  }
  if (byIndex.size === 0) return null;
  const out: ChatMessage[] = [];
  for (const [, m] of [...byIndex].sort((x, y) => x[0] - y[0])) {
    if (m.role === null) return null;
    out.push({ role: m.role, text: m.texts.join('\n') });
  }
  return out;
}

/**
 * The chat prompt of a span as messages with their roles, when its instrumentation records them (the same
 * attributes textsOfSpan reads, in the same order), or null.
 */
export function chatMessagesOfSpan(s: OtlpSpan): ChatMessage[] | null {
  const a = s.attributes;
  const genAi = messagesOfJson(a['gen_ai.input.messages']);
  if (genAi !== null) {
    const system = textOfValue(a['gen_ai.system_instructions']).join('\n');
    return system !== '' ? [{ role: 'system', text: system }, ...genAi] : genAi;
  }
  return (
    indexedMessages(a, 'gen_ai.prompt.', 'role', /^content$/) ??
    indexedMessages(
      a,
      'llm.input_messages.',
      'message.role',
      /^message\.(content|contents\.\d+\.message_content\.text)$/,
    ) ??
    messagesOfJson(a['ai.prompt.messages']) ??
    messagesOfJson(a['input.value'])
  );
}

/**
 * Input tokens of a chat prompt as OpenAI's chat completions bill them: the messages' text, each message's role and
 * 3 tokens of framing a message, and 3 that prime the reply ("Say hi" alone is 2 tokens; sent as one user message it
 * is billed 9). A span without usage carries only the messages, so this is an estimate of what the provider counted.
 */
export function chatInputTokens(messages: readonly ChatMessage[]): number {
  let n = 3;
  for (const m of messages) n += 3 + countTokens(m.role) + countKeptTokens(m.text, m.text.length).tokens;
  return n;
}

/**
 * The service tier the answer says served the call (OpenAI's `service_tier`: flex and priority are billed at other
 * rates), as GenAI's conventions name it (`openai.response.service_tier`; `gen_ai.openai.response.service_tier`
 * before the OpenAI attributes moved). The request's tier (`openai.request.service_tier`) is not used, as the gateway
 * does not use it: OpenAI may serve a priority request at default, and `auto` names none.
 */
const SERVICE_TIER_KEYS = ['openai.response.service_tier', 'gen_ai.openai.response.service_tier'] as const;

/**
 * The AI SDK's: @ai-sdk/openai's Responses model puts the answer's `service_tier` in its provider metadata
 * (`{"openai": {"responseId": ..., "serviceTier": "flex"}}`), which the SDK records in `ai.response.providerMetadata`
 * on its doGenerate/doStream span. Parsed only when it names one.
 */
function aiSdkServiceTier(a: Attributes): string | null {
  const meta = a['ai.response.providerMetadata'];
  if (typeof meta !== 'string' || meta.length > 65_536 || !meta.includes('"serviceTier"')) return null;
  try {
    const tier = (JSON.parse(meta) as { openai?: { serviceTier?: unknown } } | null)?.openai?.serviceTier;
    return typeof tier === 'string' && tier.length > 0 ? tier : null;
  } catch {
    return null; // not JSON: no metadata
  }
}

function internalsOf(
  s: OtlpSpan,
  startedAt: number,
  endedAt: number,
  ttftMs: number | null,
  hasUsage: boolean,
): CallInternals | undefined {
  const { prompt, output } = textsOfSpan(s);
  const a = s.attributes;
  const serviceTier = clip(first(asString, a, SERVICE_TIER_KEYS) ?? aiSdkServiceTier(a), 64);
  // The cache writes that went to the 1-hour cache (the Anthropic SDK's own spans split them as its usage does),
  // priced at that rate as the gateway's are
  const hourWrites = asCount(a['anthropic.usage.cache_creation.ephemeral_1h_input_tokens']) || null;
  // Without texts, the internals only carry the tier and the 1-hour writes (to price the call), and only beside usage:
  // a call with neither usage nor text is not counted by the tokenizer as 0 tokens.
  if (prompt === null && output === null && ((serviceTier === null && hourWrites === null) || !hasUsage))
    return undefined;
  const p = prompt === null ? null : keepText(prompt);
  const o = output === null ? null : keepText(output);
  return {
    arrivalAt: startedAt,
    routedAt: null,
    upstreamStartAt: startedAt,
    upstreamHeadersAt: null,
    firstContentAt: ttftMs === null ? null : startedAt + ttftMs,
    lastContentAt: ttftMs === null ? null : endedAt,
    upstreamEndAt: endedAt,
    spanId: s.spanId,
    upstreamSpanId: s.spanId,
    parentSpanId: s.parentSpanId,
    params: {},
    serverAddress: asString(a['server.address']),
    serverPort: asCount(a['server.port']),
    responseModel: asString(a['gen_ai.response.model']),
    responseId: asString(a['gen_ai.response.id']),
    promptText: p?.text ?? null,
    ...(p && p.totalChars > p.text.length ? { promptChars: p.totalChars } : {}),
    outputText: o?.text ?? null,
    ...(o && o.totalChars > o.text.length ? { outputChars: o.totalChars } : {}),
    ...(serviceTier ? { serviceTier } : {}),
    ...(hourWrites !== null ? { cacheWrite1hInputTokens: hourWrites } : {}),
  };
}

const META_PREFIX = 'llmscope.meta.';
const AI_META_PREFIX = `ai.telemetry.metadata.${META_PREFIX}`;

/**
 * The call's metadata from `llmscope.meta.<key>` attributes (on the resource, then the span, then the AI SDK's
 * telemetry metadata, later ones winning), checked by the same rules as the gateway's headers; `problem` says why
 * the span cannot be taken (it is rejected, as a gateway call with such headers is refused).
 */
export function metadataOfSpan(s: OtlpSpan): { metadata: Metadata | null; problem: string | null } {
  let m: Record<string, unknown> | null = null;
  const take = (a: Attributes, prefix: string) => {
    for (const k in a)
      if (k.startsWith(prefix)) {
        m ??= {};
        const v = a[k];
        m[k.slice(prefix.length)] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
      }
  };
  take(s.resource, META_PREFIX);
  // The span's llmscope.meta.* keys, then its AI SDK ones (which win), in one walk over its attributes.
  let ai: string[] | null = null;
  const a = s.attributes;
  for (const k in a) {
    const c = k.charCodeAt(0);
    if (c === 108 /* l */ && k.startsWith(META_PREFIX)) {
      m ??= {};
      const v = a[k];
      m[k.slice(META_PREFIX.length)] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
    } else if (c === 97 /* a */ && k.startsWith(AI_META_PREFIX)) {
      ai ??= [];
      ai.push(k);
    }
  }
  if (ai !== null)
    for (const k of ai) {
      m ??= {};
      const v = a[k];
      m[k.slice(AI_META_PREFIX.length)] = typeof v === 'number' || typeof v === 'boolean' ? String(v) : v;
    }
  if (m === null) return { metadata: null, problem: null };
  const p = metadataProblem(m, (key) => `${META_PREFIX}${key}`);
  if (p) return { metadata: null, problem: `${p.message} (${p.param})` };
  return { metadata: m as Metadata, problem: null };
}

/**
 * The LlmCall an LLM span stands for (priced, counted and stored by the recorder like an ingested call). `metadata`:
 * the span's metadataOfSpan(s).metadata when the caller has it already.
 */
/**
 * The call an LLM span records. `childStatus`: the 4xx/5xx status of a failed HTTP client span under it (the
 * receiver's), for a failed span that says no status itself.
 */
export function spanToCall(
  s: OtlpSpan,
  metadata: Metadata | null = metadataOfSpan(s).metadata,
  childStatus: number | null = null,
  inherited: Attributed | null = null,
): LlmCall {
  const a = s.attributes;
  const endedAt = nsToMs(s.endNs);
  // A Logfire streaming log is a moment: the stream it reports began `duration` seconds before it.
  const logfire = logfireStreamPart(a) === 'log' ? logfireResponse(a) : undefined;
  const took = logfire !== undefined ? asNumber(a.duration) : null;
  const startedAt = took !== null && took >= 0 && s.endNs === s.startNs ? endedAt - took * 1000 : nsToMs(s.startNs);
  const latencyMs = Math.max(0, endedAt - startedAt);
  const provider = clip(providerOf(a), 128) as string;
  const params = invocationParameters(a);
  const model =
    clip(
      first(asString, a, MODEL_KEYS) ?? (typeof params['model'] === 'string' ? params['model'] : null) ?? 'unknown',
      MAX_FIELD,
    ) ?? 'unknown';
  const endpoint =
    logfire !== undefined && typeof logfire?.id === 'string' && logfire.id.startsWith('resp_')
      ? 'responses'
      : endpointOf(a, provider, model);
  const aiOp = asString(a['ai.operationId']) ?? '';
  const stream =
    logfire !== undefined ||
    a['gen_ai.request.stream'] === true ||
    a['llm.is_streaming'] === true ||
    // (LiteLLM writes Python's str(bool): "True")
    a['llm.is_streaming'] === 'True' ||
    a['llm.is_streaming'] === 'true' ||
    // Semantic Kernel's chat.streaming_completions / text.streaming_completions
    STREAMING_OPERATION.test(asString(a['gen_ai.operation.name']) ?? '') ||
    params['stream'] === true ||
    aiOp.endsWith('.doStream');
  const logfireUsed = logfire !== undefined ? logfireUsage(logfire) : null;
  let input = first(asCount, a, INPUT_TOKENS) ?? logfireUsed?.input ?? null;
  let output =
    endpoint === 'embeddings'
      ? first(asCount, a, ['gen_ai.usage.output_tokens'])
      : (first(asCount, a, OUTPUT_TOKENS) ?? logfireUsed?.output ?? null);
  // A span with a total and only one of the two counts (some OpenLLMetry and LangChain spans): the other is the rest.
  if ((input === null) !== (output === null) && endpoint !== 'embeddings') {
    const total = first(asCount, a, TOTAL_TOKENS);
    if (total !== null && output === null && total >= (input as number)) output = total - (input as number);
    else if (total !== null && input === null && total >= (output as number)) input = total - (output as number);
  }
  // DALL·E answers with no usage at all: tokens on its image span are the instrumentation's own estimate (OpenLLMetry
  // JS writes 1056 output tokens for a dall-e-2 image, 4160 for an HD dall-e-3 one). Taken as usage they priced the
  // images $0 (DALL·E has no token price): the images are billed per image below, as the gateway bills them.
  if (endpoint === 'images.generations' && DALL_E.test(model)) {
    input = null;
    output = null;
  }
  let cached = first(asCount, a, CACHED_TOKENS) ?? logfireUsed?.cached ?? null;
  let cacheWrite = first(asCount, a, CACHE_WRITE_TOKENS);
  // The record's input is the whole prompt, cache reads and writes included (GenAI's convention). Anthropic's own
  // input_tokens leaves them out, and instrumentations that copy it (the AI SDK before 6, OpenInference and Logfire
  // before their fixes) send 10 input tokens beside 5,000 read from the cache: an input smaller than its cached parts
  // cannot include them, so they are added (else the prompt reads as 10 tokens and is priced as 10 cached ones).
  const older = olderAiSdkAnthropic(a, aiOp);
  if (older !== null) {
    // The AI SDK before 6 on Anthropic always sends input_tokens as is, whatever its size; the cache writes (and, before
    // 5, the reads) only in the provider's metadata.
    cached ??= older.read;
    cacheWrite ??= older.write;
    if (input !== null) input += (cached ?? 0) + (cacheWrite ?? 0);
  } else if (input !== null && input < (cached ?? 0) + (cacheWrite ?? 0)) input += (cached ?? 0) + (cacheWrite ?? 0);
  const reasoning = first(asCount, a, REASONING_TOKENS) ?? logfireUsed?.reasoning ?? null;
  const exception = s.events.find((e) => e.name === 'exception');
  const errorType = clip(
    asString(a['error.type']) ??
      (exception ? asString(exception.attributes['exception.type']) : null) ??
      (s.status.code === 2 ? 'error' : null),
    MAX_FIELD,
  );
  const finishReason = clip(finishReasonOf(a) ?? finishReasonOfEvents(s), MAX_FIELD);
  // A stream that failed after it began (the AI SDK's doStream when the provider's stream reported an error, as
  // Responses' response.failed or Anthropic's mid-stream overloaded_error): the span's status says nothing of it, its
  // finish reason (GenAI's and the AI SDK's `error`) does. A failed call, as the gateway records the same stream.
  const streamFailed = errorType === null && finishReason !== null && /^error$/i.test(finishReason);
  const spanStatus = statusOfSpan(s, errorType, childStatus);
  const status: CallStatus = streamFailed ? 'upstream_error' : spanStatus.status;
  const httpStatus = spanStatus.httpStatus;
  const errorMessage =
    status === 'ok'
      ? null
      : clip(
          s.status.message || (exception ? asString(exception.attributes['exception.message']) : null) || null,
          MAX_ERROR_MESSAGE,
        );
  const ttftMs = ttftOf(s, latencyMs);
  const given = asNumber(a['llmscope.tpot_ms']);
  const tpotMs =
    given !== null && given >= 0
      ? given
      : stream && ttftMs !== null && output !== null && output >= 2
        ? (latencyMs - ttftMs) / (output - 1)
        : null;
  const internal = internalsOf(s, startedAt, endedAt, ttftMs, input !== null || output !== null);
  // No usage on an OpenAI-style chat span: counting only the messages' text (as the tokenizer enricher does) misses
  // the chat framing the provider bills, so the input is counted from the whole chat prompt here, and the call says
  // `token_source: estimate`. Other spans without usage are counted by the tokenizer from their text.
  let counted: { input: number; output: number } | null = null;
  // An embedding span without usage (OpenInference's OpenAI instrumentation records none): its inputs, counted each.
  if (input === null && output === null && status === 'ok' && endpoint === 'embeddings') {
    const inputTokens = embeddingInputTokens(a);
    if (inputTokens !== null) counted = { input: inputTokens, output: 0 };
  }
  if (input === null && output === null && status === 'ok' && endpoint === 'chat.completions' && internal) {
    const messages = chatMessagesOfSpan(s);
    if (messages !== null)
      counted = {
        input: chatInputTokens(messages),
        output:
          internal.outputText === null
            ? 0
            : countKeptTokens(internal.outputText, internal.outputChars ?? internal.outputText.length).tokens,
      };
  }
  // An image generation answered without a token usage is billed per image, as the gateway records one: the count
  // the span asked for (priced per image from the catalog), or a units event with no count (counted as unpriced).
  // OpenLLMetry JS and OpenTelemetry's Python OpenAI instrumentation (`image_generation`) leave the count out when the
  // request left `n` out (Python: or gave 1): the API's default, 1 image, as the gateway counts such a request.
  let events: LlmCall['events'] = [];
  if (endpoint === 'images.generations' && status === 'ok' && input === null && output === null) {
    const n =
      first(asCount, a, IMAGE_COUNT_KEYS) ?? (asString(a['gen_ai.operation.name']) === 'image_generation' ? 1 : null);
    // (the count, size and quality read as the gateway reads a request body's n, size and quality)
    const units =
      n === null
        ? null
        : requestUnitsOf('images.generations', {
            n,
            size: asString(a['gen_ai.request.image.size']),
            quality: asString(a['gen_ai.request.image.quality']),
          });
    events = [units === null ? unitsUnknownEvent('image', endedAt) : unitsEvent(units, endedAt)];
  }
  return {
    requestId: requestIdOf(s),
    traceId: s.traceId,
    startedAt,
    endedAt,
    provider,
    model,
    endpoint,
    stream,
    status,
    httpStatus,
    errorType: status === 'ok' ? null : streamFailed ? 'error' : errorType,
    errorMessage,
    ...attribution(s, inherited),
    metadata,
    apiKeyId: null,
    inputTokens: counted?.input ?? input,
    outputTokens: counted?.output ?? output,
    cachedInputTokens: counted ? 0 : cached,
    cacheWriteInputTokens: cacheWrite,
    reasoningTokens: counted ? 0 : reasoning,
    tokenSource: input !== null || output !== null ? 'usage' : counted ? 'estimate' : null,
    ttftMs,
    tpotMs,
    latencyMs,
    overheadMs: 0,
    costUsd: null,
    price: null,
    finishReason,
    refusal: finishReason !== null && REFUSAL_FINISH.test(finishReason),
    requestBytes: 0,
    responseBytes: 0,
    source: 'ingest',
    spans: [toSpanRecord(s)],
    events,
    content: null,
    ...(internal ? { internal } : {}),
  };
}

function flatValue(v: AttrValue): string | number | boolean | null {
  if (v === null) return null;
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  const json = JSON.stringify(v);
  return json.length > MAX_STRING ? `${json.slice(0, MAX_STRING)}…` : json;
}

/** CONTENT_KEY's answer per attribute name seen lately (names repeat across spans; bounded). */
const contentKeys = new Map<string, boolean>();
function isContentKey(k: string): boolean {
  let c = contentKeys.get(k);
  if (c === undefined) {
    c = CONTENT_KEY.test(k);
    if (contentKeys.size >= 10_000) contentKeys.clear();
    contentKeys.set(k, c);
  }
  return c;
}

function flatAttributes(a: Attributes, max: number, contentEvent = false): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  let n = 0;
  for (const k of Object.keys(a)) {
    if (n >= max) break;
    if (isContentKey(k) || (contentEvent && !CONTENT_EVENT_KEEP.test(k))) continue;
    const f = flatValue(a[k] as AttrValue);
    if (f === null) continue;
    out[k] = f;
    n++;
  }
  return out;
}

/** The span as the call record keeps spans: times in ms, content attributes left out, values bounded. */
export function toSpanRecord(s: OtlpSpan): SpanRecord {
  const attributes = flatAttributes(s.attributes, MAX_ATTRIBUTES);
  if (s.scope.name && !('otel.scope.name' in attributes)) attributes['otel.scope.name'] = s.scope.name;
  return {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: s.parentSpanId,
    name: s.name.slice(0, MAX_FIELD),
    kind: s.kind === 2 ? 'server' : s.kind === 3 ? 'client' : 'internal',
    startTime: nsToMs(s.startNs),
    endTime: nsToMs(s.endNs),
    status: s.status.code === 1 ? 'ok' : s.status.code === 2 ? 'error' : 'unset',
    attributes,
    events: s.events.slice(0, MAX_EVENTS).map((e) => {
      const ea = flatAttributes(e.attributes, 16, CONTENT_EVENT.test(e.name));
      return Object.keys(ea).length > 0
        ? { name: e.name.slice(0, MAX_FIELD), time: nsToMs(e.timeNs), attributes: ea }
        : { name: e.name.slice(0, MAX_FIELD), time: nsToMs(e.timeNs) };
    }),
  };
}
