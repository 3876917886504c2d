// A call's prompt and answer text, kept bounded: the first TEXT_HEAD_CHARS and the last TEXT_TAIL_CHARS, and the
// length of the whole. Tokens (when the upstream gives no usage), quality checks and captured content read the kept
// text; an endless stream or a 50 MB prompt holds at most this much of one call's memory.

import type { CallInternals } from './call.js';

/** Characters kept from the start of a text. */
export const TEXT_HEAD_CHARS = 96 * 1024;
/** Characters kept from the end of a text. */
export const TEXT_TAIL_CHARS = 32 * 1024;
/** Stands for the characters left out between head and tail. */
export const OMITTED_MARK = '\n[…]\n';

/** A text cut to its head and tail. `totalChars` is the whole text's length; `text.length` < it when cut. */
export interface KeptText {
  text: string;
  totalChars: number;
}

/**
 * `s` cut to head + OMITTED_MARK + tail when longer than both together. `ranges` ([start, end) offsets into `s`,
 * ascending) are moved to the cut text in place: kept parts keep their place, parts in the omitted middle go.
 */
export function keepText(s: string, ranges?: number[]): KeptText {
  const total = s.length;
  if (total <= TEXT_HEAD_CHARS + TEXT_TAIL_CHARS) return { text: s, totalChars: total };
  const tailStart = total - TEXT_TAIL_CHARS;
  const shift = tailStart - (TEXT_HEAD_CHARS + OMITTED_MARK.length);
  if (ranges) {
    const out: number[] = [];
    for (let k = 0; k + 1 < ranges.length; k += 2) {
      const a = ranges[k] as number;
      const b = ranges[k + 1] as number;
      if (a < TEXT_HEAD_CHARS) out.push(a, Math.min(b, TEXT_HEAD_CHARS));
      if (b > tailStart) out.push(Math.max(a, tailStart) - shift, b - shift);
    }
    ranges.length = 0;
    ranges.push(...out);
  }
  return { text: s.slice(0, TEXT_HEAD_CHARS) + OMITTED_MARK + s.slice(tailStart), totalChars: total };
}

/** Text that arrives in pieces (a stream's deltas), kept bounded as it grows: appending is O(piece). */
export class BoundedText {
  private head = '';
  private tail: string[] = [];
  private tailChars = 0;
  /** Characters appended in all. */
  totalChars = 0;

  append(piece: string): void {
    if (!piece) return;
    this.totalChars += piece.length;
    let rest = piece;
    if (this.head.length < TEXT_HEAD_CHARS) {
      const room = TEXT_HEAD_CHARS - this.head.length;
      if (rest.length <= room) {
        this.head += rest;
        return;
      }
      this.head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    this.tail.push(rest);
    this.tailChars += rest.length;
    // Keep at most twice the tail in pieces, then cut back to the tail: amortised O(1) per appended character.
    if (this.tailChars > 2 * TEXT_TAIL_CHARS) {
      const joined = this.tail.join('');
      const kept = joined.slice(joined.length - TEXT_TAIL_CHARS);
      this.tail = [kept];
      this.tailChars = kept.length;
    }
  }

  get length(): number {
    return this.totalChars;
  }

  /** The kept text: all of it, or head + OMITTED_MARK + tail when characters were left out. */
  kept(): KeptText {
    const tail = this.tail.length === 1 ? (this.tail[0] as string) : this.tail.join('');
    if (this.head.length + tail.length === this.totalChars)
      return { text: this.head + tail, totalChars: this.totalChars };
    const t = tail.length > TEXT_TAIL_CHARS ? tail.slice(tail.length - TEXT_TAIL_CHARS) : tail;
    return { text: this.head + OMITTED_MARK + t, totalChars: this.totalChars };
  }

  toString(): string {
    return this.kept().text;
  }
}

/** What a stream's meter read of its output: when content came, the answer's text and the other output. */
export interface MeteredOutput {
  firstContentAt: number | null;
  lastContentAt: number | null;
  readonly text: { kept(): KeptText };
  readonly otherText: { kept(): KeptText };
}

/** Puts a meter's output on the call: its content times and its texts as kept, with each whole length when cut. */
export function keepMeteredOutput(i: CallInternals, m: MeteredOutput): void {
  i.firstContentAt = m.firstContentAt;
  i.lastContentAt = m.lastContentAt;
  const kept = m.text.kept();
  i.outputText = kept.text;
  if (kept.totalChars !== kept.text.length) i.outputChars = kept.totalChars;
  const other = m.otherText.kept();
  if (other.totalChars > 0) {
    i.otherOutputText = other.text;
    if (other.totalChars !== other.text.length) i.otherOutputChars = other.totalChars;
  }
}
