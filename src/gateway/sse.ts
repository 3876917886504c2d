// Server-sent events metering for pass-through streams. Bytes go to the client as they arrive; events are
// split and read beside them. When llmscope itself asked for usage, the extra usage chunk and the
// `"usage":null` fields it caused are removed, so the client sees exactly what it would have seen direct.
import { StringDecoder } from 'node:string_decoder';
import type { Endpoint } from '../calls/index.js';
import { type ChunkInfo, chunkInfo, type Usage } from '../providers/openai-compatible/index.js';

const EVENT_END = /\r?\n\r?\n/g;
const USAGE_NULL = /,"usage":null|"usage":null,?/g;

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
    this.carry += this.decoder.write(chunk);
    let out = '';
    let start = 0;
    EVENT_END.lastIndex = 0;
    for (let m = EVENT_END.exec(this.carry); m !== null; m = EVENT_END.exec(this.carry)) {
      const end = m.index + m[0].length;
      const raw = this.carry.slice(start, end);
      const keep = this.onEvent(raw, at);
      if (this.filterUsage && keep) out += keep === true ? raw : keep;
      start = end;
    }
    this.carry = this.carry.slice(start);
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
    let data = '';
    for (const line of raw.split(/\r?\n/)) {
      if (line.startsWith('data:')) data += data ? `\n${line.slice(line[5] === ' ' ? 6 : 5)}` : line.slice(line[5] === ' ' ? 6 : 5);
    }
    if (!data) return true;
    if (data === '[DONE]') {
      this.done = true;
      return true;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return true;
    }
    this.events++;
    const info: ChunkInfo = chunkInfo(parsed, this.endpoint);
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
    return raw.includes('"usage":null') ? raw.replace(USAGE_NULL, '') : true;
  }
}
