/** Dollars (and ratios of them) to 9 decimals: a nano-dollar, below any price, without binary-float tails. */
export const r9 = (n: number): number => Math.round(n * 1e9) / 1e9;
