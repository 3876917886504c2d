// A call's free-form metadata: up to METADATA_MAX_KEYS keys, each a lowercased header token, with values of at most
// METADATA_MAX_VALUE characters. The same rules whichever way a call arrives (gateway `x-llmscope-meta-<key>`
// headers, `/api/ingest`'s `metadata`, OTLP attributes), so a key that works on one path works on every other and in
// `/api/requests?meta.<key>=` and `group_by=meta.<key>`. Metadata never becomes a metric label.
import type { IncomingHttpHeaders } from 'node:http';
import { headerText } from './header-text.js';

export const METADATA_MAX_KEYS = 20;
export const METADATA_MAX_VALUE = 256;
export const METADATA_MAX_KEY = 64;
/** The gateway's metadata headers: `x-llmscope-meta-<key>: value`. */
export const METADATA_HEADER_PREFIX = 'x-llmscope-meta-';
/** A header field name's token characters (RFC 9110 §5.6.2), lowercased. */
export const METADATA_KEY = /^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/;

export type Metadata = Record<string, string>;

/** What is wrong with a metadata key, or null when it is fine. */
export function metadataKeyProblem(key: string): string | null {
  if (key === '__proto__') return 'metadata key "__proto__" is reserved';
  if (key.length > METADATA_MAX_KEY) return `metadata key "${key.slice(0, 80)}" is over ${METADATA_MAX_KEY} characters`;
  if (!METADATA_KEY.test(key))
    return `metadata key "${key.slice(0, 80)}" is not a lowercase header token (letters a-z, digits and !#$%&'*+.^_\`|~-)`;
  return null;
}

/**
 * What is wrong with a metadata object (too many keys, a bad key, a value that is not a string or is too long), or
 * null when it is fine. `where(key)` names the field in the message (a header, a body path).
 */
export function metadataProblem(
  m: Readonly<Record<string, unknown>>,
  where: (key: string) => string,
): { message: string; param: string } | null {
  let n = 0;
  for (const key in m) {
    if (++n > METADATA_MAX_KEYS)
      return {
        message: `a call may carry at most ${METADATA_MAX_KEYS} metadata keys; this one has ${Object.keys(m).length}`,
        param: where(key),
      };
    const bad = metadataKeyProblem(key);
    if (bad) return { message: bad, param: where(key) };
    const v = m[key];
    if (typeof v !== 'string') return { message: `metadata "${key}" must be a string`, param: where(key) };
    if (v.length > METADATA_MAX_VALUE)
      return {
        message: `metadata "${key}" is ${v.length} characters; values may be at most ${METADATA_MAX_VALUE}`,
        param: where(key),
      };
  }
  return null;
}

/**
 * The metadata of a gateway request's `x-llmscope-meta-<key>` headers: null when there are none (the common case
 * costs one pass over the header names), else the keys and values, or the problem that refuses the call. Node
 * lowercases header names; a value sent as UTF-8 (read by Node as latin1) is decoded back; empty values are ignored; a header with no key
 * (`x-llmscope-meta-` alone) refuses the call.
 */
export function metadataOfHeaders(
  headers: IncomingHttpHeaders,
): { metadata: Metadata; problem: { message: string; param: string } | null } | null {
  let out: Metadata | null = null;
  for (const name in headers) {
    // 'x-llmscope-meta-' is 16 characters; most headers fail on the length or the 10th character
    if (name.length < 16 || name.charCodeAt(10) !== 45 || !name.startsWith(METADATA_HEADER_PREFIX)) continue;
    if (name.length === 16)
      return {
        metadata: out ?? {},
        problem: {
          message: `a ${METADATA_HEADER_PREFIX} header has no key after the prefix; name the key in the header: ${METADATA_HEADER_PREFIX}<key>: value`,
          param: METADATA_HEADER_PREFIX,
        },
      };
    const raw = headers[name];
    let v = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!v) continue;
    v = headerText(v);
    const key = name.slice(16);
    // assigning '__proto__' would set the object's prototype and drop the key without a word
    if (key === '__proto__')
      return { metadata: out ?? {}, problem: { message: metadataKeyProblem(key) ?? '', param: name } };
    out ??= {};
    out[key] = v;
  }
  if (out === null) return null;
  return { metadata: out, problem: metadataProblem(out, (k) => `${METADATA_HEADER_PREFIX}${k}`) };
}
