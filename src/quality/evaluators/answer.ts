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
