// Metering of one OpenAI Realtime session (a WebSocket relayed frame by frame): which responses it held, and for each
// when it was asked for, when its first and last output came, and what its `response.done` said (status, usage with
// cached and audio tokens, output text, the model). Read cheaply: a frame's `type` is read off its first bytes (OpenAI
// and its SDKs write it first) and only the few events that carry what is kept are parsed — session.created/updated
// (and the beta's transcription_session.*), response.created, response.done, error, input_audio_buffer.committed,
// conversation.item.input_audio_transcription.completed (each one a call of the transcription model), and the
// client's response.create and conversation.item.create; output deltas are timed, and the text of the text ones (and
// the size of the audio ones) is read off them while their response is open (bounded), so that one the socket's end
// cuts is counted. Anything unexpected leaves the frame unread, never fails the socket (the caller catches).
import { BoundedText } from '../../calls/bounded-text.js';
import type { Usage } from '../adapter.js';
import { isClientToolCall } from '../openai-responses/index.js';

type Json = Record<string, unknown>;

/** The output deltas that time a response's first and last output (GA names, then the beta ones). */
const OUTPUT_DELTAS = new Set([
  'response.output_text.delta',
  'response.output_audio.delta',
  'response.output_audio_transcript.delta',
  'response.text.delta',
  'response.audio.delta',
  'response.audio_transcript.delta',
  'response.function_call_arguments.delta',
]);

/** Output deltas that carry audio (base64): timed and measured, never kept. */
const AUDIO_DELTAS = new Set(['response.output_audio.delta', 'response.audio.delta']);
const ARGUMENT_DELTA = 'response.function_call_arguments.delta';

/** Frames larger than this whose type is not written first are left unread (an audio chunk: nothing to keep). */
const MAX_PARSED_UNTYPED = 64 * 1024;
/** Prompt text kept for one response (content capture, token counts when no usage came). */
const MAX_PROMPT_CHARS = 64 * 1024;
/** Client response.create events waiting for their response.created, kept at most. */
const MAX_PENDING = 64;
/** Committed input audio items waiting for their transcription, kept at most. */
const MAX_COMMITTED = 64;

/**
 * Audio tokens a second of the model's output audio counts: 'audio tokens in assistant messages are 1 token per 50ms
 * of audio' (OpenAI, Realtime API 'Managing costs'; user audio is 1 per 100 ms).
 */
export const OUTPUT_AUDIO_TOKENS_PER_SECOND = 20;
/** Bytes a second of PCM16 at 24 kHz mono: the Realtime API's default output audio. */
const PCM16_24K_BYTES_PER_SECOND = 48_000;

/**
 * Bytes a second of the session's output audio, from session.created / session.updated: GA `audio.output.format`
 * (`{type: "audio/pcm", rate: 24000}`, `audio/pcmu`, `audio/pcma`), beta `output_audio_format` (`pcm16`, `g711_ulaw`,
 * `g711_alaw`); null when it says none (or one not known).
 */
export function outputAudioBytesPerSecond(session: Json | null): number | null {
  const format = obj(obj(obj(session?.audio)?.output)?.format);
  if (format) {
    if (format.type === 'audio/pcm') return 2 * (num(format.rate) ?? 24_000);
    return format.type === 'audio/pcmu' || format.type === 'audio/pcma' ? 8_000 : null;
  }
  const beta = session?.output_audio_format;
  if (beta === 'pcm16') return PCM16_24K_BYTES_PER_SECOND;
  return beta === 'g711_ulaw' || beta === 'g711_alaw' ? 8_000 : null;
}

/** Bytes of the base64 `delta` of an audio delta frame, found without decoding it (nor, mostly, copying it). */
export function audioDeltaBytes(buf: Buffer): number {
  const n = buf.length;
  let from = -1;
  let end = -1;
  // as OpenAI writes it: the delta last (`..."delta":"<base64>"}`), without an escape
  if (n > 12 && buf[n - 1] === 0x7d && buf[n - 2] === 0x22) {
    const q = buf.lastIndexOf(0x22, n - 3);
    if (q >= 8 && buf.subarray(q - 8, q).equals(DELTA.subarray(0, 8)) && buf.indexOf(0x5c, q) === -1) {
      from = q + 1;
      end = n - 2;
    }
  }
  let len: number;
  let pad = 0;
  if (from !== -1) {
    len = end - from;
    while (pad < 2 && len - pad > 0 && buf[end - 1 - pad] === 0x3d) pad++;
  } else {
    const d = deltaOf(buf);
    if (d === null) return 0;
    len = d.length;
    while (pad < 2 && len - pad > 0 && d.charCodeAt(len - 1 - pad) === 0x3d) pad++;
  }
  return Math.floor(((len - pad) * 3) / 4);
}
const TRANSCRIPTION_DONE = 'conversation.item.input_audio_transcription.completed';

/** What one response of the session was: the makings of one LlmCall. */
export interface RealtimeResponse {
  responseId: string | null;
  /** The session's model when the response was created (session.created / session.updated). */
  model: string | null;
  /** `completed`, `cancelled`, `failed`, `incomplete`, or `open` for one the socket's end cut before its response.done. */
  status: string;
  /** status_details.reason (`client_cancelled`, `turn_detected`, `max_output_tokens`, `content_filter`). */
  reason: string | null;
  errorType: string | null;
  errorMessage: string | null;
  usage: Usage | null;
  /**
   * The audio parts of the usage, when it said them (priced at the model's audio rates: see docs/cost.md); for one the
   * socket's end cut, the output audio its deltas streamed (`output`, counted from their bytes; input unknown: 0).
   */
  audio: { input: number; cachedInput: number; output: number } | null;
  /**
   * Set for an input audio transcription (`conversation.item.input_audio_transcription.completed`), billed apart from
   * the responses: its model is the session's transcription model, its id the item's; `seconds` for one billed by
   * duration (whisper-1: usage `{type: "duration"}`), which has no tokens.
   */
  transcription?: { seconds: number | null };
  /** Epoch ms: the client's response.create, else the response.created. */
  startedAt: number;
  createdAt: number;
  firstOutputAt: number | null;
  lastOutputAt: number | null;
  doneAt: number;
  /**
   * The answer's text (output_text parts, audio transcripts) from response.done; for one the socket's end cut, the text
   * its deltas had streamed (bounded: head and tail, the whole length in `outputChars`).
   */
  outputText: string;
  outputChars?: number;
  /** A cut response's streamed function call arguments (billed as output too), bounded as `outputText`. */
  otherOutputText?: string;
  otherOutputChars?: number;
  /** The text of the conversation items the client created since the previous response. */
  promptText: string;
  /** A function call among its output. */
  toolCall: boolean;
  /** Frame bytes from the client since the previous response, and from the upstream while it ran. */
  requestBytes: number;
  responseBytes: number;
}

interface Open {
  id: string;
  startedAt: number;
  createdAt: number;
  firstOutputAt: number | null;
  lastOutputAt: number | null;
  promptText: string;
  requestBytes: number;
  responseBytes: number;
  /** The text and arguments its deltas streamed, counted if the socket's end cuts it (null until any came). */
  streamed: BoundedText | null;
  arguments: BoundedText | null;
  /** Bytes of the audio its deltas streamed (decoded), counted as audio tokens if the socket's end cuts it. */
  audioBytes: number;
}

const TYPE_HEAD = '{"type":"';

/** The event's `type` when the frame starts with it (`{"type":"...`), else null. */
export function frameType(buf: Buffer): string | null {
  if (buf.length < 11 || buf[0] !== 0x7b || buf.toString('latin1', 0, 9) !== TYPE_HEAD) return null;
  const end = buf.indexOf(0x22, 9);
  if (end === -1 || end - 9 > 80) return null;
  const t = buf.toString('latin1', 9, end);
  return t.includes('\\') ? null : t;
}

function parse(buf: Buffer): Json | null {
  try {
    const v = JSON.parse(buf.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
  } catch {
    return null;
  }
}

const obj = (v: unknown): Json | null => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);

const RESPONSE_ID = Buffer.from('"response_id":"');
const DELTA = Buffer.from('"delta":"');

/**
 * The `delta` string of a delta frame, found without parsing the frame, or null. OpenAI writes it last
 * (`...,"delta":"..."}`): read back from the end, decoded as it is unless it holds an escape; else looked for (a JSON
 * string cannot hold the key's bytes unescaped) and only the string parsed.
 */
export function deltaOf(buf: Buffer): string | null {
  const n = buf.length;
  if (n > 12 && buf[n - 1] === 0x7d && buf[n - 2] === 0x22) {
    let k = n - 3;
    while (k >= 0 && buf[k] !== 0x22 && buf[k] !== 0x5c) k--;
    if (k >= 8 && buf[k] === 0x22) {
      let key = true;
      for (let j = 0; j < 8 && key; j++) key = buf[k - 8 + j] === DELTA[j];
      if (key) return buf.toString('utf8', k + 1, n - 2);
    }
  }
  const at = buf.lastIndexOf(DELTA);
  if (at === -1) return null;
  const from = at + DELTA.length;
  let end = buf.indexOf(0x22, from);
  while (end !== -1) {
    // a quote after an odd number of backslashes is inside the string
    let k = end - 1;
    while (k >= from && buf[k] === 0x5c) k--;
    if ((end - 1 - k) % 2 === 0) break;
    end = buf.indexOf(0x22, end + 1);
  }
  if (end === -1) return null;
  try {
    const v = JSON.parse(buf.toString('utf8', from - 1, end + 1)) as unknown;
    return typeof v === 'string' ? v : null;
  } catch {
    return null;
  }
}

/** The `response_id` of a delta frame, found without parsing it, or null. */
function responseIdOf(buf: Buffer): string | null {
  const at = buf.indexOf(RESPONSE_ID);
  if (at === -1) return null;
  const from = at + RESPONSE_ID.length;
  const end = buf.indexOf(0x22, from);
  return end === -1 || end - from > 128 ? null : buf.toString('latin1', from, end);
}

/** Usage of a Realtime response (`response.usage`): tokens with cached ones, and the audio parts apart. */
export function realtimeUsage(u: unknown): { usage: Usage | null; audio: RealtimeResponse['audio'] } {
  const o = obj(u);
  if (!o) return { usage: null, audio: null };
  const inDetails = obj(o.input_token_details);
  const outDetails = obj(o.output_token_details);
  const cachedDetails = obj(inDetails?.cached_tokens_details);
  const inputAudio = num(inDetails?.audio_tokens);
  const outputAudio = num(outDetails?.audio_tokens);
  const cachedAudio = num(cachedDetails?.audio_tokens);
  return {
    usage: {
      inputTokens: num(o.input_tokens),
      outputTokens: num(o.output_tokens),
      cachedInputTokens: num(inDetails?.cached_tokens),
      reasoningTokens: null,
      cacheWriteInputTokens: null,
    },
    audio:
      inputAudio === null && outputAudio === null && cachedAudio === null
        ? null
        : { input: inputAudio ?? 0, cachedInput: cachedAudio ?? 0, output: outputAudio ?? 0 },
  };
}

/** The answer's text in output items (output_text parts, audio transcripts) and whether it called a client's tool. */
function outputOf(output: unknown): { text: string; toolCall: boolean } {
  let text = '';
  let toolCall = false;
  for (const item of Array.isArray(output) ? output : []) {
    const it = obj(item);
    if (!it) continue;
    // Only a tool the client runs (function_call) waits on it; an mcp_call is run by OpenAI, its result in the output.
    if (isClientToolCall(it.type)) toolCall = true;
    for (const part of Array.isArray(it.content) ? it.content : []) {
      const p = obj(part);
      const t = typeof p?.text === 'string' ? p.text : typeof p?.transcript === 'string' ? p.transcript : '';
      if (t) text += text ? `\n${t}` : t;
    }
  }
  return { text, toolCall };
}

/** The text of a conversation item the client created (input_text parts, a tool's output). */
function itemText(item: unknown): string {
  const it = obj(item);
  if (!it) return '';
  if (typeof it.output === 'string') return it.output;
  let s = '';
  for (const part of Array.isArray(it.content) ? it.content : []) {
    const p = obj(part);
    const t = typeof p?.text === 'string' ? p.text : typeof p?.transcript === 'string' ? p.transcript : '';
    if (t) s += s ? `\n${t}` : t;
  }
  return s;
}

export class RealtimeMeter {
  /** The session's model, from the URL until session.created / session.updated say it. */
  model: string | null;
  /** The realtime session's id (session.created). */
  sessionId: string | null = null;
  /** The session's input audio transcription model (session or transcription_session created / updated). */
  transcriptionModel: string | null = null;
  /** When each input audio item was committed (input_audio_buffer.committed), until its transcription completes. */
  private readonly committed = new Map<string, number>();
  /** Bytes a second of the session's output audio (its format, from session.created / updated; PCM16 24 kHz else). */
  private audioBytesPerSecond = PCM16_24K_BYTES_PER_SECOND;
  private readonly open = new Map<string, Open>();
  /** The client's response.create events not yet answered by a response.created: when, and their event_id. */
  private readonly pending: { at: number; eventId: string | null }[] = [];
  /** Client text and bytes since the previous response was created. */
  private prompt = '';
  private clientBytes = 0;
  /**
   * Told of each response as it is created (response.created), before any of its output, and of each transcription
   * as it completes, with the model the session says it is of (the session's, or its transcription model).
   */
  onCreated: ((responseId: string, model: string | null) => void) | null = null;

  constructor(
    model: string | null,
    private readonly onResponse: (r: RealtimeResponse) => void,
  ) {
    this.model = model;
  }

  /** A frame from the client, at `at` (epoch ms). */
  client(data: Buffer, binary: boolean, at: number): void {
    this.clientBytes += data.length;
    if (binary) return;
    const type = frameType(data);
    if (type !== null && type !== 'response.create' && type !== 'conversation.item.create') return;
    if (type === null && data.length > MAX_PARSED_UNTYPED) return;
    const e = parse(data);
    if (!e) return;
    if (e.type === 'response.create') {
      if (this.pending.length >= MAX_PENDING) this.pending.shift();
      this.pending.push({ at, eventId: str(e.event_id) });
    } else if (e.type === 'conversation.item.create' && this.prompt.length < MAX_PROMPT_CHARS) {
      const t = itemText(e.item);
      if (t) this.prompt = (this.prompt ? `${this.prompt}\n${t}` : t).slice(0, MAX_PROMPT_CHARS);
    }
  }

  /** A frame from the upstream, at `at` (epoch ms). */
  server(data: Buffer, binary: boolean, at: number): void {
    if (binary) return;
    const type = frameType(data);
    if (type !== null && OUTPUT_DELTAS.has(type)) {
      this.output(data, at, type);
      return;
    }
    for (const o of this.open.values()) o.responseBytes += data.length;
    if (
      type !== null &&
      type !== 'response.created' &&
      type !== 'response.done' &&
      type !== 'session.created' &&
      type !== 'session.updated' &&
      type !== 'error' &&
      type !== 'input_audio_buffer.committed' &&
      type !== TRANSCRIPTION_DONE &&
      type !== 'transcription_session.created' &&
      type !== 'transcription_session.updated'
    )
      return;
    if (type === null && data.length > MAX_PARSED_UNTYPED) return;
    const e = parse(data);
    if (!e) return;
    switch (e.type) {
      case 'session.created':
      case 'session.updated':
      case 'transcription_session.created':
      case 'transcription_session.updated': {
        const s = obj(e.session);
        const model = str(s?.model);
        if (model) this.model = model;
        if (e.type === 'session.created' || e.type === 'transcription_session.created')
          this.sessionId = str(s?.id) ?? this.sessionId;
        // GA: session.audio.input.transcription; beta: session.input_audio_transcription (null: switched off)
        const input = obj(obj(s?.audio)?.input);
        const t = input && 'transcription' in input ? input.transcription : s?.input_audio_transcription;
        if (t !== undefined) this.transcriptionModel = str(obj(t)?.model);
        this.audioBytesPerSecond = outputAudioBytesPerSecond(s) ?? this.audioBytesPerSecond;
        return;
      }
      case 'input_audio_buffer.committed': {
        const item = str(e.item_id);
        if (item === null) return;
        if (this.committed.size >= MAX_COMMITTED) this.committed.delete(this.committed.keys().next().value as string);
        this.committed.set(item, at);
        return;
      }
      case TRANSCRIPTION_DONE:
        this.transcribed(e, at, data.length);
        return;
      case 'response.created': {
        const id = str(obj(e.response)?.id);
        if (id) this.created(id, at, data.length);
        return;
      }
      case 'response.done':
        this.done(obj(e.response), at, data.length);
        return;
      case 'error': {
        // A response.create refused (one already in progress): it will get no response.created.
        const err = obj(e.error);
        const eventId = str(err?.event_id);
        if (eventId !== null) {
          const k = this.pending.findIndex((p) => p.eventId === eventId);
          if (k !== -1) this.pending.splice(k, 1);
        } else if (err?.code === 'conversation_already_has_active_response') {
          // A response.create sent without an event_id (the SDKs send none): the upstream answers events in order,
          // so the refused one is the oldest not yet answered. Left queued, it would start the next response.
          this.pending.shift();
        }
        return;
      }
      default:
        if (OUTPUT_DELTAS.has(e.type as string)) this.output(data, at, e.type as string);
    }
  }

  private created(id: string, at: number, bytes: number): Open {
    const asked = this.pending.shift();
    const o: Open = {
      id,
      startedAt: asked && asked.at <= at ? asked.at : at,
      createdAt: at,
      firstOutputAt: null,
      lastOutputAt: null,
      promptText: this.prompt,
      requestBytes: this.clientBytes,
      responseBytes: bytes,
      streamed: null,
      arguments: null,
      audioBytes: 0,
    };
    this.prompt = '';
    this.clientBytes = 0;
    this.open.set(id, o);
    if (id) this.onCreated?.(id, this.model);
    return o;
  }

  private output(data: Buffer, at: number, type: string): void {
    let o: Open | undefined;
    if (this.open.size === 1) o = this.open.values().next().value;
    else {
      const id = responseIdOf(data);
      o = id === null ? undefined : this.open.get(id);
    }
    if (!o) return;
    o.responseBytes += data.length;
    if (o.firstOutputAt === null) o.firstOutputAt = at;
    o.lastOutputAt = at;
    // Kept (bounded) so that a response the socket's end cuts is counted with its output so far; audio is measured.
    if (AUDIO_DELTAS.has(type)) {
      o.audioBytes += audioDeltaBytes(data);
      return;
    }
    const delta = deltaOf(data);
    if (!delta) return;
    if (type === ARGUMENT_DELTA) {
      o.arguments ??= new BoundedText();
      o.arguments.append(delta);
    } else {
      o.streamed ??= new BoundedText();
      o.streamed.append(delta);
    }
  }

  private done(r: Json | null, at: number, bytes: number): void {
    const id = str(r?.id);
    // A response.done without its response.created (it came before llmscope saw the socket, or the id is missing).
    const o = (id !== null ? this.open.get(id) : undefined) ?? this.created(id ?? '', at, 0);
    this.open.delete(o.id);
    o.responseBytes += bytes;
    const details = obj(r?.status_details);
    const err = obj(details?.error);
    const { usage, audio } = realtimeUsage(r?.usage);
    const out = outputOf(r?.output);
    this.onResponse({
      responseId: o.id || null,
      model: this.model,
      status: str(r?.status) ?? 'completed',
      reason: str(details?.reason),
      errorType: str(err?.code) ?? str(err?.type),
      errorMessage: str(err?.message),
      usage,
      audio,
      startedAt: o.startedAt,
      createdAt: o.createdAt,
      firstOutputAt: o.firstOutputAt,
      lastOutputAt: o.lastOutputAt,
      doneAt: at,
      outputText: out.text,
      promptText: o.promptText,
      toolCall: out.toolCall,
      requestBytes: o.requestBytes,
      responseBytes: o.responseBytes,
    });
  }

  /** An input audio transcription completed: one call of the transcription model, with the usage it reported. */
  private transcribed(e: Json, at: number, bytes: number): void {
    const item = str(e.item_id);
    const id = item ?? str(e.event_id) ?? '';
    const startedAt = (item !== null ? this.committed.get(item) : undefined) ?? at;
    if (item !== null) this.committed.delete(item);
    const u = obj(e.usage);
    let usage: Usage | null = null;
    let audio: RealtimeResponse['audio'] = null;
    let seconds: number | null = null;
    if (u?.type === 'duration') seconds = num(u.seconds);
    else if (u) {
      const details = obj(u.input_token_details);
      usage = {
        inputTokens: num(u.input_tokens),
        outputTokens: num(u.output_tokens),
        cachedInputTokens: 0,
        reasoningTokens: null,
        cacheWriteInputTokens: null,
      };
      const inputAudio = num(details?.audio_tokens);
      if (inputAudio !== null) audio = { input: inputAudio, cachedInput: 0, output: 0 };
    }
    if (id) this.onCreated?.(id, this.transcriptionModel);
    this.onResponse({
      responseId: id || null,
      model: this.transcriptionModel,
      status: 'completed',
      reason: null,
      errorType: null,
      errorMessage: null,
      usage,
      audio,
      transcription: { seconds },
      startedAt,
      createdAt: startedAt,
      firstOutputAt: null,
      lastOutputAt: null,
      doneAt: at,
      outputText: typeof e.transcript === 'string' ? e.transcript : '',
      promptText: '',
      toolCall: false,
      requestBytes: 0,
      responseBytes: bytes,
    });
  }

  /**
   * The socket ended: each response still open is reported as it stands (`open`, no usage, the output it streamed:
   * its text, and its audio as output audio tokens at OUTPUT_AUDIO_TOKENS_PER_SECOND of the session's format).
   */
  end(at: number): void {
    for (const o of [...this.open.values()]) {
      this.open.delete(o.id);
      const text = o.streamed?.kept();
      const args = o.arguments?.kept();
      const audioTokens = Math.ceil((o.audioBytes * OUTPUT_AUDIO_TOKENS_PER_SECOND) / this.audioBytesPerSecond);
      this.onResponse({
        responseId: o.id,
        model: this.model,
        status: 'open',
        reason: null,
        errorType: null,
        errorMessage: null,
        usage: null,
        audio: audioTokens > 0 ? { input: 0, cachedInput: 0, output: audioTokens } : null,
        startedAt: o.startedAt,
        createdAt: o.createdAt,
        firstOutputAt: o.firstOutputAt,
        lastOutputAt: o.lastOutputAt,
        doneAt: at,
        outputText: text?.text ?? '',
        ...(text && text.totalChars !== text.text.length ? { outputChars: text.totalChars } : {}),
        ...(args ? { otherOutputText: args.text, otherOutputChars: args.totalChars } : {}),
        promptText: o.promptText,
        toolCall: false,
        requestBytes: o.requestBytes,
        responseBytes: o.responseBytes,
      });
    }
  }
}
