// The answer's sentences, split once for the evaluators that read them (attribution's [n] markers, consistency's
// pairs): the service runs a call's evaluators one after another on the same answer, so the second reads the first's
// split. One entry, for the last answer split; the arrays are shared, so callers must not change them.
import { sentences } from '../text.js';

type Sentence = { text: string; start: number };

let lastText: string | null = null;
let lastSentences: readonly Sentence[] = [];

/** sentences(text), reusing the previous call's result when the text is the same. */
export function answerSentences(text: string): readonly Sentence[] {
  if (text !== lastText) {
    lastSentences = sentences(text);
    lastText = text;
  }
  return lastSentences;
}

/**
 * An answer that is one JSON object or array (JSON mode, structured outputs), read as what it states: its string and
 * number values, one per line, keys and punctuation left out (the keys are the schema asked for, as a table's header
 * row is; a value in double quotes is no quotation). Null when the answer is not JSON. Booleans and nulls state
 * nothing checkable and are left out; an answer of only those is empty.
 */
export function jsonAnswerText(text: string): string | null {
  const t = text.trim();
  const open = t[0];
  if ((open !== '{' && open !== '[') || t[t.length - 1] !== (open === '{' ? '}' : ']')) return null;
  let value: unknown;
  try {
    value = JSON.parse(t);
  } catch {
    return null;
  }
  const out: string[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (depth > 64) return;
    if (typeof v === 'string') {
      if (v.trim()) out.push(v.trim());
    } else if (typeof v === 'number') {
      if (Number.isFinite(v)) out.push(String(v));
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, depth + 1);
    } else if (v && typeof v === 'object') {
      for (const x of Object.values(v)) walk(x, depth + 1);
    }
  };
  walk(value, 0);
  return out.join('\n');
}
