import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rotate, warmTree } from '../../../src/bench/pageCache.js';

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
