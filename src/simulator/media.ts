// OpenAI's image, audio and batch APIs, in their wire shapes (the openai SDK's types: resources/images.d.ts,
// audio/*.d.ts, batches.d.ts), so an app that draws images, speaks or transcribes runs against the simulator (and
// through llmscope, which records and prices those calls) offline. Nothing is drawn or heard: an image is a 1x1 PNG,
// speech is silence sized to its text, a transcription a sentence derived from the audio's bytes; the usage each
// answer reports follows OpenAI's rules (gpt-image-1's output tokens by size and quality, whisper-1's duration,
// gpt-4o-transcribe's tokens), so what llmscope prices from it is what OpenAI would bill for such a call.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { type FileStore, readForm, sendJson } from './files.js';
import { hash32 } from './text.js';
import { invalidRequest } from './wire.js';

/** A 1x1 transparent PNG: every image the simulator draws. */
const PNG_1X1 = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/**
 * gpt-image-1's output tokens per image, by quality and size (OpenAI's image generation guide, "Cost and latency":
 * https://platform.openai.com/docs/guides/image-generation#cost-and-latency).
 */
const IMAGE_TOKENS: Record<string, Record<string, number>> = {
  low: { '1024x1024': 272, '1024x1536': 408, '1536x1024': 400 },
  medium: { '1024x1024': 1056, '1024x1536': 1584, '1536x1024': 1568 },
  high: { '1024x1024': 4160, '1024x1536': 6240, '1536x1024': 6208 },
};

/** Audio bytes a second of speech takes in the simulator's answers (24 kHz, 16-bit mono PCM, as OpenAI's `pcm`). */
const PCM_BYTES_PER_S = 48_000;
/** Characters of text a second of speech says (about 15, English at a normal pace). */
const CHARS_PER_S = 15;

const SPEECH_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/ogg',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

interface Batch {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: null;
  input_file_id: string;
  completion_window: string;
  status: string;
  output_file_id: null;
  error_file_id: null;
  created_at: number;
  in_progress_at: null;
  expires_at: number;
  finalizing_at: null;
  completed_at: null;
  failed_at: null;
  expired_at: null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

/** The simulator's batches, in creation order (bounded: the oldest dropped past MAX_BATCHES). */
export class BatchStore {
  readonly batches = new Map<string, Batch>();
  add(b: Batch): void {
    this.batches.set(b.id, b);
    if (this.batches.size > MAX_BATCHES) this.batches.delete(this.batches.keys().next().value as string);
  }
}
const MAX_BATCHES = 1000;

const BATCHES = /^\/v1\/batches(?:\/([^/]+)(\/cancel)?)?$/;
const MEDIA = new Set([
  '/v1/images/generations',
  '/v1/images/edits',
  '/v1/images/variations',
  '/v1/audio/speech',
  '/v1/audio/transcriptions',
  '/v1/audio/translations',
]);

/** True when `method path` is one of the image, audio or batch routes `handleMedia` answers. */
export function isMediaRoute(method: string, path: string): boolean {
  if (MEDIA.has(path)) return method === 'POST';
  const m = BATCHES.exec(path);
  if (!m) return false;
  if (!m[1]) return method === 'POST' || method === 'GET';
  return m[2] ? method === 'POST' : method === 'GET';
}

function parseJson(raw: Buffer): Record<string, unknown> | null {
  try {
    const v = JSON.parse(raw.toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** Tokens of a text as the simulator counts a prompt's (about 4 characters a token, at least 1). */
const textTokens = (s: string): number => Math.max(1, Math.ceil(s.length / 4));

/** Answers an image, audio or batch request (`isMediaRoute`); `raw` is its body (JSON, or multipart for audio). */
export async function handleMedia(
  files: FileStore,
  batches: BatchStore,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
  raw: Buffer,
  seed: number,
): Promise<void> {
  const method = req.method ?? 'GET';
  if (path === '/v1/images/generations') return generateImage(res, parseJson(raw));
  if (path === '/v1/images/edits' || path === '/v1/images/variations')
    return editImage(req, res, raw, path.endsWith('variations'));
  if (path === '/v1/audio/speech') return speak(res, raw);
  if (path === '/v1/audio/transcriptions' || path === '/v1/audio/translations')
    return transcribe(req, res, raw, seed, path.endsWith('translations'));
  const m = BATCHES.exec(path) as RegExpExecArray;
  const id = m[1] ? decodeURIComponent(m[1]) : null;
  if (id === null && method === 'POST') return createBatch(files, batches, res, raw);
  if (id === null) {
    const all = [...batches.batches.values()].reverse();
    const after = query.get('after');
    const from = after ? all.findIndex((b) => b.id === after) + 1 : 0;
    const rest = from === 0 && after ? [] : all.slice(from);
    const limit = Math.min(Math.max(Number(query.get('limit') ?? 20) || 20, 1), 100);
    const page = rest.slice(0, limit);
    return sendJson(res, 200, {
      object: 'list',
      data: page,
      first_id: page[0]?.id ?? null,
      last_id: page.at(-1)?.id ?? null,
      has_more: rest.length > page.length,
    });
  }
  const b = batches.batches.get(id);
  if (!b) return sendJson(res, 404, invalidRequest(`No batch found with id '${id}'.`, 'batch_id'));
  if (m[2] && b.status !== 'cancelled') {
    b.status = 'cancelled';
    b.cancelling_at = b.cancelled_at = Math.floor(Date.now() / 1000);
  }
  return sendJson(res, 200, b);
}

/**
 * An image edit or variation (multipart: the image, and for an edit its prompt): answered as a generation of the same
 * fields is (DALL·E: URLs, no usage; a GPT image model: base64 and its tokens). A variation is dall-e-2's only.
 */
async function editImage(req: IncomingMessage, res: ServerResponse, raw: Buffer, variation: boolean): Promise<void> {
  const form = await readForm(req, res, raw, 'The image');
  if (form === null) return;
  if (!(form.get('image') instanceof Blob) && !(form.get('image[]') instanceof Blob))
    return sendJson(res, 400, invalidRequest("Missing required parameter: 'image'.", 'image'));
  const body: Record<string, unknown> = {};
  for (const k of ['model', 'prompt', 'size', 'quality', 'response_format']) {
    const v = form.get(k);
    if (typeof v === 'string' && v) body[k] = v;
  }
  const n = form.get('n');
  if (typeof n === 'string' && n) body.n = Number(n);
  if (variation) {
    body.model ??= 'dall-e-2';
    body.prompt = 'a variation';
  }
  return generateImage(res, body);
}

function generateImage(res: ServerResponse, body: Record<string, unknown> | null) {
  if (!body) return sendJson(res, 400, invalidRequest('We could not parse the JSON body of your request.'));
  const prompt = body.prompt;
  if (typeof prompt !== 'string' || !prompt)
    return sendJson(res, 400, invalidRequest("Missing required parameter: 'prompt'.", 'prompt'));
  const model = typeof body.model === 'string' && body.model ? body.model : 'dall-e-2';
  const n = typeof body.n === 'number' && body.n >= 1 ? Math.min(Math.floor(body.n), 10) : 1;
  const created = Math.floor(Date.now() / 1000);
  if (model.startsWith('dall-e')) {
    // DALL·E: a URL unless b64_json is asked for; no usage (billed per image by size and quality).
    const b64 = body.response_format === 'b64_json';
    const data = Array.from({ length: n }, () => ({
      ...(b64
        ? { b64_json: PNG_1X1 }
        : { url: `https://simulator.invalid/images/${randomBytes(8).toString('hex')}.png` }),
      ...(model === 'dall-e-3' ? { revised_prompt: prompt } : {}),
    }));
    return sendJson(res, 200, { created, data });
  }
  // The GPT image models: base64 always, and the tokens billed.
  const size = typeof body.size === 'string' && body.size !== 'auto' ? body.size : '1024x1024';
  const quality = typeof body.quality === 'string' && body.quality !== 'auto' ? body.quality : 'medium';
  const perImage = IMAGE_TOKENS[quality]?.[size];
  if (perImage === undefined)
    return sendJson(
      res,
      400,
      invalidRequest(
        `Invalid size or quality: '${size}', '${quality}'. Supported sizes are 1024x1024, 1024x1536, 1536x1024 and auto; qualities low, medium, high and auto.`,
        'size',
      ),
    );
  const input = textTokens(prompt);
  const output = perImage * n;
  return sendJson(res, 200, {
    created,
    background: 'opaque',
    data: Array.from({ length: n }, () => ({ b64_json: PNG_1X1 })),
    output_format: typeof body.output_format === 'string' ? body.output_format : 'png',
    quality,
    size,
    usage: {
      input_tokens: input,
      input_tokens_details: { image_tokens: 0, text_tokens: input },
      output_tokens: output,
      total_tokens: input + output,
    },
  });
}

function speak(res: ServerResponse, raw: Buffer) {
  const body = parseJson(raw);
  if (!body) return sendJson(res, 400, invalidRequest('We could not parse the JSON body of your request.'));
  const input = body.input;
  if (typeof input !== 'string' || !input)
    return sendJson(res, 400, invalidRequest("Missing required parameter: 'input'.", 'input'));
  if (input.length > 4096)
    return sendJson(
      res,
      400,
      invalidRequest(
        `[{'type': 'string_too_long', 'loc': ('body', 'input'), 'msg': 'String should have at most 4096 characters'}]`,
        'input',
      ),
    );
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
  const type = SPEECH_TYPES[format];
  if (type === undefined)
    return sendJson(res, 400, invalidRequest(`Invalid response_format: '${format}'.`, 'response_format'));
  // Silence as long as the text would take to say (at most a minute's worth of bytes: it is a stand-in).
  const seconds = Math.min(60, Math.max(0.5, input.length / CHARS_PER_S));
  const pcm = Buffer.alloc(Math.round(seconds * PCM_BYTES_PER_S));
  const audio = format === 'wav' ? Buffer.concat([wavHeader(pcm.length), pcm]) : pcm;
  if (res.destroyed) return;
  res.writeHead(200, { 'content-type': type, 'content-length': audio.length });
  res.end(audio);
}

/** A 44-byte WAV header for `bytes` of 24 kHz 16-bit mono PCM. */
function wavHeader(bytes: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + bytes, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(24_000, 24);
  h.writeUInt32LE(PCM_BYTES_PER_S, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(bytes, 40);
  return h;
}

/** Seconds of audio in a file: a WAV's from its header, anything else at 16 kB a second (128 kbit/s MP3). */
function durationOf(audio: Buffer): number {
  if (audio.length >= 44 && audio.toString('latin1', 0, 4) === 'RIFF' && audio.toString('latin1', 8, 12) === 'WAVE') {
    const byteRate = audio.readUInt32LE(28);
    if (byteRate > 0) return (audio.length - 44) / byteRate;
  }
  return audio.length / 16_000;
}

const WORDS = ['the', 'call', 'was', 'recorded', 'and', 'priced', 'by', 'llmscope', 'every', 'word', 'counts', 'here'];

async function transcribe(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  seed: number,
  translation: boolean,
): Promise<void> {
  const form = await readForm(req, res, raw, 'The audio file');
  if (form === null) return;
  const file = form.get('file');
  const model = form.get('model');
  if (!(file instanceof Blob)) return sendJson(res, 400, invalidRequest("Missing required parameter: 'file'.", 'file'));
  if (typeof model !== 'string' || !model)
    return sendJson(res, 400, invalidRequest("Missing required parameter: 'model'.", 'model'));
  const audio = Buffer.from(await file.arrayBuffer());
  const seconds = durationOf(audio);
  // A sentence of 3 words a second of audio (at least 3), chosen by the audio's bytes: the same audio, the same text.
  const count = Math.max(3, Math.min(200, Math.round(seconds * 3)));
  const h = hash32(seed, 'transcribe', audio.subarray(0, 4096).toString('latin1'));
  const words = Array.from({ length: count }, (_, i) => WORDS[(h + i * 7) % WORDS.length] as string);
  const text = `${words.join(' ').replace(/^./, (c) => c.toUpperCase())}.`;
  const format = form.get('response_format');
  if (format === 'text' || format === 'srt' || format === 'vtt') {
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(`${text}\n`);
    return;
  }
  if (translation || format === 'verbose_json') {
    const out: Record<string, unknown> = { text };
    if (format === 'verbose_json')
      Object.assign(out, { task: translation ? 'translate' : 'transcribe', language: 'english', duration: seconds });
    if (!translation && model === 'whisper-1') out.usage = { type: 'duration', seconds: Math.ceil(seconds) };
    return sendJson(res, 200, out);
  }
  if (model === 'whisper-1')
    return sendJson(res, 200, { text, usage: { type: 'duration', seconds: Math.ceil(seconds) } });
  // The GPT-4o transcribe models bill tokens: the audio's (about 10 a second), the prompt's text, and the text's.
  const prompt = form.get('prompt');
  const audioTokens = Math.max(1, Math.ceil(seconds * 10));
  const promptTokens = typeof prompt === 'string' && prompt ? textTokens(prompt) : 0;
  const output = textTokens(text);
  return sendJson(res, 200, {
    text,
    usage: {
      type: 'tokens',
      input_tokens: audioTokens + promptTokens,
      input_token_details: { text_tokens: promptTokens, audio_tokens: audioTokens },
      output_tokens: output,
      total_tokens: audioTokens + promptTokens + output,
    },
  });
}

function createBatch(files: FileStore, batches: BatchStore, res: ServerResponse, raw: Buffer) {
  const body = parseJson(raw);
  if (!body) return sendJson(res, 400, invalidRequest('We could not parse the JSON body of your request.'));
  for (const p of ['input_file_id', 'endpoint', 'completion_window'])
    if (typeof body[p] !== 'string' || !body[p])
      return sendJson(res, 400, invalidRequest(`Missing required parameter: '${p}'.`, p));
  const fileId = body.input_file_id as string;
  if (!files.get(fileId))
    return sendJson(res, 400, invalidRequest(`Invalid 'input_file_id': '${fileId}'. File not found.`, 'input_file_id'));
  const created = Math.floor(Date.now() / 1000);
  const b: Batch = {
    id: `batch_${randomBytes(16).toString('hex')}`,
    object: 'batch',
    endpoint: body.endpoint as string,
    errors: null,
    input_file_id: fileId,
    completion_window: body.completion_window as string,
    status: 'validating',
    output_file_id: null,
    error_file_id: null,
    created_at: created,
    in_progress_at: null,
    expires_at: created + 86_400,
    finalizing_at: null,
    completed_at: null,
    failed_at: null,
    expired_at: null,
    cancelling_at: null,
    cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 },
    metadata: body.metadata && typeof body.metadata === 'object' ? (body.metadata as Record<string, string>) : null,
  };
  batches.add(b);
  return sendJson(res, 200, b);
}
