// The usage of OpenAI's platform calls that report one (decision 108): the GPT image models' `usage` (images
// generations and edits: input tokens, text and image, and output image tokens) and the GPT-4o transcribe models'
// `usage` of type `tokens` (audio and text input tokens, text output tokens). whisper-1's `usage` of type `duration`,
// DALL·E's answers and speech carry no tokens: those calls are recorded without them (cost unknown, not $0).
// Read from the end of the answer only (its last USAGE_TAIL_BYTES), where `usage` comes after the images' base64 or
// the transcript: the answer is relayed as it arrives and never held whole.
import type { Endpoint } from '../../calls/index.js';
import type { Usage } from '../adapter.js';

/** Bytes of a platform call's JSON answer kept (its end) to read its usage from. */
export const USAGE_TAIL_BYTES = 64 * 1024;

/** The platform endpoints whose JSON answer may carry a token usage. */
export const USAGE_ENDPOINTS: ReadonlySet<Endpoint> = new Set<Endpoint>([
  'images.generations',
  'images.edits',
  'audio.transcriptions',
  'audio.translations',
]);

export interface PlatformUsage {
  usage: Usage;
  /** The input tokens that were audio (a transcription's), priced at the model's audio input rate. */
  audioInputTokens: number;
}

const count = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : null;

/**
 * The last top-level-looking `"usage": {...}` object in `text` (the end of a JSON answer), parsed, or null. A quote
 * inside a JSON string is escaped, so `"usage"` preceded by a backslash is text, not a key.
 */
export function lastUsageObject(text: string): Record<string, unknown> | null {
  let at = text.lastIndexOf('"usage"');
  while (at !== -1) {
    if (text[at - 1] !== '\\') {
      let i = at + 7;
      while (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t') i++;
      if (text[i] === ':') {
        i++;
        while (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t') i++;
        if (text[i] === '{') {
          const end = objectEnd(text, i);
          if (end !== -1) {
            try {
              const v = JSON.parse(text.slice(i, end)) as unknown;
              if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
            } catch {
              /* not JSON after all: look further back */
            }
          }
        }
      }
    }
    at = at === 0 ? -1 : text.lastIndexOf('"usage"', at - 1);
  }
  return null;
}

/** The index after the `}` closing the object that opens at `start`, or -1. */
function objectEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return i + 1;
  }
  return -1;
}

/** The token usage a platform call's answer (the end of it, `tail`) reports, or null when it reports none. */
export function platformUsageOf(endpoint: Endpoint, tail: string): PlatformUsage | null {
  if (!USAGE_ENDPOINTS.has(endpoint)) return null;
  const u = lastUsageObject(tail);
  if (!u) return null;
  // A transcription's usage says its type: `tokens` (GPT-4o transcribe) or `duration` (whisper-1: seconds, no tokens).
  if (endpoint.startsWith('audio.') && u.type !== 'tokens') return null;
  const input = count(u.input_tokens);
  const output = count(u.output_tokens);
  if (input === null && output === null) return null;
  const details = (u.input_token_details ?? u.input_tokens_details) as Record<string, unknown> | undefined;
  const audio = endpoint.startsWith('audio.') ? (count(details?.audio_tokens) ?? 0) : 0;
  return {
    usage: {
      inputTokens: input,
      outputTokens: output,
      cachedInputTokens: 0,
      reasoningTokens: null,
      cacheWriteInputTokens: null,
    },
    audioInputTokens: Math.min(audio, input ?? 0),
  };
}

/**
 * The seconds of audio a whisper-1 transcription or translation was billed for (decision 118), from the end of its
 * JSON answer: its `usage` of type `duration` (`seconds`, as it says), else a `verbose_json` answer's `duration`
 * rounded up to a whole second (OpenAI's usage gives whole seconds); null when it says neither (a `text`, `srt` or `vtt` answer, a GPT-4o
 * transcribe model's `tokens` usage).
 */
export function audioSecondsOf(tail: string): number | null {
  const u = lastUsageObject(tail);
  if (u !== null) {
    if (u.type !== 'duration') return null;
    const s = u.seconds;
    return typeof s === 'number' && Number.isFinite(s) && s >= 0 ? s : null;
  }
  // verbose_json: a top-level `"duration": 8.47` (a key, not the escaped text of a transcript)
  const re = /"duration"\s*:\s*(\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;
  for (let m = re.exec(tail); m !== null; m = re.exec(tail)) {
    if (m.index > 0 && tail[m.index - 1] === '\\') continue;
    const v = Number(m[1]);
    return Number.isFinite(v) ? Math.ceil(v) : null;
  }
  return null;
}

/** Bytes kept between chunks while looking for a field (its header, blank line and a short value such as a model's name). */
const FIELD_CARRY = 512;

/**
 * A reader of a multipart body's `model` field (a transcription's, an image edit's), fed the body's chunks as they pass
 * on to the provider: it answers the field's value once the chunks have carried it (at most 256 characters), else
 * null; after answering it reads nothing more. Only the bytes around the field are looked at (a carry of FIELD_CARRY
 * between chunks), never the body whole.
 */
export function formModelReader(): (chunk: Buffer) => string | null {
  return formFieldReader('model');
}

/**
 * A reader of one short field of a multipart body (formModelReader's, for any field: an image edit's `n`, `size`,
 * `quality`), fed the body's chunks as they pass; its value once the chunks have carried it, else null.
 */
export function formFieldReader(field: string, boundary?: string | null): (chunk: Buffer) => string | null {
  if (boundary) return partFieldReader(field, boundary);
  const NAME = Buffer.from(`name="${field}"`);
  let carry: Buffer = Buffer.alloc(0);
  let done = false;
  return (chunk) => {
    if (done) return null;
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    const at = buf.indexOf(NAME);
    if (at !== -1) {
      const blank = buf.indexOf('\r\n\r\n', at);
      const end = blank === -1 ? -1 : buf.indexOf('\r\n', blank + 4);
      if (end !== -1) {
        done = true;
        carry = Buffer.alloc(0);
        const value = buf.toString('utf8', blank + 4, end).trim();
        return value ? value.slice(0, 256) : null;
      }
      if (buf.length - at > FIELD_CARRY) {
        // Not a short field after all: look on past it.
        carry = Buffer.from(buf.subarray(buf.length - FIELD_CARRY));
        return null;
      }
      carry = Buffer.from(buf.subarray(at));
      return null;
    }
    carry = Buffer.from(buf.subarray(Math.max(0, buf.length - NAME.length)));
    return null;
  };
}

/** A multipart content type's boundary, or null. */
export function multipartBoundary(contentType: string): string | null {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return m?.[1] ?? m?.[2] ?? null;
}

/**
 * formFieldReader with the form's boundary: the field is only a part's, named in the headers that follow a delimiter
 * (CRLF, `--`, the boundary, CRLF), by its `name` parameter (not a `filename="model"`), its value the part's body up to
 * the next delimiter. Without it, `name="model"` anywhere in an uploaded file's bytes was read as the form's model, and
 * admission (decision 137) asked the key and the budgets about a model the provider never ran.
 */
function partFieldReader(field: string, boundary: string): (chunk: Buffer) => string | null {
  const DELIM = Buffer.from(`\r\n--${boundary}\r\n`);
  const END = Buffer.from(`\r\n--${boundary}`);
  const escaped = field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const NAMED = new RegExp(`^content-disposition:[^\\r\\n]*;\\s*name="${escaped}"`, 'im');
  // the body's first delimiter has no CRLF before it: one is put there
  let carry: Buffer = Buffer.from('\r\n');
  let done = false;
  return (chunk) => {
    if (done) return null;
    const buf = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
    let from = 0;
    for (;;) {
      const at = buf.indexOf(DELIM, from);
      if (at === -1) {
        carry = Buffer.from(buf.subarray(Math.max(from, buf.length - DELIM.length + 1)));
        return null;
      }
      const head = at + DELIM.length;
      const blank = buf.indexOf('\r\n\r\n', head);
      if (blank === -1) {
        // a part's headers are short: past FIELD_CARRY, not a part to read
        if (buf.length - head > FIELD_CARRY) {
          from = head;
          continue;
        }
        carry = Buffer.from(buf.subarray(at));
        return null;
      }
      if (!NAMED.test(buf.toString('latin1', head, blank))) {
        from = blank + 4;
        continue;
      }
      const end = buf.indexOf(END, blank + 4);
      if (end === -1) {
        if (buf.length - (blank + 4) > FIELD_CARRY) {
          from = blank + 4;
          continue;
        }
        carry = Buffer.from(buf.subarray(at));
        return null;
      }
      done = true;
      carry = Buffer.alloc(0);
      const value = buf.toString('utf8', blank + 4, end).trim();
      return value ? value.slice(0, 256) : null;
    }
  };
}
