// With content capture off, no text of a prompt or an answer is kept — but an upstream's error message can quote the
// prompt (an invalid value, a content-policy excerpt, a tokenizer complaint). Redaction (src/privacy/redact.ts) only
// removes what its patterns know (emails, keys, ...), so it cannot promise that; this does, at the word level: every
// quoted span but a parameter name ('messages[0].content') is replaced by "…", and so is every word of the message that also occurs anywhere in the call's text
// (its prompt or answer, compared case-insensitively; function words such as "the" excepted), before the message
// is clipped. What is left says what went wrong in the upstream's own words ("This model's maximum context length is 8192 tokens") without the call's.

import type { SpanRecord } from '../calls/index.js';

/** Longest error message kept on a call with content capture off. */
export const CAPTURE_OFF_ERROR_CHARS = 256;

const WORD = /[\p{L}\p{N}_]{2,}/gu;
// "…", “…”, ‘…’, `…`, «…», and '…' where the quotes are not apostrophes (not inside a word).
const QUOTED = /"[^"\n]*"|“[^”\n]*”|‘[^’\n]*’|`[^`\n]*`|«[^»\n]*»|(?<![\p{L}\p{N}_])'[^'\n]*'(?![\p{L}\p{N}_])/gu;
/** A parameter name or path as APIs quote them in errors: `user`, `messages[0].content`, `tools.0.function.name`. */
const PARAMETER = /^[A-Za-z_][A-Za-z0-9_]*(?:\[\d+\]|\.[A-Za-z0-9_]+)*$/;
/** Function words, kept even when the call's text has them too: they tell nothing about it and keep the message readable. */
const KEEP = new Set(
  'a an and are as at be been by for from has have in is it its may must not of on or that the this to was were will with your you'.split(
    ' ',
  ),
);
/** Elisions with only punctuation or function words between them become one. */
const ELIDED_RUN = new RegExp(
  `…(?:(?:[\\s\\p{P}]|(?<![\\p{L}\\p{N}_])(?:${[...KEEP].join('|')})(?![\\p{L}\\p{N}_]))*…)+`,
  'giu',
);

/**
 * The error message as kept when capture is off: quoted spans and the call's words elided, clipped. `texts` are the
 * call's prompt and answer text (whatever of them is known; none known: only quotes are elided).
 */
export function scrubErrorMessage(message: string, texts: readonly (string | null | undefined)[]): string | null {
  // A quoted parameter name or path ('user', 'messages[0].content') says where the input was wrong, not what it held:
  // it stays when the call's text is known (its words then go below if the call has them), any other quote goes.
  const known = texts.some((t) => !!t);
  const unquoted = message.replace(QUOTED, (q) => (known && PARAMETER.test(q.slice(1, -1)) ? q : '"…"'));
  const words = new Set<string>();
  for (const m of unquoted.matchAll(WORD)) {
    const w = m[0].toLowerCase();
    if (!KEEP.has(w)) words.add(w);
  }
  // One pass over the call's text: which of the message's words it holds.
  const found = new Set<string>();
  for (const t of texts) {
    if (!t || found.size === words.size) continue;
    for (const m of t.matchAll(WORD)) {
      const w = m[0].toLowerCase();
      if (words.has(w)) {
        found.add(w);
        if (found.size === words.size) break;
      }
    }
  }
  const out = (found.size > 0 ? unquoted.replace(WORD, (w) => (found.has(w.toLowerCase()) ? '…' : w)) : unquoted)
    .replace(ELIDED_RUN, '…')
    .trim();
  if (!out) return null;
  return out.length > CAPTURE_OFF_ERROR_CHARS ? `${out.slice(0, CAPTURE_OFF_ERROR_CHARS - 1)}…` : out;
}

/** Event attributes holding an error's own text: an exception's message, and its stack trace, which repeats it. */
const ERROR_ATTRIBUTES = ['exception.message', 'exception.stacktrace'] as const;

/**
 * With capture off, the exception events of a span an instrumented app sent are scrubbed as a call's error message is
 * (scrubErrorMessage with the call's `texts`, none for a span kept with a trace): an SDK's exception repeats the
 * upstream's error, which may quote the prompt (`Invalid 'messages[0].content': ...`).
 */
export function scrubSpanErrors(span: SpanRecord, texts: readonly (string | null | undefined)[]): void {
  for (const e of span.events) {
    const a = e.attributes;
    if (!a) continue;
    for (const k of ERROR_ATTRIBUTES) {
      const v = a[k];
      if (typeof v !== 'string') continue;
      const kept = scrubErrorMessage(v, texts);
      if (kept === null) delete a[k];
      else a[k] = kept;
    }
  }
}
