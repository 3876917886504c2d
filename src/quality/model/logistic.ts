// Weighted L2-regularised logistic regression (Newton's method on standardised features) and Platt scaling.
// Small and exact: a dozen features and a few thousand rows converge in a few iterations, with no randomness.

export interface LogisticFit {
  mean: number[];
  scale: number[];
  weights: number[];
  bias: number;
}

export interface Row {
  x: number[];
  y: 0 | 1;
  /** Sample weight (sets and classes are balanced through it). */
  w: number;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** Solves A·x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((r, i) => [...r, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++)
      if (Math.abs((m[r] as number[])[c] as number) > Math.abs((m[p] as number[])[c] as number)) p = r;
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    const pivot = (m[c] as number[])[c] as number;
    for (let r = c + 1; r < n; r++) {
      const f = ((m[r] as number[])[c] as number) / pivot;
      if (f === 0) continue;
      for (let k = c; k <= n; k++)
        (m[r] as number[])[k] = ((m[r] as number[])[k] as number) - f * ((m[c] as number[])[k] as number);
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = (m[r] as number[])[n] as number;
    for (let k = r + 1; k < n; k++) s -= ((m[r] as number[])[k] as number) * (x[k] as number);
    x[r] = s / ((m[r] as number[])[r] as number);
  }
  return x;
}

/**
 * Fits weights and bias minimising Σ w·logloss + (l2/2)·|weights|² over standardised features (weights normalised
 * to sum to the row count, so l2 means the same whatever the weighting). A feature constant in the data gets scale 1
 * and weight 0. `signs[j]` = +1 / −1 keeps weight j ≥ 0 / ≤ 0 (0 or absent: free).
 */
export function fitLogistic(rows: readonly Row[], l2: number, signs?: readonly number[]): LogisticFit {
  if (!signs?.some((x) => x !== 0)) return fitFree(rows, l2, new Set());
  // Monotonic constraints by active set: a weight whose sign comes out against its constraint is fixed at 0 and the
  // rest refit, until every constrained weight agrees (at most one pass per feature; deterministic).
  const fixed = new Set<number>();
  for (;;) {
    const fit = fitFree(rows, l2, fixed);
    let worst = -1;
    let worstValue = 0;
    fit.weights.forEach((w, j) => {
      const v = w * ((signs[j] as number) || 0);
      if (v < worstValue - 1e-12) {
        worstValue = v;
        worst = j;
      }
    });
    if (worst < 0) return fit;
    fixed.add(worst);
  }
}

/** The unconstrained fit, with the weights in `fixed` held at 0. */
function fitFree(rows: readonly Row[], l2: number, fixed: ReadonlySet<number>): LogisticFit {
  const d = (rows[0]?.x.length ?? 0) as number;
  const total = rows.reduce((s, r) => s + r.w, 0);
  const norm = rows.length / total;
  const mean = new Array<number>(d).fill(0);
  for (const r of rows)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (r.w * norm * (r.x[j] as number)) / rows.length;
  const scale = new Array<number>(d).fill(0);
  for (const r of rows)
    for (let j = 0; j < d; j++)
      scale[j] = (scale[j] as number) + (r.w * norm * ((r.x[j] as number) - (mean[j] as number)) ** 2) / rows.length;
  for (let j = 0; j < d; j++) {
    const sd = Math.sqrt(scale[j] as number);
    scale[j] = sd > 1e-9 ? sd : 1;
  }
  const z = rows.map((r) => r.x.map((v, j) => (v - (mean[j] as number)) / (scale[j] as number)));
  // Parameters: d weights, then the bias (not penalised).
  let beta = new Array<number>(d + 1).fill(0);
  for (let iter = 0; iter < 50; iter++) {
    const g = new Array<number>(d + 1).fill(0);
    const h = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < rows.length; i++) {
      const xi = z[i] as number[];
      const r = rows[i] as Row;
      let s = beta[d] as number;
      for (let j = 0; j < d; j++) s += (beta[j] as number) * (xi[j] as number);
      const p = sigmoid(s);
      const wi = r.w * norm;
      const e = wi * (p - r.y);
      const v = wi * p * (1 - p);
      for (let j = 0; j <= d; j++) {
        const xj = j === d ? 1 : (xi[j] as number);
        g[j] = (g[j] as number) + e * xj;
        const hj = h[j] as number[];
        for (let k = j; k <= d; k++) hj[k] = (hj[k] as number) + v * xj * (k === d ? 1 : (xi[k] as number));
      }
    }
    for (let j = 0; j <= d; j++) for (let k = 0; k < j; k++) (h[j] as number[])[k] = (h[k] as number[])[j] as number;
    for (let j = 0; j < d; j++) {
      g[j] = (g[j] as number) + l2 * (beta[j] as number);
      (h[j] as number[])[j] = ((h[j] as number[])[j] as number) + l2;
    }
    (h[d] as number[])[d] = ((h[d] as number[])[d] as number) + 1e-9;
    for (const j of fixed) {
      g[j] = 0;
      const hj = h[j] as number[];
      for (let k = 0; k <= d; k++) {
        hj[k] = 0;
        (h[k] as number[])[j] = 0;
      }
      hj[j] = 1;
    }
    const step = solve(h, g);
    beta = beta.map((b, j) => b - (step[j] as number));
    if (Math.max(...step.map(Math.abs)) < 1e-10) break;
  }
  return { mean, scale, weights: beta.slice(0, d), bias: beta[d] as number };
}

export function logitOf(fit: LogisticFit, x: readonly number[]): number {
  let s = fit.bias;
  for (let j = 0; j < x.length; j++)
    s += (fit.weights[j] as number) * (((x[j] as number) - (fit.mean[j] as number)) / (fit.scale[j] as number));
  return s;
}

/** Platt scaling: a, b with p = σ(a·z + b) fit to labels by weighted logistic regression on the logit z. */
export function fitPlatt(rows: readonly { z: number; y: 0 | 1; w: number }[]): { a: number; b: number } {
  const f = fitLogistic(
    rows.map((r) => ({ x: [r.z], y: r.y, w: r.w })),
    1e-6,
  );
  // Undo the standardisation: a·z + b = w·(z − mean)/scale + bias.
  const a = (f.weights[0] as number) / (f.scale[0] as number);
  return { a, b: f.bias - a * (f.mean[0] as number) };
}
