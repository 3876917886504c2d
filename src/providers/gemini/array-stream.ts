// Metering of a stream that is one JSON array written element by element: what Google's streamGenerateContent answers
// without `alt=sse` (`[{...}\r\n,\r\n{...}\r\n]`, each element a whole GenerateContentResponse, pretty-printed). The
// bytes pass through unchanged; each element is read by the format's StreamReader when its closing brace arrives, so
// TTFT, TPOT, usage, finish reason and refusals come out as for the same answer streamed as server-sent events.
// Bounded as the SSE meter is: an element longer than MAX_ELEMENT_CHARS passes unread, and if reading ever fails the
// bytes still flow, unread.
import { StringDecoder } from 'node:string_decoder';
import { type StreamMetering, type StreamReader, tallyChunk } from '../adapter.js';
import { StreamTally } from '../stream-tally.js';

/** Longest element read; a longer one passes through unread. */
export const MAX_ELEMENT_CHARS = 1024 * 1024;

const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const QUOTE = 34;
const BACKSLASH = 92;

export class JsonArrayStreamMeter extends StreamTally implements StreamMetering {
  failure: Error | null = null;
  /** Elements read. */
  elements = 0;
  /** Elements passed through unread because they were longer than MAX_ELEMENT_CHARS. */
  overlong = 0;
  private readonly decoder = new StringDecoder('utf8');
  /** Nesting depth: 1 inside the array, 2 inside an element, more inside its values. */
  private depth = 0;
  /**
   * The depth of an element: 2 inside the array; 1 when the answer is one JSON object instead (an upstream that
   * answers a stream call with a plain body), read as the one element.
   */
  private elementDepth = 0;
  private inString = false;
  private escaped = false;
  /** The current element's text so far (null between elements, or while skipping an overlong one). */
  private element: string | null = null;
  private skipping = false;

  constructor(private readonly reader: StreamReader) {
    super();
  }

  push(chunk: Buffer, at: number): Buffer {
    if (this.failure) return chunk;
    try {
      this.scan(this.decoder.write(chunk), at);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
    }
    return chunk;
  }

  end(at: number): string {
    if (!this.failure) {
      try {
        this.scan(this.decoder.end(), at);
      } catch (err) {
        this.failure = err instanceof Error ? err : new Error(String(err));
      }
    }
    return '';
  }

  private scan(text: string, at: number): void {
    let from = this.element !== null ? 0 : -1;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === BACKSLASH) this.escaped = true;
        else if (c === QUOTE) this.inString = false;
        continue;
      }
      if (c === QUOTE) {
        if (this.depth >= 1) this.inString = true;
      } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        if (this.elementDepth === 0) this.elementDepth = c === OPEN_BRACKET ? 2 : 1;
        this.depth++;
        if (this.depth === this.elementDepth) {
          if (c !== OPEN_BRACE) continue;
          this.element = '';
          this.skipping = false;
          from = i;
        }
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        if (this.depth === this.elementDepth && this.element !== null) {
          if (this.skipping) {
            /* an overlong element ends: unread */
          } else if (this.element.length + (i + 1 - from) > MAX_ELEMENT_CHARS) this.overlong++;
          else this.onElement(this.element + text.slice(from, i + 1), at);
          this.element = null;
          from = -1;
        }
        if (this.depth > 0) this.depth--;
      }
    }
    if (this.element !== null && from !== -1) {
      if (!this.skipping) this.element += text.slice(from);
      if (this.element.length > MAX_ELEMENT_CHARS) {
        this.overlong++;
        this.skipping = true;
        this.element = '';
      }
    }
  }

  private onElement(data: string, at: number): void {
    const info = this.reader.read(data);
    if (info === null) return;
    this.elements++;
    tallyChunk(this, info, at);
  }
}
