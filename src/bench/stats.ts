/**
 * Statistics for interleaved benchmark rounds (tunnel-performance.md "Noise"): medians with their range, and paired
 * ratios, the median over rounds of (variant ÷ reference in the same round), which cancels drift on a shared host.
 * Pure.
 */

/** Median of a non-empty list (mean of the two middle values for an even count); NaN for an empty one. */
export function median(values: readonly number[]): number {
  const xs = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (xs.length === 0) return Number.NaN;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? (xs[mid] as number) : ((xs[mid - 1] as number) + (xs[mid] as number)) / 2;
}

/** Median with min and max, the shape every table cell uses. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median, min and max of the finite values. */
export function spread(values: readonly number[]): Spread {
  const xs = values.filter((x) => Number.isFinite(x));
  if (xs.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

/**
 * Median over rounds of value[i] ÷ reference[i]. Rounds where either side is missing, not finite or the
 * reference is 0 are skipped, so one failed run does not shift the pairing.
 */
export function pairedRatio(
  values: readonly (number | undefined)[],
  reference: readonly (number | undefined)[],
): number {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(values.length, reference.length); i++) {
    const v = values[i];
    const r = reference[i];
    if (v === undefined || r === undefined || !Number.isFinite(v) || !Number.isFinite(r) || r === 0) continue;
    ratios.push(v / r);
  }
  return median(ratios);
}
