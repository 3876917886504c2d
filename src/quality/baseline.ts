// The plain baseline every hallucination detector is measured against (shared/datasets/README.md): the share of the
// answer's content words that never appear in the knowledge. No stemming, no retrieval, no claims.
import { isContent, words } from './text.js';

export function baselineScore(response: string, knowledge: string): number {
  const known = new Set(words(knowledge));
  let n = 0;
  let missing = 0;
  for (const w of words(response)) {
    if (!isContent(w)) continue;
    n++;
    if (!known.has(w)) missing++;
  }
  return n === 0 ? 0 : missing / n;
}
