// Statistics the quality reports need: ROC-AUC, balanced accuracy at a threshold, the Wilson score interval.

/** Area under the ROC curve for scores where `label` true = positive (hallucinated); ties count half. */
export function rocAuc(items: readonly { score: number; label: boolean }[]): number {
  const sorted = [...items].sort((a, b) => a.score - b.score);
  let pos = 0;
  let neg = 0;
  for (const it of sorted) it.label ? pos++ : neg++;
  if (pos === 0 || neg === 0) return Number.NaN;
  // Rank-sum (Mann–Whitney U) with average ranks for ties.
  let rankSum = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (
      j + 1 < sorted.length &&
      (sorted[j + 1] as { score: number }).score === (sorted[i] as { score: number }).score
    )
      j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if ((sorted[k] as { label: boolean }).label) rankSum += avgRank;
    i = j + 1;
  }
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Mean of true-positive rate and true-negative rate when `score >= threshold` predicts positive. */
export function balancedAccuracy(items: readonly { score: number; label: boolean }[], threshold: number): number {
  let tp = 0;
  let fn = 0;
  let tn = 0;
  let fp = 0;
  for (const it of items) {
    const p = it.score >= threshold;
    if (it.label) p ? tp++ : fn++;
    else p ? fp++ : tn++;
  }
  const tpr = tp + fn ? tp / (tp + fn) : 0;
  const tnr = tn + fp ? tn / (tn + fp) : 0;
  return (tpr + tnr) / 2;
}

/** 95% (z = 1.96) Wilson score interval for `k` successes out of `n`; [0, 1] when n = 0. */
export function wilson(k: number, n: number, z = 1.96): { low: number; high: number } {
  if (n <= 0) return { low: 0, high: 1 };
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** Precision and recall of boolean predictions against labels. */
export function precisionRecall(items: readonly { predicted: boolean; label: boolean }[]): {
  precision: number;
  recall: number;
  tp: number;
  fp: number;
  fn: number;
  tn: number;
} {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (const it of items) {
    if (it.predicted) it.label ? tp++ : fp++;
    else it.label ? fn++ : tn++;
  }
  return {
    precision: tp + fp ? tp / (tp + fp) : Number.NaN,
    recall: tp + fn ? tp / (tp + fn) : Number.NaN,
    tp,
    fp,
    fn,
    tn,
  };
}
