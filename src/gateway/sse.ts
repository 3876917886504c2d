// Server-sent events metering for pass-through streams. Bytes go to the client as they arrive; events are
// split and read beside them. When llmscope itself asked for usage, the extra usage chunk and the
// `"usage":null` fields it caused are removed, so the client sees exactly what it would have seen direct.
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../calls/index.js';
import { type ChunkInfo, chunkInfo, fastChunkInfo, type Usage } from '../providers/openai-compatible/index.js';

const EVENT_END = /\r?\n\r?\n/g;
const USAGE_NULL = /,"usage":null|"usage":null,?/g;
const USAGE_NULL_TEXT = '"usage":null';

export class StreamMeter {
  firstContentAt: number | null = null;
  lastContentAt: number | null = null;
  text = '';
  refusal: string | null = null;
  finishReason: string | null = null;
  usage: Usage | null = null;
  events = 0;
  done = false;
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';

  /** `filterUsage`: strip the usage llmscope asked for on the client's behalf. */
  constructor(
    private readonly endpoint: Endpoint,
    readonly filterUsage: boolean,
  ) {}

  /**
   * Reads a chunk that arrived at `at` (epoch ms). Returns what to forward: the chunk itself when not filtering;
   * otherwise the complete events in it, filtered (possibly '').
   */
  push(chunk: Buffer, at: number): Buffer | string {
    const text = this.decoder.write(chunk);
    const carry = this.carry.length > 0 ? this.carry + text : text;
    let out = '';
    let start = 0;
    const event = (end: number): void => {
      const raw = carry.slice(start, end);
      const keep = this.onEvent(raw, at);
      if (this.filterUsage && keep) out += keep === true ? raw : keep;
      start = end;
    };
    if (!carry.includes('\r')) {
      // The common case, LF line ends: same events as EVENT_END finds, without the regex.
      for (let i = carry.indexOf('\n\n'); i !== -1; i = carry.indexOf('\n\n', start)) event(i + 2);
    } else {
      EVENT_END.lastIndex = 0;
      for (let m = EVENT_END.exec(carry); m !== null; m = EVENT_END.exec(carry)) event(m.index + m[0].length);
    }
    this.carry = start === 0 ? carry : carry.slice(start);
    return this.filterUsage ? out : chunk;
  }

  /** Whatever is left when the upstream ends (an unterminated last event). */
  end(at: number): string {
    const rest = this.carry + this.decoder.end();
    this.carry = '';
    if (!rest) return '';
    const keep = this.onEvent(rest, at);
    if (!this.filterUsage) return '';
    return keep === true ? rest : keep || '';
  }

  /** Returns false to drop the event, true to keep it as is, or a replacement. */
  private onEvent(raw: string, at: number): boolean | string {
    const data = dataOf(raw);
    if (!data) return true;
    if (data === '[DONE]') {
      this.done = true;
      return true;
    }
    // Most chunks are one text delta: read without parsing; parse the rest (usage, tool calls, refusals, ...).
    let info: ChunkInfo | null = fastChunkInfo(data, this.endpoint);
    if (info === null) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        return true;
      }
      info = chunkInfo(parsed, this.endpoint);
    }
    this.events++;
    if (info.content) {
      if (this.firstContentAt === null) this.firstContentAt = at;
      this.lastContentAt = at;
      this.text += info.text;
    }
    if (info.refusal) this.refusal = (this.refusal ?? '') + info.refusal;
    if (info.finishReason) this.finishReason = info.finishReason;
    if (info.usage) this.usage = info.usage;
    if (!this.filterUsage) return true;
    if (info.usageOnly) return false;
    const i = raw.indexOf(USAGE_NULL_TEXT);
    if (i === -1) return true;
    // The usual single `,"usage":null` is cut out directly; anything else goes through the regex.
    if (raw.charCodeAt(i - 1) === 44 && raw.indexOf(USAGE_NULL_TEXT, i + USAGE_NULL_TEXT.length) === -1)
      return raw.slice(0, i - 1) + raw.slice(i + USAGE_NULL_TEXT.length);
    return raw.replace(USAGE_NULL, '');
  }
}

/** The event's data: its `data:` lines joined by newlines ('' when none). */
function dataOf(raw: string): string {
  // The common event, one `data: ...` line and the blank line ending it.
  if (raw.startsWith('data:')) {
    const nl = raw.indexOf('\n');
    if ((nl === -1 || nl >= raw.length - 2) && !raw.includes('\r'))
      return raw.slice(raw[5] === ' ' ? 6 : 5, nl === -1 ? raw.length : nl);
  }
  let data = '';
  for (const line of raw.split(/\r?\n/)) {
    if (line.startsWith('data:'))
      data += data ? `\n${line.slice(line[5] === ' ' ? 6 : 5)}` : line.slice(line[5] === ' ' ? 6 : 5);
  }
  return data;
}
