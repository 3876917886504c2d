// A batch of `calls` rows in the form the writer thread receives them cheaply: the values' kinds, numbers and text
// lengths in typed arrays (moved to the thread, not copied) and every text value joined into one string (one copy).
// Posted as arrays of values, a batch cost the thread about 3 µs a row to rebuild (structured clone makes every
// value an object of its own); packed, about 0.5 µs, and the main thread pays no more than for the clone.
import type { CallValue } from '../call-row.js';

const NULL = 0;
const NUMBER = 1;
const TEXT = 2;
const TRUE = 3;
const FALSE = 4;

export interface PackedRows {
  /** Values per row. */
  width: number;
  /** One kind per value, row after row (NULL, NUMBER, TEXT, TRUE, FALSE). */
  kinds: Uint8Array;
  /** The value of each NUMBER (other slots unused). */
  numbers: Float64Array;
  /** The UTF-16 length of each TEXT value, whose characters follow the previous one's in `text`. */
  lengths: Uint32Array;
  text: string;
}

/** The rows packed, or null when a value is of a kind this form does not carry (then post the rows as they are). */
export function packRows(rows: readonly (readonly CallValue[])[]): PackedRows | null {
  const width = rows[0]?.length ?? 0;
  const n = rows.length * width;
  const kinds = new Uint8Array(n);
  const numbers = new Float64Array(n);
  const lengths = new Uint32Array(n);
  // Concatenated, not pushed to an array and joined: V8's `join('')` of a batch's ~20,000 strings cost about 120 ns
  // a string; the concatenation about 40 with its one flattening (which postMessage's serializer does, as it copies).
  let text = '';
  let k = 0;
  for (const row of rows) {
    if (row.length !== width) return null;
    for (let i = 0; i < width; i++, k++) {
      const v = row[i];
      if (typeof v === 'number') {
        kinds[k] = NUMBER;
        numbers[k] = v;
      } else if (typeof v === 'string') {
        kinds[k] = TEXT;
        lengths[k] = v.length;
        text += v;
      } else if (v === null) kinds[k] = NULL;
      else if (v === true) kinds[k] = TRUE;
      else if (v === false) kinds[k] = FALSE;
      else return null;
    }
  }
  return { width, kinds, numbers, lengths, text };
}

/** The rows `packRows` packed, value for value. */
export function unpackRows(p: PackedRows): CallValue[][] {
  const { width, kinds, numbers, lengths, text } = p;
  const count = width > 0 ? kinds.length / width : 0;
  const rows: CallValue[][] = new Array(count);
  let k = 0;
  let pos = 0;
  for (let r = 0; r < count; r++) {
    const row: CallValue[] = new Array(width);
    for (let i = 0; i < width; i++, k++) {
      const kind = kinds[k];
      if (kind === NUMBER) row[i] = numbers[k] as number;
      else if (kind === TEXT) {
        const end = pos + (lengths[k] as number);
        row[i] = text.slice(pos, end);
        pos = end;
      } else row[i] = kind === NULL ? null : kind === TRUE;
    }
    rows[r] = row;
  }
  return rows;
}

/** The buffers to move to the thread with the message (postMessage's transfer list). */
export const transferOf = (p: PackedRows): ArrayBuffer[] => [
  p.kinds.buffer as ArrayBuffer,
  p.numbers.buffer as ArrayBuffer,
  p.lengths.buffer as ArrayBuffer,
];
