/** Small statistics shared by the fidelity benches (bench/sim/fidelity.ts, kernel-anchor.ts). */

/** The median of xs (the mean of the middle two for an even count). */
export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** One value, or the median and range of several. */
export const spread = (xs: number[], digits: number): string =>
  xs.length === 1
    ? xs[0]!.toFixed(digits)
    : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;
