// JSON parsed piece by piece as a request body arrives, so that a large body (a 40 MB prompt) is never parsed in one
// go on the event loop: JSON.parse of 40 MB held the loop ~360 ms, and its decode to a string ~140 ms more, on a busy
// 2-core host, during which no other client was served. Each piece (a socket read, 64 KiB) costs ~1 ms instead.
// Gives what JSON.parse gives for the same text (objects with own "__proto__" keys, the last of duplicate keys,
// numbers as Number() reads them), and refuses what it refuses, with a message of its own.
// Also: Turns, which a loop over many records uses to hand the event loop back to other clients now and then, and
// parseJsonInTurns, for a body that is whole already (decompressed).
import { StringDecoder } from 'node:string_decoder';

const WS_SPACE = 0x20;
const WS_TAB = 0x09;
const WS_LF = 0x0a;
const WS_CR = 0x0d;

/** What the parser expects next. */
enum State {
  Value,
  /** After `{`: a key or `}`. */
  FirstKey,
  /** After `,` in an object: a key. */
  Key,
  /** After a key: `:`. */
  Colon,
  /** After a value inside a container: `,` or its close. */
  After,
  /** In a string (a key when `isKey`). */
  Str,
  /** In a number. */
  Num,
  /** In true, false or null. */
  Lit,
  /** After the top-level value: only whitespace. */
  Done,
}

interface Frame {
  /** The array or object being filled. */
  c: unknown[] | Record<string, unknown>;
  arr: boolean;
  key: string;
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** The next character a string cannot hold as it is: its close, an escape, or a control character. */
const STRING_STOP = /["\\\u0000-\u001f]/g;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Bounds for skimming a text too large to keep whole (an SSE event of several MB): strings are cut to their first
 * `maxStringChars` characters, and past `maxValues` values in all the text is given up (a RangeError).
 */
export interface SkimLimits {
  maxStringChars: number;
  maxValues: number;
}

/**
 * A bound on a list's length, checked as its items are parsed: the top-level array's, or that of the array under
 * `key` in the top-level object (an /api/ingest batch: `[...]` or `{"calls": [...]}`). The item past `max` throws
 * TooManyItems, so a body holding more than a request takes is refused without parsing (or reading) the rest.
 */
export interface ListLimit {
  max: number;
  key: string;
}

/** A list passed its ListLimit: `partial` is the top-level value parsed so far, the list holding `max` + 1 items. */
export class TooManyItems extends Error {
  constructor(readonly partial: unknown) {
    super('a list holds more items than it may');
  }
}

/** A JSON text fed in pieces (`write`), whose value `end` gives; a syntax error throws a SyntaxError. */
export class JsonStreamParser {
  /** Characters of the current string dropped past limits.maxStringChars. */
  private dropping = false;
  private values = 0;

  constructor(
    private readonly limits?: SkimLimits,
    private readonly list?: ListLimit,
  ) {}

  private state = State.Value;
  private stack: Frame[] = [];
  private root: unknown = undefined;
  /** The string, number or literal being read. */
  private token = '';
  private isKey = false;
  /** The start of an escape cut by the end of a piece, read again with the next. */
  private carry = '';
  /** Characters fed before the current piece (for error positions). */
  private offset = 0;

  write(piece: string): void {
    let s = piece;
    if (this.carry) {
      s = this.carry + s;
      this.offset -= this.carry.length;
      this.carry = '';
    }
    const n = s.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.Str: {
          STRING_STOP.lastIndex = i;
          const m = STRING_STOP.exec(s);
          if (m === null) {
            if (!this.dropping) this.add(i === 0 ? s : s.slice(i));
            i = n;
            break;
          }
          const at = m.index;
          if (at > i && !this.dropping) this.add(s.slice(i, at));
          const c = s.charCodeAt(at);
          if (c === 0x22) {
            i = at + 1;
            const v = this.token;
            this.token = '';
            this.dropping = false;
            if (this.isKey) {
              (this.stack[this.stack.length - 1] as Frame).key = v;
              this.state = State.Colon;
            } else this.value(v);
          } else if (c === 0x5c) {
            if (at + 1 >= n) {
              this.carry = s.slice(at);
              i = n;
              break;
            }
            const e = s[at + 1] as string;
            if (e === 'u') {
              if (at + 6 > n) {
                this.carry = s.slice(at);
                i = n;
                break;
              }
              const hex = s.slice(at + 2, at + 6);
              if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(at, 'bad \\u escape in a string');
              if (!this.dropping) this.add(String.fromCharCode(Number.parseInt(hex, 16)));
              i = at + 6;
            } else {
              const r = ESCAPES[e];
              if (r === undefined) this.fail(at + 1, 'bad escape in a string');
              if (!this.dropping) this.add(r);
              i = at + 2;
            }
          } else this.fail(at, 'control character in a string');
          break;
        }
        case State.Num: {
          let j = i;
          while (j < n) {
            const c = s.charCodeAt(j);
            if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) j++;
            else break;
          }
          this.token += s.slice(i, j);
          i = j;
          if (this.limits && this.token.length > 400) throw new RangeError('a number too long to skim');
          if (j < n) this.endNumber(i);
          break;
        }
        case State.Lit: {
          let j = i;
          while (j < n) {
            const c = s.charCodeAt(j);
            if (c >= 0x61 && c <= 0x7a) j++;
            else break;
          }
          this.token += s.slice(i, j);
          i = j;
          if (this.token.length > 5) this.fail(i, 'unexpected token');
          if (j < n) this.endLiteral(i);
          break;
        }
        default: {
          const c = s.charCodeAt(i);
          if (c === WS_SPACE || c === WS_LF || c === WS_CR || c === WS_TAB) {
            i++;
            break;
          }
          this.structural(c, i);
          i++;
        }
      }
    }
    this.offset += n;
  }

  /** The value of the whole text; throws when it is not one complete JSON value. */
  end(): unknown {
    if (this.carry) this.fail(0, 'unexpected end of JSON input');
    if (this.state === State.Num) this.endNumber(0);
    else if (this.state === State.Lit) this.endLiteral(0);
    if (this.state !== State.Done) this.fail(0, 'unexpected end of JSON input');
    return this.root;
  }

  /** Adds to the string being read; past limits.maxStringChars the rest of it is dropped. */
  private add(piece: string): void {
    this.token += piece;
    const max = this.limits?.maxStringChars;
    if (max !== undefined && this.token.length > max) {
      this.token = this.token.slice(0, max);
      this.dropping = true;
    }
  }

  /** A character outside strings, numbers and literals. */
  private structural(c: number, i: number): void {
    const st = this.state;
    if (st === State.Value) {
      if (c === 0x22) {
        this.isKey = false;
        this.state = State.Str;
      } else if (c === 0x7b) this.open({}, false);
      else if (c === 0x5b) this.open([], true);
      else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        this.token = String.fromCharCode(c);
        this.state = State.Num;
      } else if (c === 0x74 || c === 0x66 || c === 0x6e) {
        this.token = String.fromCharCode(c);
        this.state = State.Lit;
      } else if (c === 0x5d && this.emptyArrayClose()) this.close(i);
      else this.fail(i);
      return;
    }
    if (st === State.FirstKey || st === State.Key) {
      if (c === 0x22) {
        this.isKey = true;
        this.state = State.Str;
      } else if (c === 0x7d && st === State.FirstKey) this.close(i);
      else this.fail(i);
      return;
    }
    if (st === State.Colon) {
      if (c !== 0x3a) this.fail(i);
      this.state = State.Value;
      return;
    }
    if (st === State.After) {
      const top = this.stack[this.stack.length - 1] as Frame;
      if (c === 0x2c) this.state = top.arr ? State.Value : State.Key;
      else if ((c === 0x5d && top.arr) || (c === 0x7d && !top.arr)) this.close(i);
      else this.fail(i);
      return;
    }
    this.fail(i); // Done: anything but whitespace
  }

  /** `]` right after `[`: an empty array (the parser expects a value there). */
  private emptyArrayClose(): boolean {
    const top = this.stack[this.stack.length - 1];
    return top?.arr === true && (top.c as unknown[]).length === 0 && this.justOpened;
  }

  private justOpened = false;

  private open(c: unknown[] | Record<string, unknown>, arr: boolean): void {
    this.stack.push({ c, arr, key: '' });
    this.state = arr ? State.Value : State.FirstKey;
    this.justOpened = arr;
  }

  private close(_i: number): void {
    const f = this.stack.pop() as Frame;
    this.value(f.c);
  }

  private value(v: unknown): void {
    this.justOpened = false;
    if (this.limits && ++this.values > this.limits.maxValues)
      throw new RangeError(`more than ${this.limits.maxValues} values: not skimmed`);
    const top = this.stack[this.stack.length - 1];
    if (top === undefined) {
      this.root = v;
      this.state = State.Done;
      return;
    }
    if (top.arr) {
      const items = top.c as unknown[];
      items.push(v);
      if (this.list !== undefined && items.length > this.list.max) this.tooMany(items);
    } else if (top.key === '__proto__')
      Object.defineProperty(top.c, '__proto__', { value: v, writable: true, enumerable: true, configurable: true });
    else (top.c as Record<string, unknown>)[top.key] = v;
    this.state = State.After;
  }

  /** Throws TooManyItems when `items` is the watched list (the top-level array, or the top-level object's `key`). */
  private tooMany(items: unknown[]): void {
    const root = this.stack[0] as Frame;
    if (this.stack.length === 1) throw new TooManyItems(items);
    if (this.stack.length !== 2 || root.arr || root.key !== (this.list as ListLimit).key) return;
    (root.c as Record<string, unknown>)[root.key] = items;
    throw new TooManyItems(root.c);
  }

  private endNumber(i: number): void {
    const t = this.token;
    this.token = '';
    if (!NUMBER.test(t)) this.fail(i, `bad number ${JSON.stringify(t.slice(0, 40))}`);
    this.value(Number(t));
  }

  private endLiteral(i: number): void {
    const t = this.token;
    this.token = '';
    if (t === 'true') this.value(true);
    else if (t === 'false') this.value(false);
    else if (t === 'null') this.value(null);
    else this.fail(i, `unexpected token ${JSON.stringify(t.slice(0, 40))}`);
  }

  private fail(i: number, what?: string): never {
    throw new SyntaxError(`${what ?? 'unexpected character'} at position ${this.offset + i}`);
  }
}

/** Work done between two turns handed back to the event loop (Turns). */
export const TURN_MS = 4;

/**
 * Lets a long loop (thousands of records of one request) hand the event loop back to other clients every TURN_MS of
 * its work, rather than hold it for all of it: `if (turns.due(i)) await turns.next()` once per item. A loop that ends
 * within its first turn never waits, so small requests cost what they did.
 */
export class Turns {
  private until: number;
  constructor(private readonly sliceMs = TURN_MS) {
    this.until = performance.now() + sliceMs;
  }

  /** Whether this turn is spent; the clock is read every 32nd item `i` only. */
  due(i: number): boolean {
    return (i & 31) === 31 && this.spent();
  }

  /** Whether this turn is spent (reads the clock). */
  spent(): boolean {
    return performance.now() >= this.until;
  }

  /** Lets other work run (I/O, timers, other requests), then starts a new turn. */
  async next(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.until = performance.now() + this.sliceMs;
  }
}

/** Bytes of a whole body decoded and parsed in one piece by parseJsonInTurns (a socket read's worth). */
const PIECE = 64 * 1024;

/**
 * The JSON value of a whole body (one decompressed after reading, or a large answer kept as it came, in its pieces),
 * parsed PIECE bytes at a time with the event loop handed back between turns (Turns): the value JSON.parse gives of
 * its UTF-8 text, a SyntaxError where it refuses. Bodies of at most `wholeUpTo` bytes are JSON.parse'd at once, which
 * is faster.
 */
export async function parseJsonInTurns(body: Buffer | readonly Buffer[], wholeUpTo = 1024 * 1024): Promise<unknown> {
  const pieces = Buffer.isBuffer(body) ? [body] : body;
  let bytes = 0;
  for (const b of pieces) bytes += b.length;
  if (bytes <= wholeUpTo)
    return JSON.parse((pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, bytes)).toString('utf8'));
  const parser = new JsonStreamParser();
  const decoder = new StringDecoder('utf8');
  const turns = new Turns();
  for (const b of pieces)
    for (let at = 0; at < b.length; at += PIECE) {
      parser.write(decoder.write(b.subarray(at, at + PIECE)));
      if (turns.spent()) await turns.next();
    }
  parser.write(decoder.end());
  return parser.end();
}
