// Reading a few fields out of a streamed event's JSON without parsing it: the common events of every wire format (a
// text delta, an event that says nothing llmscope keeps) are read by position, and anything unexpected is left to
// JSON.parse. Each reader that uses these agrees with its parser whenever it answers; its tests check that.

/**
 * Index of the quote closing the JSON string whose contents start at `from`, or -1: the first quote after an even
 * number of backslashes. Found with indexOf, which V8 runs far faster than a loop over charCodeAt.
 */
export function stringEnd(s: string, from: number): number {
  for (let q = s.indexOf('"', from); q !== -1; q = s.indexOf('"', q + 1)) {
    let i = q - 1;
    while (i >= from && s.charCodeAt(i) === 92) i--;
    if ((q - 1 - i) % 2 === 0) return q;
  }
  return -1;
}

/** Whether `s` holds `lit` at `at` (a slice compared: much cheaper in V8 than startsWith with a position). */
export function has(s: string, at: number, lit: string): boolean {
  return s.slice(at, at + lit.length) === lit;
}

/** Just past the plain JSON value (string, number, true, false, null) at `at`; -1 for an object, array or anything else. */
export function valueEnd(s: string, at: number): number {
  const c = s.charCodeAt(at);
  if (c === 34) {
    const e = stringEnd(s, at + 1);
    return e === -1 ? -1 : e + 1;
  }
  if (c === 110) return has(s, at, 'null') ? at + 4 : -1;
  if (c === 116) return has(s, at, 'true') ? at + 4 : -1;
  if (c === 102) return has(s, at, 'false') ? at + 5 : -1;
  if (c !== 45 && (c < 48 || c > 57)) return -1;
  let i = at + 1;
  for (; i < s.length; i++) {
    const d = s.charCodeAt(i);
    if ((d < 48 || d > 57) && d !== 46 && d !== 101 && d !== 69 && d !== 43 && d !== 45) break;
  }
  return i;
}

/** The value of the JSON string whose contents start at `from` and end at the quote `end`. */
export function stringAt(s: string, from: number, end: number): string {
  const raw = s.slice(from, end);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/**
 * Where the key `"name":` is, searching from `from`, once and as a key: -1 when it is nowhere in `s`, null when unsure
 * (twice — several choices —, after a backslash, before `from`, or written otherwise, e.g. with a space before the
 * colon). `word` is the key without its opening quote (`name":`, possibly with more after the colon): the search
 * starts from its letter, as V8's indexOf is many times slower for a pattern that starts with a quote. Returns the
 * index of the opening quote. Inside a JSON string every quote is escaped, so `name":` not preceded by a backslash
 * cannot be inside one.
 */
export function keyAt(s: string, word: string, from: number): number | null {
  const k = s.indexOf(word, from);
  if (k === -1) return s.includes(word.slice(0, word.indexOf('"') + 2)) ? null : -1;
  if (s.charCodeAt(k - 1) !== 34 || s.charCodeAt(k - 2) === 92 || s.indexOf(word, k + word.length) !== -1) return null;
  return k - 1;
}

const TYPE = '{"type":"';

/**
 * The event's `type` when the data starts with it (`{"type":"...",` — how Anthropic and OpenAI's Responses API write
 * every event), else null. The value is read as is: one with escapes gives null.
 */
export function leadingType(data: string): string | null {
  if (!has(data, 0, TYPE)) return null;
  const end = data.indexOf('"', TYPE.length);
  if (end === -1) return null;
  const next = data.charCodeAt(end + 1);
  if (next !== 44 && next !== 125) return null;
  const type = data.slice(TYPE.length, end);
  return type.includes('\\') ? null : type;
}
