import { describe, expect, it } from 'vitest';
import { median, pairedRatio, spread } from '../../../src/bench/stats.js';

describe('median()', () => {
  it('takes the middle value of an odd count and the mean of the two middle values of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });
  it('ignores values that are not finite and is NaN for nothing', () => {
    expect(median([Number.NaN, 5, Infinity, 1, 3])).toBe(3);
    expect(median([])).toBeNaN();
  });
  it('does not reorder its input', () => {
    const xs = [3, 1, 2];
    median(xs);
    expect(xs).toEqual([3, 1, 2]);
  });
});

describe('spread()', () => {
  it('gives median, min, max and the count of finite values', () => {
    expect(spread([5, 1, Number.NaN, 3])).toEqual({ median: 3, min: 1, max: 5, n: 3 });
    expect(spread([]).n).toBe(0);
  });
});

describe('pairedRatio()', () => {
  it('is the median of per-round ratios, not the ratio of medians', () => {
    // Round drift: the reference and the variant both slow down in round 2; the ratio stays 0.5.
    expect(pairedRatio([1, 4, 1.5], [2, 8, 3])).toBe(0.5);
    expect(median([1, 4, 1.5]) / median([2, 8, 3])).toBeCloseTo(0.5);
    expect(pairedRatio([10, 10, 30], [10, 20, 30])).toBe(1);
  });
  it('skips rounds where either side is missing, not finite or the reference is zero', () => {
    expect(pairedRatio([2, undefined, 6, 1], [1, 5, Number.NaN, 0])).toBe(2);
    // Sparse arrays indexed by round number line up by round.
    const a: (number | undefined)[] = [];
    const b: (number | undefined)[] = [];
    a[1] = 3;
    a[3] = 9;
    b[1] = 1;
    b[2] = 7;
    b[3] = 3;
    expect(pairedRatio(a, b)).toBe(3);
  });
  it('is NaN when no round pairs up', () => {
    expect(pairedRatio([1], [])).toBeNaN();
  });
});
