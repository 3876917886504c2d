// The learned scorer's inputs: per-claim signals the grounding check already computes, and how a response's claims
// combine into one feature vector. A single claim is scored as a one-claim response, so the same model ranks the
// claims of an answer (to name the worst one) and scores the whole answer.

/** What the grounding check measured for one claim (an answer sentence) against the evidence. */
export interface ClaimSignals {
  /** Weighted share of the claim's content words missing from all the evidence (the baseline's idea, stemmed). */
  uncovered: number;
  /** Share of the claim's content words, as written, never in the evidence (the plain baseline, per claim). */
  plainMissing: number;
  /** 1 − the share of the claim's content words found in the single best evidence sentence. */
  unsupportedBest: number;
  /** Share of adjacent content-word pairs never adjacent in the evidence (recombined facts). */
  novelPairs: number;
  /** Share of word trigrams (stopwords too) not in the evidence. */
  novelTrigrams: number;
  /** Longest span copied word for word from the evidence, as a share of the claim's words. */
  copyRatio: number;
  /** 1 when the claim states a number the evidence never states (and none nearby to contradict it). */
  numbersUnsupported: number;
  /** 1 when the evidence for the claim states other numbers. */
  numbersContradicted: number;
  /** Share of the claim's names (capitalised, not sentence-initial) the evidence never mentions. */
  entitiesMissing: number;
  /** 1 when the evidence knows each name but never mentions them together. */
  namesApart: number;
  /** 1 when the claim says the best evidence's words with the opposite polarity. */
  negationFlip: number;
  /** 1 when the claim is about the speaker (I, my, me), which no source backs. */
  firstPerson: number;
  /** Content words in the claim. */
  contentWords: number;
  /** The claim's weight in averages (its content words, question words at half). */
  weight: number;
}

/** The model's features, in order. Shares are weighted means over the claims; flags are the max. */
export const FEATURE_NAMES = [
  'plain_missing',
  'uncovered',
  'worst_uncovered',
  'unsupported_best',
  'novel_pairs',
  'novel_trigrams',
  'copy_ratio',
  'numbers_unsupported',
  'numbers_contradicted',
  'entities_missing',
  'names_apart',
  'negation_flip',
  'first_person',
  'length_vs_evidence',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** One feature vector (FEATURE_NAMES order) for a response made of these claims; `evidenceWords` = distinct content stems of the evidence. */
export function responseFeatures(claims: readonly ClaimSignals[], evidenceWords: number): number[] {
  let w = 0;
  let uncovered = 0;
  let plain = 0;
  let worst = 0;
  let best = 0;
  let pairs = 0;
  let grams = 0;
  let copy = 0;
  let entities = 0;
  let numU = 0;
  let numC = 0;
  let apart = 0;
  let neg = 0;
  let first = 0;
  let words = 0;
  for (const c of claims) {
    const k = c.weight;
    w += k;
    uncovered += k * c.uncovered;
    plain += k * c.plainMissing;
    best += k * c.unsupportedBest;
    pairs += k * c.novelPairs;
    grams += k * c.novelTrigrams;
    copy += k * c.copyRatio;
    entities += k * c.entitiesMissing;
    if (c.uncovered > worst) worst = c.uncovered;
    numU = Math.max(numU, c.numbersUnsupported);
    numC = Math.max(numC, c.numbersContradicted);
    apart = Math.max(apart, c.namesApart);
    neg = Math.max(neg, c.negationFlip);
    first += k * c.firstPerson;
    words += c.contentWords;
  }
  const m = (x: number): number => (w > 0 ? x / w : 0);
  return [
    m(plain),
    m(uncovered),
    worst,
    m(best),
    m(pairs),
    m(grams),
    m(copy),
    numU,
    numC,
    m(entities),
    apart,
    neg,
    m(first),
    Math.log((1 + words) / (1 + evidenceWords)),
  ];
}
