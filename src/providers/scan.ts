// Reading a few fields out of a streamed event's JSON without parsing it: the common events of every wire format (a
// text delta, an event that says nothing llmscope keeps) are read by position, and anything unexpected is left to
// JSON.parse. Each reader that uses these agrees with its parser whenever it answers; its tests check that.

/** Index of the quote closing the JSON string whose contents start at `from`, or -1. */
export function stringEnd(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 34) return i;
    if (ch === 92) i++;
  }
  return -1;
}

/** The value of the JSON string whose contents start at `from` and end at the quote `end`. */
export function stringAt(s: string, from: number, end: number): string {
  const raw = s.slice(from, end);
  return raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
}

/**
 * Where the key `"name":` (given with its quotes and colon) is, searching from `from`, once and as a key: -1 when
 * it is nowhere in `s`, null when unsure (twice — several choices —, after a backslash, before `from`, or written
 * otherwise, e.g. with a space before the colon). Inside a JSON string every quote is escaped, so `"name":` not
 * preceded by a backslash cannot be inside one.
 */
export function keyAt(s: string, key: string, from: number): number | null {
  const k = s.indexOf(key, from);
  if (k === -1) return s.includes(key.slice(0, -1)) ? null : -1;
  if (s.charCodeAt(k - 1) === 92 || s.indexOf(key, k + key.length) !== -1) return null;
  return k;
}

const TYPE = '{"type":"';

/**
 * The event's `type` when the data starts with it (`{"type":"...",` — how Anthropic and OpenAI's Responses API write
 * every event), else null. The value is read as is: one with escapes gives null.
 */
export function leadingType(data: string): string | null {
  if (!data.startsWith(TYPE)) return null;
  const end = data.indexOf('"', TYPE.length);
  if (end === -1) return null;
  const next = data.charCodeAt(end + 1);
  if (next !== 44 && next !== 125) return null;
  const type = data.slice(TYPE.length, end);
  return type.includes('\\') ? null : type;
}
