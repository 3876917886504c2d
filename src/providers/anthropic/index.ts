// Anthropic's Messages API (POST /v1/messages): usage with cache reads and writes, content blocks (text, tool_use,
// thinking), stop_reason as finish reason (`refusal` is a refusal), the event stream (message_start,
// content_block_delta, message_delta, error), and Anthropic's error shape for llmscope's own errors. Claude on Vertex
// AI (`/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{model}:rawPredict`, `:streamRawPredict`) is the same
// call with the model in the path: served here too.
import type { IncomingHttpHeaders } from 'node:http';
import type { Endpoint, ToolUses } from '../../calls/index.js';
import { LlmscopeError, renderError as renderOpenAiError } from '../../errors.js';
import {
  ANTHROPIC_SHARED,
  type ChunkInfo,
  isRateLimitError,
  type Json,
  leafText,
  num,
  numericParams,
  obj,
  type PassThroughMatch,
  type ProviderAdapter,
  queryOf,
  type RenderedError,
  type ResponseInfo,
  type StreamReader,
  type Usage,
} from '../adapter.js';
import { has, leadingType, stringAt, stringEnd } from '../scan.js';
import { hasDotSegment, isVertex, modelInPath } from '../vertex.js';

/**
 * Reads an Anthropic `usage` object. Its `input_tokens` leaves out the tokens read from and written to the prompt
 * cache; the record's input counts every prompt token (as OpenAI's `prompt_tokens` does), so they are added back.
 */
export function usageOf(u: unknown): Usage | null {
  const o = obj(u);
  if (!o) return null;
  const input = num(o.input_tokens);
  const output = num(o.output_tokens);
  if (input === null && output === null) return null;
  const read = num(o.cache_read_input_tokens) ?? 0;
  const write = num(o.cache_creation_input_tokens) ?? 0;
  const usage: Usage = {
    inputTokens: input === null ? null : input + read + write,
    outputTokens: output,
    cachedInputTokens: read,
    reasoningTokens: 0,
    cacheWriteInputTokens: write,
  };
  const hour = oneHourWrites(o, write);
  if (hour !== undefined) usage.cacheWrite1hInputTokens = hour;
  const tools = serverToolUses(o.server_tool_use);
  if (tools) usage.toolUses = tools;
  return usage;
}

/** A count of tool uses as reported: a whole number of at least 0 (anything else: 0). */
const uses = (v: unknown): number => {
  const n = num(v);
  return n !== null && n > 0 ? Math.min(Math.floor(n), 1_000_000) : 0;
};

/**
 * The server tools a usage object counts (`server_tool_use`: `web_search_requests`, billed per search, and
 * `web_fetch_requests`, billed by tokens only); undefined when it counts none.
 */
export function serverToolUses(v: unknown): ToolUses | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const search = uses(o.web_search_requests);
  const fetch = uses(o.web_fetch_requests);
  if (search === 0 && fetch === 0) return undefined;
  const out: ToolUses = {};
  if (search > 0) out.web_search = search;
  if (fetch > 0) out.web_fetch = fetch;
  return out;
}

/** The cache writes of a usage object that went to the 1-hour cache (`cache_creation`'s split), at most `write`. */
function oneHourWrites(u: Json, write: number): number | undefined {
  const h = num(obj(u.cache_creation)?.ephemeral_1h_input_tokens);
  return h !== null && h > 0 ? Math.min(h, write) : undefined;
}

const CLAUDE_CODE_ID = /^user_([0-9a-f]{16,128})_account_([0-9a-f-]{0,64})_session_([0-9a-f-]{8,64})$/i;

/**
 * The user and session in Claude Code's `metadata.user_id`: `user_<device hash>_account_<account uuid>_session_<session
 * uuid>` (the account empty without a claude.ai login), or the same ids as JSON (`{"device_id", "account_uuid",
 * "session_id"}`). The user is the account's uuid, else the device hash, as its telemetry's `user.account_uuid` and
 * `user.id` (/v1/logs) name the same person; null when the id is not Claude Code's (it is then the user as sent).
 */
export function claudeCodeIds(v: unknown): { user: string; session: string | null } | null {
  if (typeof v !== 'string' || v.length > 512) return null;
  const m = CLAUDE_CODE_ID.exec(v);
  if (m) return { user: m[2] || (m[1] as string), session: m[3] as string };
  if (v[0] !== '{') return null;
  let j: Json | null;
  try {
    j = obj(JSON.parse(v));
  } catch {
    return null;
  }
  if (!j || (typeof j.device_id !== 'string' && typeof j.account_uuid !== 'string')) return null;
  const account = typeof j.account_uuid === 'string' && j.account_uuid ? j.account_uuid : null;
  const device = typeof j.device_id === 'string' && j.device_id ? j.device_id : null;
  const user = account ?? device;
  if (user === null) return null;
  return { user, session: typeof j.session_id === 'string' && j.session_id ? j.session_id : null };
}

/** Text of a `content` value: a string, or blocks whose text (and tool results' text) is read. */
function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const part of content) {
    const p = obj(part);
    if (!p) continue;
    if (typeof p.text === 'string') s += s ? `\n${p.text}` : p.text;
    else if (p.type === 'tool_result') {
      const t = contentText(p.content);
      if (t) s += s ? `\n${t}` : t;
    } else if (p.type === 'tool_use') {
      // The model's earlier tool calls are prompt too (as a chat call's tool calls are): their input's string values.
      s = leafText(p.input, s);
    }
  }
  return s;
}

export function promptText(body: Json, _endpoint: Endpoint, assistant?: number[]): string {
  let s = '';
  const system = contentText(body.system);
  if (system) s += `${system}\n`;
  const msgs = Array.isArray(body.messages) ? body.messages : [];
  for (const m of msgs) {
    const mo = obj(m);
    if (!mo) continue;
    const start = s.length;
    const t = contentText(mo.content);
    if (t) s += `${t}\n`;
    if (assistant && mo.role === 'assistant' && s.length > start) assistant.push(start, s.length);
  }
  return s;
}

export function responseInfo(body: unknown): ResponseInfo {
  const o = obj(body);
  const info: ResponseInfo = { text: '', finishReason: null, usage: null, refusal: null };
  if (!o) return info;
  info.usage = usageOf(o.usage);
  const blocks = Array.isArray(o.content) ? o.content : [];
  let thought = false;
  for (const b of blocks) {
    const block = obj(b);
    if (block?.type === 'text' && typeof block.text === 'string') info.text += block.text;
    else if (block?.type === 'thinking' || block?.type === 'redacted_thinking') thought = true;
  }
  // Anthropic's usage does not split thinking out of output_tokens: with thinking the reasoning part is unknown
  if (thought && info.usage) info.usage.reasoningTokens = null;
  if (typeof o.stop_reason === 'string') info.finishReason = o.stop_reason;
  if (info.finishReason === 'refusal') info.refusal = info.text || 'refusal';
  return info;
}

/**
 * Upstream error type from Anthropic's `{"type":"error","error":{"type","message"}}`, or from Google's
 * `{"error":{"code","message","status"}}` that Vertex AI's front end answers for Claude (RESOURCE_EXHAUSTED,
 * PERMISSION_DENIED, UNAUTHENTICATED), if any.
 */
export function errorTypeOf(body: unknown): string | null {
  const e = obj(obj(body)?.error);
  if (!e) return null;
  return typeof e.type === 'string' ? e.type : typeof e.status === 'string' ? e.status : null;
}

const emptyInfo = (): ChunkInfo => ({
  text: '',
  content: false,
  finishReason: null,
  usage: null,
  refusal: null,
  usageOnly: false,
});

/** Events that say nothing the reader keeps (the parser answers an empty info for each). */
const QUIET_EVENTS = new Set(['ping', 'content_block_start', 'content_block_stop', 'message_stop']);
const TEXT_DELTA = ',"delta":{"type":"text_delta","text":"';
const INDEX = '{"type":"content_block_delta","index":';

/**
 * The common events read without parsing: a text delta written as Anthropic writes it
 * (`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"..."}}`, checked to the last byte)
 * and the events that carry nothing llmscope reads. Null for anything else, which the caller parses. Agrees with the
 * parser on every well-formed event it answers for.
 */
export function fastAnthropicEvent(data: string): ChunkInfo | null {
  const type = leadingType(data);
  if (type === null) return null;
  if (QUIET_EVENTS.has(type)) return emptyInfo();
  if (type !== 'content_block_delta' || !has(data, 0, INDEX)) return null;
  let at = INDEX.length;
  while (at < data.length && data.charCodeAt(at) >= 48 && data.charCodeAt(at) <= 57) at++;
  if (at === INDEX.length || !has(data, at, TEXT_DELTA)) return null;
  const from = at + TEXT_DELTA.length;
  const end = stringEnd(data, from);
  if (end === -1 || end + 3 !== data.length || !has(data, end + 1, '}}')) return null;
  const info = emptyInfo();
  info.text = stringAt(data, from, end);
  info.content = info.text.length > 0;
  return info;
}

/**
 * One stream's reader. Usage comes in two parts: `message_start` has the input (and cache) tokens, `message_delta`
 * the final output count (and, lately, the input counts again); later fields win. Until `message_delta` the output
 * count is unknown (message_start's is a placeholder), so a stream cut short reports input from usage and leaves
 * output to the tokenizer.
 */
export class AnthropicStreamReader implements StreamReader {
  private usage: Usage | null = null;
  /** A thinking block streamed: the reasoning part of output_tokens is unknown (Anthropic's usage has no split). */
  private thought = false;

  read(data: string): ChunkInfo | null {
    return fastAnthropicEvent(data) ?? this.readParsed(data);
  }

  /** What the event says, read by parsing it (what `read` does for any event the fast reader leaves). */
  readParsed(data: string): ChunkInfo | null {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return null;
    }
    const o = obj(parsed);
    const info = emptyInfo();
    if (!o) return info;
    switch (o.type) {
      case 'content_block_delta': {
        const d = obj(o.delta);
        if (!d) break;
        if (d.type === 'text_delta' && typeof d.text === 'string') {
          info.text = d.text;
          info.content = d.text.length > 0;
        } else if (d.type === 'input_json_delta' || d.type === 'thinking_delta' || d.type === 'citations_delta') {
          info.content = true;
          // A tool call's arguments and thinking are output too (billed as output_tokens), but not the answer.
          const other = d.type === 'input_json_delta' ? d.partial_json : d.thinking;
          if (typeof other === 'string' && other) info.other = other;
          if (d.type === 'thinking_delta') this.thought = true;
        }
        break;
      }
      case 'message_start': {
        const m = obj(o.message);
        if (typeof m?.id === 'string' && m.id) info.responseId = m.id;
        if (typeof m?.model === 'string' && m.model) info.responseModel = m.model;
        const u = usageOf(m?.usage);
        if (u) {
          this.usage = { ...u, outputTokens: null };
          info.usage = this.usage;
        }
        break;
      }
      case 'message_delta': {
        const d = obj(o.delta);
        if (d && typeof d.stop_reason === 'string') {
          info.finishReason = d.stop_reason;
          if (d.stop_reason === 'refusal') info.refusal = 'stop_reason: refusal';
        }
        const u = obj(o.usage);
        if (u) {
          // Fields message_delta leaves out keep message_start's values.
          const prev = this.usage;
          const read = num(u.cache_read_input_tokens) ?? prev?.cachedInputTokens ?? 0;
          const write = num(u.cache_creation_input_tokens) ?? prev?.cacheWriteInputTokens ?? 0;
          const input = num(u.input_tokens);
          this.usage = {
            inputTokens: input !== null ? input + read + write : (prev?.inputTokens ?? null),
            outputTokens: num(u.output_tokens) ?? prev?.outputTokens ?? null,
            cachedInputTokens: read,
            reasoningTokens: this.thought ? null : 0,
            cacheWriteInputTokens: write,
          };
          const hour = u.cache_creation !== undefined ? oneHourWrites(u, write) : prev?.cacheWrite1hInputTokens;
          if (hour !== undefined) this.usage.cacheWrite1hInputTokens = Math.min(hour, write);
          // The server tools' counts are the whole message's (the last report wins, as for output_tokens).
          const tools = u.server_tool_use !== undefined ? serverToolUses(u.server_tool_use) : prev?.toolUses;
          if (tools) this.usage.toolUses = tools;
          info.usage = this.usage;
        }
        break;
      }
      case 'error': {
        const e = obj(o.error);
        info.error = e && typeof e.type === 'string' ? e.type : 'error';
        if (e && typeof e.message === 'string') info.errorMessage = e.message;
        if (isRateLimitError(e?.type)) info.rateLimited = true;
        break;
      }
    }
    return info;
  }
}

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  405: 'invalid_request_error',
  413: 'request_too_large',
  415: 'invalid_request_error',
  429: 'rate_limit_error',
  503: 'overloaded_error',
  504: 'timeout_error',
};

/** llmscope's own error in Anthropic's shape: `{"type":"error","error":{"type","message"}}`, same status. */
export function renderError(err: unknown): RenderedError {
  const r = renderOpenAiError(err);
  const type = ERROR_TYPES[r.status] ?? 'api_error';
  return {
    status: r.status,
    headers: r.headers,
    body: { type: 'error', error: { type, message: r.body.error.message } },
  };
}

const PARAMS = { max_tokens: 'max_tokens', temperature: 'temperature', top_p: 'top_p', top_k: 'top_k' };

/** Anthropic's other APIs, as @anthropic-ai/sdk calls them (beta agents, sessions, environments, vaults, ...). */
const OWN =
  /^\/v1\/(?:agents|sessions|environments|vaults|memory_stores|deployments|deployment_runs|dreams|tunnels|user_profiles|organizations|compliance)(?:\/|$)/;

/**
 * Claude on Vertex AI: `/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict`
 * (`:streamRawPredict` streamed; also `/v1beta1/...`), a Messages body without `model` (@anthropic-ai/vertex-sdk, Claude
 * Code with CLAUDE_CODE_USE_VERTEX). Group 1 is the path before the model, which goes upstream as the client sent it.
 */
const VERTEX_PATH =
  /^(\/v1(?:beta1)?\/projects\/[^/]+\/locations\/[^/]+\/publishers\/anthropic\/models\/)([^/:]+):(rawPredict|streamRawPredict)$/;
/** Vertex's token counting: the model `count-tokens`, the Messages model in the body; passed through unrecorded. */
const VERTEX_COUNT = 'count-tokens:rawPredict';

/** The Vertex AI call `path` (without its query) is, or null (count-tokens is no call). */
function vertexCall(path: string): RegExpExecArray | null {
  if (!isVertex(path)) return null;
  const m = VERTEX_PATH.exec(path);
  return m && !path.endsWith(VERTEX_COUNT) ? m : null;
}

const pathOf = (url: string): string => {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
};

/**
 * The model and streaming a Vertex AI URL says (its method: streamRawPredict streams); null for /v1/messages, whose
 * body says them. A project, location or model with a `.` or `..` segment would name another path upstream: refused.
 */
function requestFacts(url: string): { model: string; stream: boolean; vertex: boolean } | null {
  const m = isVertex(url) ? vertexCall(pathOf(url)) : null;
  if (!m) return null;
  let model = m[2] as string;
  try {
    model = decodeURIComponent(model);
  } catch {
    /* as sent */
  }
  if (hasDotSegment(m[1] as string) || model === '.' || model === '..')
    throw new LlmscopeError(
      'LLMSCOPE_ERR_MALFORMED_REQUEST',
      `the path's project, location or model has a "." or ".." segment; name them, e.g. /v1/projects/my-project/locations/us-east5/publishers/anthropic/models/claude-sonnet-4-5@20250929:rawPredict`,
    );
  return { model, stream: m[3] === 'streamRawPredict', vertex: true };
}

/**
 * @anthropic-ai/sdk's token endpoint, on the client's base URL: workload identity federation's jwt-bearer exchange and
 * a credentials profile's refresh_token grant. They carry `anthropic-beta` (`oauth-2025-04-20`) but no
 * `anthropic-version`; OpenAI's API has no such path.
 */
const OAUTH_TOKEN = '/v1/oauth/token';
const isOAuthExchange = (headers?: IncomingHttpHeaders): boolean => {
  const beta = headers?.['anthropic-beta'];
  return headers?.['anthropic-version'] !== undefined || (typeof beta === 'string' && beta.includes('oauth-'));
};

/**
 * Anthropic's platform APIs beside Messages, passed through unrecorded when the request carries `anthropic-version`
 * (its SDKs always send it, with `anthropic-beta` for betas): Files and Skills, whose paths OpenAI's API shares, and
 * its own (agents, sessions, ...). Vertex AI's count-tokens goes upstream whole, to the provider of the body's model.
 */
function passThroughPath(path: string, headers?: IncomingHttpHeaders): PassThroughMatch | null {
  if (isVertex(path) && path.endsWith(VERTEX_COUNT) && VERTEX_PATH.test(path))
    return hasDotSegment(path) ? null : { path, model: null, vertex: true };
  if (path === OAUTH_TOKEN && isOAuthExchange(headers)) return { path: path.slice(3), model: null, fallback: true };
  if (headers?.['anthropic-version'] === undefined || !(ANTHROPIC_SHARED.test(path) || OWN.test(path))) return null;
  return { path: path.slice(3), model: null, fallback: true };
}

export const anthropicAdapter: ProviderAdapter = {
  format: 'anthropic',
  routes: { '/v1/messages': 'messages' },
  // Claude on Vertex AI: the path before the model (version, project, location) as sent, the model routed to.
  upstreamPath(_endpoint, url, model) {
    const m = isVertex(url) ? vertexCall(pathOf(url)) : null;
    return m ? `${m[1]}${modelInPath(model)}:${m[3]}${queryOf(url)}` : `/messages${queryOf(url)}`;
  },
  passThrough: ['/v1/messages/'],
  passThroughPath,
  matchPath: (path) => (vertexCall(path) ? 'messages' : null),
  requestFacts,
  injectsStreamUsage: false,
  params: (body) => numericParams(body, PARAMS),
  // Anthropic's end-user id (Claude Code sends one per account and session).
  // Claude Code's metadata.user_id names its device, account and session in one string: the user is the account
  // (else the device), the session its own field, so one person's sessions are one user.
  userOf: (body) => {
    const id = obj(body.metadata)?.user_id;
    return claudeCodeIds(id)?.user ?? id;
  },
  sessionOf: (body) => claudeCodeIds(obj(body.metadata)?.user_id)?.session,
  promptText,
  responseInfo,
  streamReader: () => new AnthropicStreamReader(),
  errorTypeOf,
  renderError,
  example: () => ({ body: '{"model": "...", "max_tokens": 1024, "messages": [...]}', model: 'claude-sonnet-4-5' }),
};
