import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rotate, roundOrder, warmTree } from '../../../src/bench/pageCache.js';

describe('rotate', () => {
  it('starts each round with the next variant and keeps every variant once', () => {
    const v = ['a', 'b', 'c'];
    expect(rotate(v, 0)).toEqual(['a', 'b', 'c']);
    expect(rotate(v, 1)).toEqual(['b', 'c', 'a']);
    expect(rotate(v, 2)).toEqual(['c', 'a', 'b']);
    expect(rotate(v, 3)).toEqual(['a', 'b', 'c']);
    expect(rotate(v, -1)).toEqual(['c', 'a', 'b']);
    expect(rotate([], 5)).toEqual([]);
  });
});

describe('roundOrder', () => {
  it('runs every variant once a round, each first in turn, and each after different ones from round to round', () => {
    const v = ['whole', 'zstd', 'auto'];
    expect(roundOrder(v, 1)).toEqual(['whole', 'zstd', 'auto']);
    expect(roundOrder(v, 2)).toEqual(['whole', 'auto', 'zstd']);
    expect(roundOrder(v, 3)).toEqual(['auto', 'whole', 'zstd']);
    // What ran just before each variant within a round, over 4 rounds: a rotation alone always put zstd before
    // auto (the wan bench charged the SST after a zstd one, slower to flush in mysqld, to auto).
    const before = new Map<string, Set<string>>();
    for (let round = 1; round <= 4; round++) {
      const order = roundOrder(v, round);
      expect([...order].sort()).toEqual([...v].sort());
      order.forEach((x, i) => {
        if (i > 0) before.set(x, (before.get(x) ?? new Set()).add(order[i - 1] as string));
      });
    }
    expect(before.get('auto')).toEqual(new Set(['whole', 'zstd']));
    expect(before.get('zstd')).toEqual(new Set(['whole', 'auto']));
    expect(roundOrder([], 2)).toEqual([]);
  });
});

describe('warmTree', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads every regular file below the root, larger than its buffer too, and skips symlinks', () => {
    dir = mkdtempSync(join(tmpdir(), 'warm-'));
    mkdirSync(join(dir, 'db', 'deeper'), { recursive: true });
    writeFileSync(join(dir, 'top'), Buffer.alloc(10));
    writeFileSync(join(dir, 'db', 'big.ibd'), Buffer.alloc((1 << 20) * 2 + 7));
    writeFileSync(join(dir, 'db', 'deeper', 'empty'), '');
    symlinkSync(join(dir, 'db', 'big.ibd'), join(dir, 'link'));
    expect(warmTree(dir)).toBe(10 + (1 << 20) * 2 + 7);
  });
});
