import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { checkCompression, offeredCompressions, parseRsyncVersion } from '../../../src/sst/prepare.js';

const RSYNC_35 = `rsync  version 3.5.0  protocol version 32
Copyright (C) 1996-2025 by Andrew Tridgell, Wayne Davison, and others.
Checksum list:
    xxh128 xxh3 xxh64 (xxhash) md5 md4 sha1 none
Compress list:
    zstd lz4 zlibx zlib none
Daemon auth list:
    sha512 sha256 sha1 md5 md4
`;
const RSYNC_313 = `rsync  version 3.1.3  protocol version 31
Copyright (C) 1996-2018 by Andrew Tridgell, Wayne Davison, and others.
`;

describe('[sst] compress against the rsync at hand', () => {
  it("reads rsync's compress list, without 'none'", () => {
    expect(offeredCompressions(RSYNC_35)).toEqual(['zstd', 'lz4', 'zlibx', 'zlib']);
    expect(offeredCompressions(RSYNC_313)).toEqual([]);
  });

  it('accepts on (auto) with any rsync, and an algorithm the rsync offers', () => {
    expect(() => checkCompression(undefined, 'rsync', parseRsyncVersion(RSYNC_313))).not.toThrow();
    expect(() => checkCompression('auto', 'rsync', parseRsyncVersion(RSYNC_313))).not.toThrow();
    expect(() => checkCompression('lz4', 'rsync', parseRsyncVersion(RSYNC_35))).not.toThrow();
  });

  it('refuses, before the transfer, an algorithm this rsync cannot use, naming what it can', () => {
    const lz4Only = RSYNC_35.replace('zstd lz4 zlibx zlib none', 'lz4 zlib none');
    const error = (() => {
      try {
        checkCompression('zstd', '/usr/bin/rsync', parseRsyncVersion(lz4Only));
      } catch (e) {
        return e as Error & { exitCode: number };
      }
      return undefined;
    })();
    expect(error?.message).toBe(
      'Cannot use [sst] compress = "zstd": /usr/bin/rsync (rsync  version 3.5.0  protocol version 32) offers only lz4, zlib',
    );
    expect(error?.exitCode).toBe(22);
    expect(() => checkCompression('zlib', 'rsync', parseRsyncVersion(RSYNC_313))).toThrow(
      /cannot choose a compression \(rsync 3\.2 or later can\); use compress = on/,
    );
  });

  it("matches this machine's real rsync output", () => {
    const real = spawnSync('rsync', ['--version'], { encoding: 'utf8' }).stdout;
    expect(offeredCompressions(real)).toContain('zlib');
  });
});
