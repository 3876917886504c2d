// Deterministic text for the simulator: a seeded PRNG, pseudo-English built from single-token words (so every
// streamed chunk is exactly one o200k_base token and re-tokenizing the output gives back the usage count),
// refusal phrasings, arbitrary text split into token chunks, and prompt token counting.
import { decodeGenerator, encode } from 'gpt-tokenizer/encoding/o200k_base';
import { forEachTokenPiece } from '../calls/token-pieces.js';

const NO_SPECIAL = { disallowedSpecial: new Set<string>() };

/**
 * The o200k_base tokens of `text`, in time linear in its length (exact for text without runs of 129+ like
 * characters): cut into pieces as llmscope's own counting cuts it (src/calls/token-pieces.ts).
 */
export function encodeText(text: string): number[] {
  const ids: number[] = [];
  forEachTokenPiece(text, (from, to) => {
    for (const id of encode(from === 0 && to === text.length ? text : text.slice(from, to), NO_SPECIAL)) ids.push(id);
  });
  return ids;
}

/** A PRNG returning floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for simulation; the same seed gives the same sequence. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of strings (FNV-1a mixed with a seed), used to derive per-request seeds. */
export function hash32(seed: number, ...parts: string[]): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      h ^= part.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    h ^= 0xff; // separator, so ('ab','c') and ('a','bc') differ
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export const randInt = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
export const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng() * items.length)]!;

/** A standard normal draw (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng(); // (0, 1], so log() is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

// Every entry is one o200k_base token with a leading space (text.test.ts checks it), and so is every starter
// with or without the space. Sentences are starter + words (+ an optional comma) + '.', all single tokens.
export const WORDS: readonly string[] = (
  'the a of to and in is that for it as with on by this be are from at an we our can will which more data ' +
  'model system service request response latency token user team cost each time value these those when where ' +
  'how what new first other most many also only some any every into over under after before while between ' +
  'through about across often usually quickly clearly simply really always never still just however because ' +
  'rather than then there here very well better best good great large small fast slow simple complex common ' +
  'useful important different similar specific general local global public private open stable main core key ' +
  'real high low long short full part whole early late recent current next last final single multiple several ' +
  'various network server client cache queue store record metric trace log alert rule budget price call stream ' +
  'chunk batch limit rate error result answer question context document source search query index field table ' +
  'page view report chart graph note step plan goal task project product feature release version update change ' +
  'issue test check build deploy run scale load traffic signal pattern trend window level range share count ' +
  'total average mean median peak spike drop growth measure monitor track observe explain describe compare ' +
  'improve reduce increase keep make take give find show help use need want know think see look work learn ' +
  'read write send receive return handle process support provide include allow require ensure follow create ' +
  'start stop move hold turn bring let seem become remain stay grow fall rise add remove set get'
).split(' ');

export const STARTERS: readonly string[] = [
  'The',
  'This',
  'In',
  'We',
  'It',
  'Our',
  'Each',
  'Most',
  'When',
  'Many',
  'Some',
  'These',
  'For',
  'With',
  'However',
  'Every',
  'Overall',
  'Finally',
];
const SHORT_SENTENCES: readonly string[] = ['Yes', 'Sure', 'Done', 'Okay', 'Certainly', 'Indeed'];

/**
 * Exactly `n` tokens of pseudo-English, one token string per entry, fully determined by `seed` and `n`.
 * Sentences end with '.', so a complete output ends with one.
 */
export function generateTokens(seed: number, n: number): string[] {
  const rng = mulberry32(seed);
  const out: string[] = [];
  const space = () => (out.length === 0 ? '' : ' ');
  let remaining = n;
  while (remaining > 0) {
    // The last sentence takes whatever is left; earlier ones are 6–16 tokens and leave at least 3.
    const len = remaining <= 20 ? remaining : randInt(rng, 6, 16);
    if (len === 1) {
      out.push(space() + pick(rng, SHORT_SENTENCES));
    } else if (len === 2) {
      out.push(space() + pick(rng, SHORT_SENTENCES), '.');
    } else {
      out.push(space() + pick(rng, STARTERS));
      const middle = len - 2;
      // One comma in a sentence of 6 or more tokens, now and then, never next to the starter or the period.
      const comma = middle >= 4 && rng() < 0.35 ? randInt(rng, 1, middle - 2) : -1;
      for (let i = 0; i < middle; i++) out.push(i === comma ? ',' : ` ${pick(rng, WORDS)}`);
      out.push('.');
    }
    remaining -= len;
  }
  return out;
}

/** Pseudo-English of about `words` words, for prompts (traffic generator). */
export function prose(rng: Rng, words: number): string {
  return generateTokens(Math.floor(rng() * 2 ** 32), Math.max(1, words)).join('');
}

/** How models decline. ASCII apostrophes keep each token decodable on its own. */
export const REFUSALS: readonly string[] = [
  "I'm sorry, but I can't help with that.",
  "I'm sorry, but I can't assist with that request.",
  "I can't help with that.",
  "Sorry, I can't comply with that request.",
  "I'm unable to help with that request.",
  "I'm sorry, but I cannot provide that information.",
];

/** Text split into streamable chunks: `tokens[i]` is how many tokens chunk `i` carries. */
export interface TokenChunks {
  chunks: string[];
  tokens: number[];
}

/**
 * Splits text into real o200k_base tokens, one chunk per token. Where a character spans several tokens (some
 * emoji, rare CJK), those tokens travel together in one chunk so no chunk carries half a character.
 */
export function tokenChunks(text: string): TokenChunks {
  const ids = encodeText(text);
  const out = splitDecoded(ids);
  // gpt-tokenizer decodes through one shared streaming TextDecoder; bytes some other caller left pending there
  // would prefix our first chunk. Whole texts leave it clean, so a second pass is exact.
  return out.chunks.join('') === text ? out : splitDecoded(ids);
}

function splitDecoded(ids: number[]): TokenChunks {
  const out: TokenChunks = { chunks: [], tokens: [] };
  // decodeGenerator yields once it has whole characters; counting the ids it pulled between yields tells how many
  // tokens each piece holds. (decode() on a partial character would leave bytes in that shared decoder.)
  let pulled = 0;
  let before = 0;
  const counted = (function* () {
    for (const id of ids) {
      pulled++;
      yield id;
    }
  })();
  for (const piece of decodeGenerator(counted)) {
    out.chunks.push(piece);
    out.tokens.push(pulled - before);
    before = pulled;
  }
  if (pulled > before && out.tokens.length > 0) out.tokens[out.tokens.length - 1]! += pulled - before;
  return out;
}

export function countTokens(text: string): number {
  return text ? encodeText(text).length : 0;
}

/**
 * Prompt tokens of a chat request, counted as OpenAI's cookbook does for gpt-4o-class models: 3 tokens of framing
 * per message, +1 for a name, +3 to prime the reply; text parts are counted, each image part as 85 (low detail).
 */
export function countChatTokens(messages: readonly unknown[]): number {
  let total = 3;
  for (const m of messages) {
    total += 3;
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    if (typeof msg.role === 'string') total += countTokens(msg.role);
    if (typeof msg.name === 'string') total += countTokens(msg.name) + 1;
    if (typeof msg.content === 'string') total += countTokens(msg.content);
    else if (Array.isArray(msg.content)) {
      for (const part of msg.content) {
        const p = (typeof part === 'object' && part !== null ? part : {}) as Record<string, unknown>;
        if (typeof p.text === 'string') total += countTokens(p.text);
        else if (p.type === 'image_url') total += 85;
      }
    }
    // A tool call is billed as the tool's name and its arguments (not the JSON of its id and type)
    if (Array.isArray(msg.tool_calls))
      for (const tc of msg.tool_calls) {
        const f = (tc as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
        if (typeof f?.name === 'string') total += countTokens(f.name);
        if (typeof f?.arguments === 'string') total += countTokens(f.arguments);
      }
    else if (msg.tool_calls !== undefined) total += countTokens(JSON.stringify(msg.tool_calls));
  }
  return total;
}

/** The text of a message's content (string or text parts), for markers like `[[llmscope-judge]]`. */
export function messageText(message: unknown): string {
  if (typeof message !== 'object' || message === null) return '';
  const content = (message as Record<string, unknown>).content;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let s = '';
  for (const part of content) {
    if (typeof part === 'object' && part !== null && typeof (part as { text?: unknown }).text === 'string') {
      s += (part as { text: string }).text;
    }
  }
  return s;
}
