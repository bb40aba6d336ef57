import {
  mkdtempSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { binlogNames, installBinlogs, lastBinlogs, packBinlogs } from '../../../src/sst/binlog.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'binlog-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('binlogNames()', () => {
  it('resolves relative names against the datadir and appends .index', () => {
    expect(binlogNames('/d', 'mysql-bin')).toEqual({
      base: '/d/mysql-bin',
      dir: '/d',
      index: '/d/mysql-bin.index',
      relative: true,
    });
    expect(binlogNames('/d', '/logs/b', 'idx')).toMatchObject({
      base: '/logs/b',
      index: '/d/idx.index',
      relative: false,
    });
    expect(binlogNames('/d', 'b', '/x/my.idx').index).toBe('/x/my.idx');
  });
});

describe('lastBinlogs()', () => {
  it('takes the last N, none for 0, all for a negative count', () => {
    expect(lastBinlogs(['a', 'b', 'c'], 1)).toEqual(['c']);
    expect(lastBinlogs(['a', 'b', 'c'], 2)).toEqual(['b', 'c']);
    expect(lastBinlogs(['a', 'b', 'c'], 0)).toEqual([]);
    expect(lastBinlogs(['a', 'b', 'c'], -1)).toEqual(['a', 'b', 'c']);
  });
});

describe('packBinlogs() + installBinlogs()', () => {
  it('moves the last binlogs from donor to joiner and rebuilds the index', async () => {
    const donor = join(dir, 'donor');
    const joiner = join(dir, 'joiner');
    mkdirSync(donor);
    mkdirSync(joiner);
    writeFileSync(join(donor, 'mysql-bin.000001'), 'one');
    writeFileSync(join(donor, 'mysql-bin.000002'), Buffer.alloc(70_000, 7));
    writeFileSync(join(donor, 'mysql-bin.index'), './mysql-bin.000001\n./mysql-bin.000002\n');
    const tar = join(donor, 'wsrep_sst_binlog.tar');
    const packed = await packBinlogs(donor, binlogNames(donor, 'mysql-bin'), 1, tar);
    expect(packed).toEqual(['mysql-bin.000002']);

    // The joiner has stale binlogs of its own, listed and unlisted: all go.
    writeFileSync(join(joiner, 'mysql-bin.000007'), 'stale');
    writeFileSync(join(joiner, 'mysql-bin.000008'), 'stale, unlisted');
    writeFileSync(join(joiner, 'mysql-bin.index'), './mysql-bin.000007\n');
    writeFileSync(join(joiner, 'mysql-bin.cnf'), 'not a binlog: kept');
    const installed = await installBinlogs(joiner, binlogNames(joiner, 'mysql-bin'), tar);
    expect(installed).toEqual(['mysql-bin.000002']);
    expect(readdirSync(joiner).sort()).toEqual(['mysql-bin.000002', 'mysql-bin.cnf', 'mysql-bin.index']);
    expect(readFileSync(join(joiner, 'mysql-bin.000002'))).toEqual(Buffer.alloc(70_000, 7));
    expect(readFileSync(join(joiner, 'mysql-bin.index'), 'utf8')).toBe('./mysql-bin.000002\n');
  });

  it('writes absolute index lines for an absolute base', async () => {
    writeFileSync(join(dir, 'b.000003'), 'x');
    writeFileSync(join(dir, 'b.index'), `${join(dir, 'b.000003')}\n`);
    const tar = join(dir, 't.tar');
    await packBinlogs(dir, binlogNames(dir, join(dir, 'b')), -1, tar);
    const target = join(dir, 'j');
    mkdirSync(target);
    await installBinlogs(target, binlogNames(target, join(target, 'logs', 'b')), tar);
    expect(readFileSync(join(target, 'logs', 'b.index'), 'utf8')).toBe(
      `${join(target, 'logs', 'b.000003')}\n`,
    );
  });

  it('sends nothing (and writes no tarball) when the index is missing', async () => {
    const tar = join(dir, 't.tar');
    expect(await packBinlogs(dir, binlogNames(dir, 'mysql-bin'), 1, tar)).toEqual([]);
    expect(existsSync(tar)).toBe(false);
  });

  it('removes old binlogs even when no tarball came', async () => {
    writeFileSync(join(dir, 'mysql-bin.000001'), 'old');
    writeFileSync(join(dir, 'mysql-bin.index'), './mysql-bin.000001\n');
    expect(await installBinlogs(dir, binlogNames(dir, 'mysql-bin'), join(dir, 'none.tar'))).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});
