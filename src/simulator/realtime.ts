// The simulator's OpenAI Realtime API over WebSocket (`GET /v1/realtime?model=...` upgraded), text only: the GA event
// names by default, the beta ones (`response.text.delta`, `conversation.item.created`) when the client asks for the
// beta protocol (`OpenAI-Beta: realtime=v1`, or the browser's `openai-beta.realtime-v1` subprotocol).
//
// Served: session.created on connect; session.update → session.updated; conversation.item.create (text messages,
// function_call_output) → conversation.item.added/done; response.create → response.created, response.output_item.added,
// response.content_part.added, one response.output_text.delta per token (the simulator's ttft and tpot, from the
// response.create's arrival), response.output_text.done, response.content_part.done, response.output_item.done,
// response.done with usage (input counted as the conversation's text, cached tokens from x-simulator-cached-tokens);
// response.cancel → response.done `cancelled` with the tokens sent so far; max_output_tokens → `incomplete`. Audio is
// counted, and sent as silence: responses are text whatever the session's output_modalities say, but one the client
// asked for as audio (output_modalities / the beta's modalities with `audio`, on the session or the response) reports
// AUDIO_TOKENS_PER_TEXT_TOKEN audio output tokens for each text token in its usage, and streams that audio (silence,
// PCM16 24 kHz: 50 ms a token) in an output_audio.delta (beta: response.audio.delta) after each text delta;
// input_audio_buffer.append/commit make a user item of 1 audio token per 100 ms (PCM16, 24 kHz), transcribed
// (input_audio_transcription.completed with usage) when the session names a transcription model.
// `?intent=transcription`: a beta transcription session.
//
// Upgrade headers, as on HTTP: x-simulator-ttft-ms, -tpot-ms, -output-tokens, -reply, -cached-tokens, and
// x-simulator-fault: rate_limit (429), server_error (500) or overloaded (503), answered before the upgrade; `failed`
// as x-simulator-stream-error: <code> makes each response end `failed` half-way with that error code.
import type { EventEmitter } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { isWebSocketUpgrade, serveAsPlainRequest } from '../providers/openai-realtime/plain-upgrade.js';
import { parseNumber, type ResolvedSimulatorOptions } from './options.js';
import { countTokens, generateTokens, hash32, tokenChunks } from './text.js';
import { errorBody, openAiId, overloadedBody, rateLimitBody, serverErrorBody } from './wire.js';

type Json = Record<string, unknown>;

/** What the realtime part tells the simulator's listeners (the same events as its HTTP routes). */
export interface RealtimeSimEvents {
  request: [{ requestId: string; method: string; path: string; url: string; headers: Json; body: unknown; at: number }];
  'first-token': [{ requestId: string; path: string; dueMs: number; sentMs: number }];
  'realtime-close': [{ code: number; reason: string }];
}

export interface RealtimeSimState {
  opts: ResolvedSimulatorOptions;
  events: EventEmitter<RealtimeSimEvents> | EventEmitter;
}

const PATH = '/v1/realtime';
const BETA_PROTOCOL = 'openai-beta.realtime-v1';

/** Serves `/v1/realtime` upgrades on the simulator's server; `close()` ends every session (1001). */
export function attachRealtimeSimulator(
  server: Server,
  state: RealtimeSimState,
  /** Serves the Responses API's WebSocket mode (`/v1/responses`, responses-ws.ts). */
  responses?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): { close(): void } {
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    // OpenAI selects `realtime` when offered, else the first protocol offered.
    handleProtocols: (protocols) =>
      protocols.has('realtime') ? 'realtime' : (protocols.values().next().value as string | undefined) || false,
  });
  const sessions = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (!isWebSocketUpgrade(req)) return serveAsPlainRequest(server, req, socket, head);
    const url = new URL(req.url ?? '/', 'http://simulator');
    const at = performance.timeOrigin + performance.now();
    state.events.emit('request', {
      requestId: String(req.headers['x-request-id'] ?? ''),
      method: req.method ?? 'GET',
      path: url.pathname,
      url: req.url ?? '/',
      headers: req.headers as Json,
      body: null,
      at,
    });
    if (url.pathname === '/v1/responses' && responses) return responses(req, socket, head);
    if (url.pathname !== PATH)
      return refuse(socket, 404, errorBody(`Invalid URL (GET ${url.pathname})`, 'invalid_request_error'));
    let d: Directives;
    try {
      d = directivesOf(req, state.opts);
    } catch (err) {
      return refuse(socket, 400, errorBody((err as Error).message, 'invalid_request_error'));
    }
    // A transcription session (`?intent=transcription`, the beta's) names no model: its transcription model comes later.
    const transcription = url.searchParams.get('intent') === 'transcription';
    const model = url.searchParams.get('model') ?? (transcription ? '' : null);
    if (model === null)
      return refuse(socket, 400, errorBody('Missing required parameter: model.', 'invalid_request_error', 'model'));
    if (d.fault === 'rate_limit') return refuse(socket, 429, rateLimitBody(model, 1000));
    if (d.fault === 'server_error') return refuse(socket, 500, serverErrorBody());
    if (d.fault === 'overloaded') return refuse(socket, 503, overloadedBody());
    wss.handleUpgrade(req, socket, head, (ws) => {
      sessions.add(ws);
      // Told with the close code and reason the client sent, for tests of what a gateway passes on.
      ws.once('close', (code, reason) => {
        sessions.delete(ws);
        state.events.emit('realtime-close', { code, reason: reason.toString() });
      });
      new RealtimeSession(ws, model, d, state, transcription).start();
    });
  });
  return {
    close() {
      for (const ws of sessions) ws.close(1001, 'simulator shutting down');
      for (const ws of sessions) setTimeout(() => ws.terminate(), 200).unref();
    },
  };
}

function refuse(socket: Duplex, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  const reason = {
    400: 'Bad Request',
    404: 'Not Found',
    429: 'Too Many Requests',
    500: 'Internal Server Error',
    503: 'Service Unavailable',
  }[status];
  socket.end(
    `HTTP/1.1 ${status} ${reason ?? 'Error'}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`,
  );
}

interface Directives {
  ttftMs: number;
  tpotMs: number;
  outputTokens: number;
  reply: string | null;
  cachedTokens: number;
  fault: string | null;
  failCode: string | null;
  beta: boolean;
}

/** Whether a session or response asks for audio output (GA `output_modalities`, beta `modalities`); null: says not. */
function asksAudio(o: Json): boolean | null {
  const m = Array.isArray(o.output_modalities)
    ? o.output_modalities
    : Array.isArray(o.modalities)
      ? o.modalities
      : null;
  return m === null ? null : m.includes('audio');
}

function headerOf(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? null : s;
}

function directivesOf(req: IncomingMessage, opts: ResolvedSimulatorOptions): Directives {
  const num = (name: string, kind: 'ms' | 'tokens', fallback: number) => {
    const v = headerOf(req, name);
    return v === null ? fallback : parseNumber(name, v, kind);
  };
  const reply = headerOf(req, 'x-simulator-reply');
  const protocols = headerOf(req, 'sec-websocket-protocol') ?? '';
  return {
    ttftMs: num('x-simulator-ttft-ms', 'ms', opts.ttftMs),
    tpotMs: num('x-simulator-tpot-ms', 'ms', opts.tpotMs),
    outputTokens: num('x-simulator-output-tokens', 'tokens', opts.outputTokens),
    reply: reply === null ? null : Buffer.from(reply, 'latin1').toString('utf8'),
    cachedTokens: num('x-simulator-cached-tokens', 'tokens', 0),
    fault: headerOf(req, 'x-simulator-fault'),
    failCode: headerOf(req, 'x-simulator-stream-error'),
    beta:
      /\brealtime=v1\b/.test(headerOf(req, 'openai-beta') ?? '') ||
      protocols.split(',').some((p) => p.trim() === BETA_PROTOCOL),
  };
}

/** One conversation item, as the simulator keeps it to count a response's input. */
interface Item {
  role: string;
  text: string;
  /** Audio tokens of an input audio item (1 per 100 ms, as OpenAI counts them). */
  audio: number;
}

/** Audio tokens the simulator reports for each text token of an answer asked for as audio (~20 a second of speech). */
export const AUDIO_TOKENS_PER_TEXT_TOKEN = 6;
/**
 * One output audio token of silence, base64: 50 ms of PCM16 at 24 kHz (2,400 zero bytes), OpenAI's 1 audio token per
 * 50 ms of output audio.
 */
const SILENT_AUDIO_TOKEN = 'A'.repeat(3200);

/** A response being generated. */
interface Running {
  id: string;
  itemId: string;
  chunks: string[];
  perChunk: number[];
  sent: number;
  input: number;
  /** The audio part of `input`. */
  inputAudio: number;
  cached: number;
  /** Asked for audio output: usage reports audio tokens for its text (the content stays text). */
  audio: boolean;
  conversation: boolean;
  metadata: unknown;
  maxTokens: number | null;
  timer: NodeJS.Timeout | null;
  status: 'completed' | 'incomplete' | 'failed';
}

class RealtimeSession {
  private readonly sessionId = openAiId('sess_', 24);
  private readonly conversationId = openAiId('conv_', 24);
  private session: Json;
  private readonly items: Item[] = [];
  private running: Running | null = null;
  /** The client asked for audio output (session.update's output_modalities, or the beta's modalities). */
  private audioOut = false;
  /** Every response being generated (out-of-band ones, `conversation: "none"`, beside the conversation's). */
  private readonly runs = new Set<Running>();
  private responses = 0;
  /** Input audio appended and not yet committed, in bytes (PCM16 at 24 kHz: 48 bytes a millisecond). */
  private bufferBytes = 0;
  private lastItemId: string | null = null;

  constructor(
    private readonly ws: WebSocket,
    private readonly model: string,
    private readonly d: Directives,
    private readonly state: RealtimeSimState,
    /** A beta transcription session (`?intent=transcription`): transcription_session.* events. */
    private readonly transcriptionOnly = false,
  ) {
    if (transcriptionOnly) {
      this.session = {
        id: this.sessionId,
        object: 'realtime.transcription_session',
        input_audio_format: 'pcm16',
        input_audio_transcription: null,
        turn_detection: null,
        expires_at: Math.floor(Date.now() / 1000) + 1800,
      };
      return;
    }
    this.session = {
      type: 'realtime',
      object: 'realtime.session',
      id: this.sessionId,
      model,
      output_modalities: ['audio'],
      instructions: '',
      tools: [],
      tool_choice: 'auto',
      max_output_tokens: 'inf',
      tracing: null,
      truncation: 'auto',
      prompt: null,
      expires_at: Math.floor(Date.now() / 1000) + 1800,
      include: null,
    };
  }

  start(): void {
    this.send({
      type: this.transcriptionOnly ? 'transcription_session.created' : 'session.created',
      session: this.session,
    });
    this.ws.on('message', (data, binary) => {
      // An event the simulator fails on is answered with an error event, as OpenAI's server does; the session (and
      // the process, which serves every other session) goes on.
      try {
        this.onMessage(binary ? null : data.toString());
      } catch {
        this.error('The server had an error while processing the event.', 'server_error', null);
      }
    });
    this.ws.once('close', () => this.stop());
  }

  private send(event: Json): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    // `type` first, then event_id, as OpenAI writes its events
    const { type, ...rest } = event;
    this.ws.send(JSON.stringify({ type, event_id: openAiId('event_', 24), ...rest }));
  }

  private error(message: string, code: string, eventId: unknown, param: string | null = null): void {
    this.send({
      type: 'error',
      error: {
        type: 'invalid_request_error',
        code,
        message,
        param,
        event_id: typeof eventId === 'string' ? eventId : null,
      },
    });
  }

  private onMessage(text: string | null) {
    let e: Json;
    try {
      const parsed = JSON.parse(text ?? '') as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
      e = parsed as Json;
    } catch {
      return this.error('The server could not parse the event: it is not a JSON object.', 'invalid_json', null);
    }
    switch (e.type) {
      case 'session.update': {
        const s = e.session && typeof e.session === 'object' ? (e.session as Json) : {};
        const { type, model: _m, ...rest } = s;
        this.session = { ...this.session, ...rest };
        // a GA transcription session: `type: "transcription"` and audio.input.transcription
        if (type === 'transcription' || type === 'realtime') this.session.type = type;
        const asked = asksAudio(s);
        if (asked !== null) this.audioOut = asked;
        this.send({ type: 'session.updated', session: this.session });
        return;
      }
      case 'transcription_session.update': {
        const s = e.session && typeof e.session === 'object' ? (e.session as Json) : {};
        this.session = { ...this.session, ...s };
        this.send({ type: 'transcription_session.updated', session: this.session });
        return;
      }
      case 'input_audio_buffer.append': {
        const audio = typeof e.audio === 'string' ? e.audio : '';
        this.bufferBytes += Math.floor((audio.replace(/=+$/, '').length * 3) / 4);
        return;
      }
      case 'input_audio_buffer.clear':
        this.bufferBytes = 0;
        this.send({ type: 'input_audio_buffer.cleared' });
        return;
      case 'input_audio_buffer.commit':
        return this.commitAudio(e);
      case 'conversation.item.create':
        return this.createItem(e);
      case 'response.create':
        return this.createResponse(e);
      case 'response.cancel': {
        const named = typeof e.response_id === 'string' ? [...this.runs].find((r) => r.id === e.response_id) : null;
        const run = named ?? this.running;
        if (!run)
          return this.error('Cancellation failed: no active response found.', 'response_cancel_not_active', e.event_id);
        return this.finish(run, 'cancelled');
      }
      default:
        return this.error(
          `The simulator does not serve the event type '${String(e.type)}'.`,
          'unknown_event',
          e.event_id,
          'type',
        );
    }
  }

  private createItem(e: Json) {
    const item = e.item && typeof e.item === 'object' ? (e.item as Json) : null;
    if (!item)
      return this.error("Missing required parameter: 'item'.", 'missing_required_parameter', e.event_id, 'item');
    const type = typeof item.type === 'string' ? item.type : 'message';
    const role = typeof item.role === 'string' ? item.role : type === 'message' ? 'user' : 'tool';
    const text =
      type === 'function_call_output'
        ? typeof item.output === 'string'
          ? item.output
          : JSON.stringify(item.output ?? '')
        : Array.isArray(item.content)
          ? item.content
              .map((p) => (p && typeof p === 'object' && typeof (p as Json).text === 'string' ? (p as Json).text : ''))
              .join('')
          : '';
    this.items.push({ role, text, audio: 0 });
    const id = typeof item.id === 'string' ? item.id : openAiId('item_', 24);
    this.lastItemId = id;
    const full = { id, object: 'realtime.item', type, status: 'completed', role, content: item.content ?? [] };
    const previous = typeof e.previous_item_id === 'string' ? e.previous_item_id : null;
    if (this.d.beta) this.send({ type: 'conversation.item.created', previous_item_id: previous, item: full });
    else {
      this.send({ type: 'conversation.item.added', previous_item_id: previous, item: full });
      this.send({ type: 'conversation.item.done', previous_item_id: previous, item: full });
    }
  }

  /** The session's input audio transcription model (GA: audio.input.transcription; beta: input_audio_transcription). */
  private transcriptionModel(): string | null {
    const audio = this.session.audio as Json | undefined;
    const input = audio && typeof audio === 'object' ? (audio.input as Json | undefined) : undefined;
    const t = (input?.transcription ?? this.session.input_audio_transcription) as Json | null | undefined;
    return t && typeof t === 'object' && typeof t.model === 'string' && t.model ? t.model : null;
  }

  /**
   * input_audio_buffer.commit: the appended audio becomes a user item of 1 audio token per 100 ms (PCM16 at 24 kHz),
   * and, with a transcription model set, its transcript comes in conversation.item.input_audio_transcription.completed
   * with usage: tokens (the audio's, and a transcript of a text token per 3 audio tokens) or, for whisper-1, seconds.
   */
  private commitAudio(e: Json) {
    if (this.bufferBytes === 0)
      return this.error(
        'Error committing input audio buffer: buffer too small. Expected at least 100ms of audio, but buffer only has 0.00ms of audio.',
        'input_audio_buffer_commit_empty',
        e.event_id,
      );
    const ms = this.bufferBytes / 48;
    const audio = Math.ceil(ms / 100);
    this.bufferBytes = 0;
    const id = openAiId('item_', 24);
    const previous = this.lastItemId;
    this.lastItemId = id;
    this.send({ type: 'input_audio_buffer.committed', previous_item_id: previous, item_id: id });
    const content = [{ type: 'input_audio', transcript: null }];
    const full = { id, object: 'realtime.item', type: 'message', status: 'completed', role: 'user', content };
    if (!this.transcriptionOnly) this.items.push({ role: 'user', text: '', audio });
    if (this.d.beta || this.transcriptionOnly)
      this.send({ type: 'conversation.item.created', previous_item_id: previous, item: full });
    else {
      this.send({ type: 'conversation.item.added', previous_item_id: previous, item: full });
      this.send({ type: 'conversation.item.done', previous_item_id: previous, item: full });
    }
    const model = this.transcriptionModel();
    if (model === null) return;
    const words = Math.max(1, Math.ceil(audio / 3));
    const transcript = generateTokens(hash32(this.state.opts.seed, 'transcribe', id), words).join('');
    const out = countTokens(transcript);
    const usage =
      model === 'whisper-1'
        ? { type: 'duration', seconds: Math.round(ms) / 1000 }
        : {
            type: 'tokens',
            input_tokens: audio,
            input_token_details: { text_tokens: 0, audio_tokens: audio },
            output_tokens: out,
            total_tokens: audio + out,
          };
    this.send({
      type: 'conversation.item.input_audio_transcription.completed',
      item_id: id,
      content_index: 0,
      transcript,
      usage,
    });
  }

  /** Input tokens of a response: its instructions and the conversation's items, 4 tokens of framing each; audio apart. */
  private inputTokens(r: Json, own: Item[] | null): { text: number; audio: number } {
    const instructions = typeof r.instructions === 'string' ? r.instructions : String(this.session.instructions ?? '');
    let text = countTokens(instructions) + 3;
    let audio = 0;
    for (const it of own ?? this.items) {
      text += 4 + countTokens(it.text);
      audio += it.audio;
    }
    return { text, audio };
  }

  private createResponse(e: Json) {
    const arrived = performance.now();
    const r = e.response && typeof e.response === 'object' ? (e.response as Json) : {};
    const conversation = r.conversation !== 'none';
    if (conversation && this.running?.conversation)
      return this.error(
        `Conversation already has an active response in progress: ${this.running.id}. Wait until the response is finished before creating a new one.`,
        'conversation_already_has_active_response',
        e.event_id,
      );
    const own = Array.isArray(r.input)
      ? r.input.map((x) => ({ role: 'user', text: JSON.stringify(x ?? ''), audio: 0 }))
      : null;
    const input = this.inputTokens(r, own);
    const seq = this.responses++;
    let chunks: string[];
    let perChunk: number[];
    if (this.d.reply !== null) {
      const split = tokenChunks(this.d.reply);
      chunks = split.chunks;
      perChunk = split.tokens;
    } else {
      chunks = generateTokens(hash32(this.state.opts.seed, 'realtime', this.model, String(seq)), this.d.outputTokens);
      perChunk = chunks.map(() => 1);
    }
    const max = typeof r.max_output_tokens === 'number' ? r.max_output_tokens : null;
    let status: Running['status'] = 'completed';
    if (max !== null) {
      let n = 0;
      let t = 0;
      while (n < chunks.length && t + (perChunk[n] as number) <= max) t += perChunk[n++] as number;
      if (n < chunks.length) {
        chunks = chunks.slice(0, n);
        status = 'incomplete';
      }
    }
    if (this.d.failCode !== null) {
      chunks = chunks.slice(0, Math.max(1, Math.floor(chunks.length / 2)));
      status = 'failed';
    }
    const run: Running = {
      id: openAiId('resp_', 24),
      itemId: openAiId('item_', 24),
      chunks,
      perChunk,
      sent: 0,
      input: input.text + input.audio,
      inputAudio: input.audio,
      cached: Math.min(this.d.cachedTokens, input.text + input.audio),
      audio: asksAudio(r) ?? this.audioOut,
      conversation,
      metadata: r.metadata ?? null,
      maxTokens: max,
      timer: null,
      status,
    };
    if (conversation) this.running = run;
    this.runs.add(run);
    this.send({ type: 'response.created', response: this.response(run, 'in_progress', null) });
    const emitFirst = () => {
      this.send({
        type: 'response.output_item.added',
        output_index: 0,
        response_id: run.id,
        item: this.item(run, 'in_progress', ''),
      });
      this.send({
        type: 'response.content_part.added',
        response_id: run.id,
        item_id: run.itemId,
        output_index: 0,
        content_index: 0,
        part: { type: this.d.beta ? 'text' : 'output_text', text: '' },
      });
    };
    // Token k goes out at ttft + k × tpot from the response.create's arrival.
    const next = () => {
      run.timer = null;
      if (this.ws.readyState !== this.ws.OPEN) return;
      const due = (k: number) => this.d.ttftMs + k * this.d.tpotMs;
      while (run.sent < run.chunks.length && performance.now() - arrived >= due(run.sent)) {
        if (run.sent === 0) {
          emitFirst();
          this.state.events.emit('first-token', {
            requestId: run.id,
            path: PATH,
            dueMs: this.d.ttftMs,
            sentMs: performance.now() - arrived,
          });
        }
        this.send({
          type: this.d.beta ? 'response.text.delta' : 'response.output_text.delta',
          response_id: run.id,
          item_id: run.itemId,
          output_index: 0,
          content_index: 0,
          delta: run.chunks[run.sent],
        });
        // An answer asked for as audio: the audio its usage will count for this text (silence), as OpenAI streams it
        if (run.audio)
          this.send({
            type: this.d.beta ? 'response.audio.delta' : 'response.output_audio.delta',
            response_id: run.id,
            item_id: run.itemId,
            output_index: 0,
            content_index: 0,
            delta: SILENT_AUDIO_TOKEN.repeat((run.perChunk[run.sent] as number) * AUDIO_TOKENS_PER_TEXT_TOKEN),
          });
        run.sent++;
      }
      if (run.sent >= run.chunks.length) return this.finish(run, run.status);
      run.timer = setTimeout(next, Math.max(0, arrived + due(run.sent) - performance.now()));
    };
    if (run.chunks.length === 0) emitFirst();
    next();
  }

  private text(run: Running): string {
    return run.chunks.slice(0, run.sent).join('');
  }

  private item(run: Running, status: string, text: string): Json {
    return {
      id: run.itemId,
      object: 'realtime.item',
      type: 'message',
      status,
      role: 'assistant',
      content: status === 'in_progress' ? [] : [{ type: this.d.beta ? 'text' : 'output_text', text }],
    };
  }

  private response(run: Running, status: string, usage: Json | null, output: Json[] = []): Json {
    return {
      object: 'realtime.response',
      id: run.id,
      status,
      status_details:
        status === 'cancelled'
          ? { type: 'cancelled', reason: 'client_cancelled' }
          : status === 'incomplete'
            ? { type: 'incomplete', reason: 'max_output_tokens' }
            : status === 'failed'
              ? {
                  type: 'failed',
                  error: {
                    type: 'server_error',
                    code: this.d.failCode,
                    message: `The response failed: ${this.d.failCode}.`,
                  },
                }
              : null,
      output,
      conversation_id: run.conversation ? this.conversationId : null,
      output_modalities: [run.audio ? 'audio' : 'text'],
      max_output_tokens: run.maxTokens ?? 'inf',
      usage,
      metadata: run.metadata,
    };
  }

  /** Ends a response: the done events for what was sent, then response.done with its usage. */
  private finish(run: Running, status: 'completed' | 'incomplete' | 'failed' | 'cancelled'): void {
    if (run.timer) clearTimeout(run.timer);
    run.timer = null;
    if (this.running === run) this.running = null;
    this.runs.delete(run);
    const text = this.text(run);
    const output = run.perChunk.slice(0, run.sent).reduce((s, t) => s + t, 0);
    const itemStatus = status === 'completed' ? 'completed' : 'incomplete';
    const started = run.sent > 0 || run.chunks.length === 0;
    if (started) {
      this.send({
        type: this.d.beta ? 'response.text.done' : 'response.output_text.done',
        response_id: run.id,
        item_id: run.itemId,
        output_index: 0,
        content_index: 0,
        text,
      });
      this.send({
        type: 'response.content_part.done',
        response_id: run.id,
        item_id: run.itemId,
        output_index: 0,
        content_index: 0,
        part: { type: this.d.beta ? 'text' : 'output_text', text },
      });
      this.send({
        type: 'response.output_item.done',
        response_id: run.id,
        output_index: 0,
        item: this.item(run, itemStatus, text),
      });
      if (run.conversation)
        this.items.push({ role: 'assistant', text, audio: run.audio ? output * AUDIO_TOKENS_PER_TEXT_TOKEN : 0 });
    }
    // Audio asked for: the answer's audio tokens beside its text (transcript) tokens. The cached tokens are the
    // prompt's text first, then its audio.
    const outputAudio = run.audio ? output * AUDIO_TOKENS_PER_TEXT_TOKEN : 0;
    const inputText = run.input - run.inputAudio;
    const cachedText = Math.min(run.cached, inputText);
    const usage = {
      total_tokens: run.input + output + outputAudio,
      input_tokens: run.input,
      output_tokens: output + outputAudio,
      input_token_details: {
        text_tokens: inputText,
        audio_tokens: run.inputAudio,
        image_tokens: 0,
        cached_tokens: run.cached,
        cached_tokens_details: { text_tokens: cachedText, audio_tokens: run.cached - cachedText, image_tokens: 0 },
      },
      output_token_details: { text_tokens: output, audio_tokens: outputAudio },
    };
    this.send({
      type: 'response.done',
      response: this.response(run, status, usage, started ? [this.item(run, itemStatus, text)] : []),
    });
  }

  private stop(): void {
    for (const run of this.runs) if (run.timer) clearTimeout(run.timer);
    this.runs.clear();
    this.running = null;
  }
}
