/**
 * The donor's transfer options on a real SST through the stand-in mysqld:
 * - `[sst] rlimit`: the donor's payload, all its parallel connections together, stays under the limit, and every
 *   byte still arrives. A rate is a lower bound on the time taken, so a slow machine cannot fail this test; only
 *   a limit that is not applied can.
 * - `[sst] compress`: rsync compresses the data passes, so far fewer bytes cross the tunnel than the files hold.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, expect, it } from 'vitest';
import { treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  expectNothingLeft,
  fillSmallDatadir,
  makePair,
  show,
  startDonor,
  startJoiner,
  killLeftovers,
} from './faults-kit.js';

const JOINER = '127.0.0.64';
const MiB = 1024 * 1024;
const RATE = 4 * MiB;
const pair = makePair(
  'rlimit',
  { joiner: JOINER, donor: '127.0.0.65' },
  { 'backup-threads': '3' },
  {
    donor: { rlimit: '4M' },
  },
);
const zipped = makePair(
  'compress',
  { joiner: '127.0.0.66', donor: '127.0.0.67' },
  { 'backup-threads': '3' },
  { donor: { compress: 'zstd' } },
);

afterEach(() => killLeftovers(pair, zipped));
afterAll(() => {
  pair.cleanup();
  zipped.cleanup();
});

it('keeps the donor under [sst] rlimit, all connections together, and every byte arrives', async () => {
  fillSmallDatadir(pair.donor.datadir, 2);
  // Three database directories sent in parallel, 3 MiB each: 9 MiB at 4 MiB/s.
  for (const db of ['big1', 'big2', 'big3']) {
    mkdirSync(join(pair.donor.datadir, db));
    writeFileSync(join(pair.donor.datadir, db, 't.ibd'), randomBytes(3 * MiB));
  }
  const port = 14664;
  const { joiner, payload } = await startJoiner(pair, port);
  const started = performance.now();
  const donor = startDonor(pair, payload);
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  const seconds = (performance.now() - started) / 1000;
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
  expect(dr.stderr).toContain('Sending at most 4.0 MiB/s, all connections together ([sst] rlimit)');
  // 9 MiB and then some at 4 MiB/s, less one burst of 0.4 MiB: over 2 s; unthrottled this takes well under 1 s.
  expect(seconds).toBeGreaterThanOrEqual((9 * MiB - RATE / 10) / RATE);
  for (const db of ['big1', 'big2', 'big3']) {
    expect(treeDigest(join(pair.joiner.datadir, db))).toEqual(treeDigest(join(pair.donor.datadir, db)));
  }
  await expectNothingLeft(pair, [{ host: JOINER, port }]);
});

it('compresses the data passes with [sst] compress: far fewer bytes cross the tunnel, the files arrive whole', async () => {
  fillSmallDatadir(zipped.donor.datadir, 2);
  // 12 MiB of very compressible rows, as a table full of repeated values is.
  const row = Buffer.from('id=000042;name=repeated value;status=active;\n');
  for (const db of ['z1', 'z2', 'z3']) {
    mkdirSync(join(zipped.donor.datadir, db));
    writeFileSync(join(zipped.donor.datadir, db, 't.ibd'), Buffer.alloc(4 * MiB, row));
  }
  const port = 14666;
  const { joiner, payload } = await startJoiner(zipped, port);
  const donor = startDonor(zipped, payload);
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
  for (const db of ['z1', 'z2', 'z3']) {
    expect(treeDigest(join(zipped.joiner.datadir, db))).toEqual(treeDigest(join(zipped.donor.datadir, db)));
  }
  // The joiner's summary counts what crossed the tunnel: a small fraction of the 12 MiB of files.
  const moved = /SST joiner finished: ([\d.]+) (B|KiB|MiB)/.exec(jr.stderr);
  expect(moved, show(jr)).not.toBeNull();
  const bytes = Number(moved?.[1]) * ({ B: 1, KiB: 1024, MiB: MiB }[moved?.[2] as 'B' | 'KiB' | 'MiB'] ?? 0);
  expect(bytes).toBeGreaterThan(0);
  expect(bytes).toBeLessThan(2 * MiB);
  await expectNothingLeft(zipped, [{ host: '127.0.0.66', port }]);
});
