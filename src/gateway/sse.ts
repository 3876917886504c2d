// Server-sent events metering for pass-through streams. Bytes go to the client as they arrive; events are
// split and read beside them. When llmscope itself asked for usage, the extra usage chunk and the
// `"usage":null` fields it caused are removed, so the client sees exactly what it would have seen direct.
// The metering is bounded whatever the upstream sends: the text kept is a BoundedText, an event longer than
// MAX_EVENT_CHARS is passed through as it comes and skimmed (its JSON parsed piece by piece with long strings cut,
// so the usage at the end of a Responses `response.completed` holding a generated image is read), and if reading
// ever fails the bytes still flow, unread.
import { isAscii } from 'node:buffer';
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../calls/index.js';
import { JsonStreamParser, type SkimLimits } from '../http/json-stream.js';
import type { StreamReader } from '../providers/index.js';
import { openaiCompatible, StreamTally, tallyChunk } from '../providers/index.js';
import { stringAt, stringEnd } from '../providers/scan.js';

const EVENT_END = /\r?\n\r?\n/g;
const USAGE_NULL = /,"usage":null|"usage":null,?/g;
const USAGE_NULL_TEXT = '"usage":null';
const USAGE_NULL_WORD = 'usage":null';
/** Longest event read; a longer one (no blank line in sight) goes to the client as it comes, unread. */
export const MAX_EVENT_CHARS = 1024 * 1024;
/** What of an overlong event's JSON is kept while it is skimmed: the first 64K characters of each string. */
export const SKIM: SkimLimits = { maxStringChars: 64 * 1024, maxValues: 100_000 };

export class StreamMeter extends StreamTally {
  events = 0;
  done = false;
  /** Events passed through unread because they were longer than MAX_EVENT_CHARS. */
  overlong = 0;
  /** Set when reading failed: from then on bytes pass through unread (the call keeps what was read before). */
  failure: Error | null = null;
  private readonly decoder = new StringDecoder('utf8');
  /** The decoder holds no unfinished character (see decode). */
  private decoderClean = true;
  private carry = '';
  /** Inside an overlong event: pass text through until the blank line that ends it. */
  private skipping = false;
  /** The overlong event's data being skimmed, while it is one JSON data line that parses within SKIM. */
  private skim: JsonStreamParser | null = null;
  /**
   * The last plain text delta read (StreamReader's textStart), as its event's text before the text's string (`data:`
   * and the data up to the string) and after it (from its closing quote to the blank line): an event made of these
   * around another string is read in place (`repeat`), without cutting it out and reading it again.
   */
  private repeatHead: string | null = null;
  /** From the text's closing quote to the free string's first character (StreamReader's freeStart), when it has one. */
  private repeatMid: string | null = null;
  private repeatTail = '';
  /**
   * repeatTail and repeatHead joined: a run of repeats is checked with one comparison an event (its tail and the next
   * event's head together) instead of two; `headAt` is where that found the next head, in the text being read (-1: none).
   */
  private repeatTailHead = '';
  private headAt = -1;
  /**
   * When filtering: repeatTail with its `,"usage":null` cut, when that member is in the tail alone (as withoutUsageNull
   * would cut it from the whole event), or the tail itself when the event has none; null otherwise (each event is
   * then filtered whole). `repeatTailAt`: where `repeat` found the tail.
   */
  private repeatTailCut: string | null = null;
  private repeatTailAt = 0;
  /** Else repeatMid with the `,"usage":null` cut, when it is there alone (OpenAI's: usage, then obfuscation). */
  private repeatMidCut: string | null = null;
  /** Where `repeat` found the text's closing quote (the middle's start). */
  private repeatTextEnd = 0;

  private readonly reader: StreamReader;

  /**
   * `filterUsage`: strip the usage llmscope asked for on the client's behalf. `reader` reads the events' data in the
   * call's wire format (default: OpenAI-compatible for `endpoint`).
   */
  constructor(
    endpoint: Endpoint,
    readonly filterUsage: boolean,
    reader?: StreamReader,
  ) {
    super();
    this.reader = reader ?? openaiCompatible.openaiCompatibleAdapter.streamReader(endpoint);
  }

  /**
   * Reads a chunk that arrived at `at` (epoch ms). Returns what to forward: the chunk itself when not filtering;
   * otherwise the complete events in it, filtered (possibly '').
   */
  push(chunk: Buffer, at: number): Buffer | string {
    if (this.failure) return this.filterUsage ? this.decode(chunk) : chunk;
    let text = this.decode(chunk);
    let out = '';
    if (this.skipping) {
      // The rest of an overlong event, up to and including the blank line that ends it, passes unread.
      const end = eventEnd(text);
      if (end === -1) {
        this.skimOn(text);
        return this.filterUsage ? text : chunk;
      }
      this.skipping = false;
      this.skimOn(text.slice(0, end));
      this.skimEnd(at);
      if (this.filterUsage) out = text.slice(0, end);
      text = text.slice(end);
    }
    try {
      out += this.read(text, at);
    } catch (err) {
      // llmscope's own bookkeeping never ends or slows the client's stream: what was not sent yet goes unread.
      this.failure = err instanceof Error ? err : new Error(String(err));
      const rest = this.carry;
      this.carry = '';
      return this.filterUsage ? out + rest : chunk;
    }
    return this.filterUsage ? out : chunk;
  }

  /**
   * The chunk as text. A chunk of ASCII alone is its bytes as they are (a Latin-1 copy, no UTF-8 decoding: half the
   * time), when the decoder holds no unfinished character: it holds none unless the last chunk it decoded ended in a
   * byte of a multi-byte one.
   */
  private decode(chunk: Buffer): string {
    if (this.decoderClean && isAscii(chunk)) return chunk.toString('latin1');
    this.decoderClean = chunk.length === 0 ? this.decoderClean : (chunk[chunk.length - 1] as number) < 0x80;
    return this.decoder.write(chunk);
  }

  /** Reads the complete events in carry + `text`; returns them (filtered) when filtering, else ''. */
  private read(text: string, at: number): string {
    const carry = this.carry.length > 0 ? this.carry + text : text;
    this.carry = carry;
    this.headAt = -1;
    let out = '';
    let start = 0;
    const crlf = carry.includes('\r');
    for (;;) {
      // A text delta like the last one, read where it is (not without CRs: the plain search below finds the same end).
      const repeat = this.repeatHead !== null && !crlf ? this.repeat(carry, start, at) : -1;
      if (repeat !== -1) {
        if (this.filterUsage) {
          const cut = this.repeatTailCut;
          const midCut = this.repeatMidCut;
          if (cut !== null) out += carry.slice(start, this.repeatTailAt) + cut;
          else if (midCut !== null) {
            const e = this.repeatTextEnd;
            out += carry.slice(start, e) + midCut + carry.slice(e + (this.repeatMid as string).length, repeat);
          } else {
            const raw = carry.slice(start, repeat);
            const keep = withoutUsageNull(raw);
            out += keep === true ? raw : keep;
          }
        }
        start = repeat;
        continue;
      }
      const end = eventEnd(carry, start, crlf);
      if (end === -1) break;
      const raw = carry.slice(start, end);
      const keep = this.onEvent(raw, at, crlf);
      if (this.filterUsage && keep) out += keep === true ? raw : keep;
      start = end;
    }
    this.carry = start === 0 ? carry : carry.slice(start);
    if (this.carry.length > MAX_EVENT_CHARS) {
      // No event end in a megabyte: pass the event on unread (and the rest of it as it comes).
      this.overlong++;
      if (this.filterUsage) out += this.carry;
      this.skimStart(this.carry);
      this.carry = '';
      this.skipping = true;
    }
    return out;
  }

  /** Whatever is left when the upstream ends (an unterminated last event). */
  end(at: number): string {
    const rest = this.carry + this.decoder.end();
    this.carry = '';
    if (!rest) return '';
    if (this.skipping && !this.failure) {
      this.skimOn(rest);
      this.skimEnd(at);
    }
    if (this.failure || this.skipping) return this.filterUsage ? rest : '';
    let keep: boolean | string;
    try {
      keep = this.onEvent(rest, at);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
      keep = true;
    }
    if (!this.filterUsage) return '';
    return keep === true ? rest : keep || '';
  }

  /** Starts skimming an overlong event from its start (`text`), when its data is JSON on one `data:` line. */
  private skimStart(text: string): void {
    const at = text.slice(0, 5) === 'data:' ? 0 : text.indexOf('\ndata:') + 1;
    if (at === 0 && text.slice(0, 5) !== 'data:') return;
    this.skim = new JsonStreamParser(SKIM);
    this.skimOn(text.slice(text[at + 5] === ' ' ? at + 6 : at + 5));
  }

  /** Feeds more of the overlong event (its end included: the blank line is whitespace to JSON). */
  private skimOn(text: string): void {
    if (this.skim === null) return;
    try {
      this.skim.write(text);
    } catch {
      this.skim = null; // not one JSON data line, or past SKIM: passed on unread, as before
    }
  }

  /** The skimmed event read as its format's event, its long strings cut (never filtered: it was passed on). */
  private skimEnd(at: number): void {
    const skim = this.skim;
    this.skim = null;
    if (skim === null) return;
    try {
      const info = this.reader.read(JSON.stringify(skim.end()));
      if (info === null) return;
      this.events++;
      tallyChunk(this, info, at);
    } catch {
      /* not JSON after all: unread */
    }
  }

  /**
   * Returns false to drop the event, true to keep it as is, or a replacement. `crlf`: false when the text the event was
   * cut from has no CR (then neither has the event, and dataOf need not search it for one).
   */
  private onEvent(raw: string, at: number, crlf = true): boolean | string {
    const data = dataOf(raw, crlf);
    if (!data) return true;
    if (data === '[DONE]') {
      this.done = true;
      return true;
    }
    // The format's reader: OpenAI's reads the common text delta without parsing it (fastChunkInfo).
    const reader = this.reader;
    const info = reader.read(data);
    if (info === null) return true;
    this.events++;
    tallyChunk(this, info, at);
    // A plain text delta in the plain form (`data:`, its one line, the blank line; no CR): the next like it are read
    // in place.
    const textStart = reader.textStart;
    if (textStart !== undefined && textStart !== -1 && !crlf && raw.indexOf('\n') === raw.length - 2) {
      const off = raw.length - 2 - data.length;
      const textEnd = off + (reader.textEnd as number);
      const freeStart = reader.freeStart ?? -1;
      this.repeatHead = raw.slice(0, off + textStart);
      this.repeatMid = freeStart === -1 ? null : raw.slice(textEnd, off + freeStart);
      this.repeatTail = raw.slice(freeStart === -1 ? textEnd : off + (reader.freeEnd as number));
      this.repeatTailHead = this.repeatTail + this.repeatHead;
      this.headAt = -1;
      if (this.filterUsage) {
        this.repeatTailCut = partCut(raw, raw.length - this.repeatTail.length, this.repeatTail);
        const mid = this.repeatMid;
        this.repeatMidCut = this.repeatTailCut === null && mid !== null ? partCut(raw, textEnd, mid) : null;
      }
    }
    if (!this.filterUsage) return true;
    if (info.usageOnly) return false;
    return withoutUsageNull(raw);
  }

  /**
   * The event at `start` in `text` when it is repeatHead, a JSON string on the same line and repeatTail (or
   * repeatMid, another string, and repeatTail) — so a plain text delta that the reader reads as that string's text and
   * nothing else, as it read the last: tallied, and the index just past it returned; else -1 (it is then cut out and
   * read). What it answers is what cutting it out and reading it gives: the event's end is the first blank line after
   * `start` (no newline before the tail's), and its data is the same bytes around the strings that the reader read as
   * the last.
   */
  private repeat(text: string, start: number, at: number): number {
    const head = this.repeatHead as string;
    if (start !== this.headAt && text.slice(start, start + head.length) !== head) return -1;
    const s = start + head.length;
    const e = stringEnd(text, s);
    if (e === -1) return -1;
    // the tail after the text, or after the free string that the middle leads to
    let q = e;
    const mid = this.repeatMid;
    if (mid !== null) {
      if (text.slice(e, e + mid.length) !== mid) return -1;
      q = stringEnd(text, e + mid.length);
      if (q === -1) return -1;
    }
    const tail = this.repeatTail;
    const tailHead = this.repeatTailHead;
    // the tail and the next event's head in one comparison (V8 compares a slice this long in its runtime, at a cost per
    // call), else the tail alone (the last repeat of a run)
    if (text.slice(q, q + tailHead.length) === tailHead) this.headAt = q + tail.length;
    else if (text.slice(q, q + tail.length) !== tail) return -1;
    if (text.indexOf('\n', s) !== q + tail.length - 2) return -1;
    const piece = stringAt(text, s, e);
    this.repeatTailAt = q;
    this.repeatTextEnd = e;
    this.events++;
    if (piece.length > 0) {
      if (this.firstContentAt === null) this.firstContentAt = at;
      this.lastContentAt = at;
      this.text.append(piece);
    }
    return q + tail.length;
  }
}

/**
 * `part` (the fixed piece of `raw` at `at`: a repeat's tail or middle) as withoutUsageNull(raw) leaves it, when that cuts
 * nothing or only the one `,"usage":null` that `part` holds whole; else null. The text and free strings of a repeat
 * hold no `usage":null` (every quote in a string is escaped, and the quotes around them belong to the fixed parts), so
 * each repeat is then filtered as its bytes with this part in place of `part`.
 */
function partCut(raw: string, at: number, part: string): string | null {
  const u = raw.indexOf(USAGE_NULL_WORD);
  if (u === -1) return part;
  const i = u - 1;
  if (
    i - 1 < at ||
    i + USAGE_NULL_TEXT.length > at + part.length ||
    raw.charCodeAt(i) !== 34 ||
    raw.charCodeAt(i - 1) !== 44 ||
    raw.indexOf(USAGE_NULL_WORD, u + USAGE_NULL_WORD.length) !== -1
  )
    return null;
  return part.slice(0, i - 1 - at) + part.slice(i - at + USAGE_NULL_TEXT.length);
}

/**
 * An event without the `"usage":null` member(s) the usage llmscope asked for added (true: none, keep it as it is).
 * Searched from the letter: V8's indexOf is many times slower for a pattern that starts with a quote, a character
 * every event is full of.
 */
function withoutUsageNull(raw: string): true | string {
  const u = raw.indexOf(USAGE_NULL_WORD);
  if (u === -1) return true;
  // The usual single `,"usage":null` is cut out directly; anything else goes through the regex.
  const i = u - 1;
  if (
    raw.charCodeAt(i) === 34 &&
    raw.charCodeAt(i - 1) === 44 &&
    raw.indexOf(USAGE_NULL_WORD, u + USAGE_NULL_WORD.length) === -1
  )
    return raw.slice(0, i - 1) + raw.slice(i + USAGE_NULL_TEXT.length);
  return raw.replace(USAGE_NULL, '');
}

/**
 * The index just past the first blank line (an event's end) in `text` at or after `from`, or -1. `crlf`: whether the
 * text has CRs; without, the common case, a plain search finds the same ends as EVENT_END without the regex.
 */
function eventEnd(text: string, from = 0, crlf = text.includes('\r')): number {
  if (!crlf) {
    const i = text.indexOf('\n\n', from);
    return i === -1 ? -1 : i + 2;
  }
  EVENT_END.lastIndex = from;
  const m = EVENT_END.exec(text);
  return m === null ? -1 : m.index + m[0].length;
}

/** The event's data: its `data:` lines joined by newlines ('' when none). `crlf`: false when `raw` surely has no CR. */
function dataOf(raw: string, crlf: boolean): string {
  // The common event, one `data: ...` line and the blank line ending it (checked by slice: V8's startsWith is slower).
  if (raw.slice(0, 5) === 'data:') {
    const nl = raw.indexOf('\n');
    if ((nl === -1 || nl >= raw.length - 2) && !(crlf && raw.includes('\r')))
      return raw.slice(raw[5] === ' ' ? 6 : 5, nl === -1 ? raw.length : nl);
  }
  let data = '';
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:'))
      data += data ? `\n${line.slice(line[5] === ' ' ? 6 : 5)}` : line.slice(line[5] === ' ' ? 6 : 5);
  }
  return data;
}
