/**
 * `[sst] transfer` and `[sst] compress` on a real SST through the stand-in mysqld, one pair per mode, on
 * loopback: a first SST to an empty joiner, then a second one to the same joiner, which now holds an older copy
 * of the data set (files changed in place, grown, shrunk, deleted, new files and directories). Both must arrive
 * identical in every mode. Not timed: the only figures asserted are bytes on the wire, which depend on the mode,
 * not on the machine's load.
 *
 * auto runs once per rule (transferMode.ts chooseTransfer), each asserted through the donor's one `Transfer:`
 * line: a data set too small to probe the link for (whole files); a very slow link known from `[sst] rlimit`
 * (whole files + zstd to the empty joiner, deltas + zstd to the one holding this cluster's datadir); a link slow
 * enough for zstd but not for the donor's delta checksums (whole files + zstd to that joiner); the link probe (a
 * data set large enough to probe for: which way it goes depends on this machine's loopback under load, so only
 * the probe's line and the data are asserted); and a joiner whose rsync does not list zstd (a wrapper that hides
 * it from `rsync --version`): lz4 instead, logged.
 */
import {
  mkdirSync,
  mkdtempSync,
  rmSync,
  truncateSync,
  utimesSync,
  writeFileSync,
  appendFileSync,
  statSync,
} from 'node:fs';
import { chmodSync, openSync, writeSync, closeSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  expectNothingLeft,
  fillSmallDatadir,
  killLeftovers,
  makePair,
  show,
  startDonor,
  startJoiner,
  type Pair,
} from './faults-kit.js';

const MiB = 1024 * 1024;
const PAGE = 16 * 1024;

/** Rows of text and numbers, as a table holds them: compressible, but not one repeated byte. */
function rows(bytes: number, seed: number): Buffer {
  const words = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet'];
  let x = seed >>> 0 || 1;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  const parts: string[] = [];
  let size = 0;
  while (size < bytes) {
    const line = `${next() % 1_000_000}\t${words[next() % 10]} ${words[next() % 10]}\t${(next() % 100_000) / 100}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

/**
 * A donor datadir of three databases with 1 MiB tables, plus the small system files of fillSmallDatadir; and
 * `bigMiB` more in one table of its own database, for a data set large enough to probe the link for.
 */
function fillDonor(datadir: string, bigMiB = 0): void {
  fillSmallDatadir(datadir, 0);
  let seed = 1;
  for (const db of ['shop', 'crm', 'logs']) {
    mkdirSync(join(datadir, db), { recursive: true });
    for (const t of ['a', 'b', 'c']) writeFileSync(join(datadir, db, `${t}.ibd`), rows(MiB, seed++));
    writeFileSync(join(datadir, db, 'db.opt'), 'default-character-set=utf8mb4\n');
  }
  if (bigMiB > 0) {
    mkdirSync(join(datadir, 'big'));
    writeFileSync(join(datadir, 'big', 't.ibd'), rows(bigMiB * MiB, 4242));
  }
}

/** An rsync that hides zstd from `rsync --version` (as an rsync built without it would), else the real one. */
function rsyncWithoutZstd(dir: string): string {
  const path = join(dir, 'rsync-no-zstd');
  writeFileSync(
    path,
    `#!/bin/sh\nif [ "$1" = --version ]; then rsync --version | sed '/^Compress list:/{n;s/zstd //g}'; exit 0; fi\nexec rsync "$@"\n`,
  );
  chmodSync(path, 0o755);
  return path;
}

/**
 * What happens on the donor while the joiner is away: pages rewritten in place (one of them with the file's
 * size and mtime kept, which a size+mtime check would miss), a table grown, one shrunk, one dropped, one
 * created, a database dropped and one created.
 */
function age(datadir: string): void {
  const changed = join(datadir, 'shop', 'a.ibd');
  const before = statSync(changed);
  const fd = openSync(changed, 'r+');
  for (const page of [3, 17, 40]) writeSync(fd, rows(PAGE, 1000 + page), 0, PAGE, page * PAGE);
  closeSync(fd);
  utimesSync(changed, before.atime, before.mtime);
  appendFileSync(join(datadir, 'shop', 'b.ibd'), rows(MiB / 4, 77));
  truncateSync(join(datadir, 'crm', 'a.ibd'), MiB / 2);
  rmSync(join(datadir, 'crm', 'b.ibd'));
  writeFileSync(join(datadir, 'crm', 'new.ibd'), rows(MiB / 2, 88));
  rmSync(join(datadir, 'logs'), { recursive: true });
  mkdirSync(join(datadir, 'fresh'));
  writeFileSync(join(datadir, 'fresh', 't.ibd'), rows(MiB / 4, 99));
}

/** Everything the SST must make identical: the database directories and the InnoDB system files. */
function dataOf(datadir: string): Map<string, string> {
  const local = new Set(['grastate.dat', 'mysql-bin.000001', 'mysql-bin.index', 'wsrep_sst.pid']);
  return treeDigest(datadir, (rel) => local.has(rel) || rel.startsWith('stand'));
}

/** Bytes on the wire from the joiner's summary line (`...; 12.0 MiB of data, 1.3 MiB on the wire (0.11x)`). */
function wire(stderr: string): { data: number; wire: number } {
  const m = /SST joiner finished: .*; ([\d.]+) (B|KiB|MiB) of data, ([\d.]+) (B|KiB|MiB) on the wire/.exec(
    stderr,
  );
  if (m === null) throw new Error(`no wire figures in:\n${stderr}`);
  const unit = { B: 1, KiB: 1024, MiB };
  return {
    data: Number(m[1]) * unit[m[2] as 'B'],
    wire: Number(m[3]) * unit[m[4] as 'B'],
  };
}

interface Mode {
  name: string;
  sst: Record<string, string>;
  /** The joiner's own [sst] options (besides the mode's). */
  joiner?: (base: string) => Record<string, string>;
  /** MiB more data on the donor (a table of its own). */
  bigMiB?: number;
  /** The donor's `Transfer:` line on the first SST, when asserted. */
  first?: RegExp;
  /** The donor's first `Transfer:` line, for the second SST. */
  second: RegExp;
  /** Upper bound of wire/data on the second SST: deltas send only what changed. */
  secondWireAtMost: number;
  firstWireAtMost: number;
}

/** The auto-mixed case's [sst] rlimit, MiB/s: just above deltaBelow on this machine's cores. */
const MIXED_RATE = 7 * availableParallelism() + 2;

const MODES: Mode[] = [
  {
    name: 'whole',
    sst: { transfer: 'whole' },
    second: /Transfer: whole files \(\[sst\] transfer = whole\)/,
    secondWireAtMost: 1.2,
    firstWireAtMost: 1.2,
  },
  {
    name: 'delta',
    sst: { transfer: 'delta' },
    second: /Transfer: delta \(\[sst\] transfer = delta\)/,
    secondWireAtMost: 0.4,
    firstWireAtMost: 1.2,
  },
  {
    name: 'compress',
    sst: { transfer: 'whole', compress: 'zstd' },
    second: /Transfer: whole files \+ zstd \(\[sst\] transfer = whole\)/,
    secondWireAtMost: 0.8,
    firstWireAtMost: 0.8,
  },
  {
    name: 'auto-small',
    sst: { transfer: 'auto' },
    second:
      /Transfer: whole files \(auto: the joiner holds a datadir of this cluster \(seqno 42\); [\d.]+ MiB of data is too little for the link's speed to matter/,
    secondWireAtMost: 1.2,
    firstWireAtMost: 1.2,
  },
  {
    name: 'auto-very-slow',
    sst: { transfer: 'auto', rlimit: '4M' },
    first:
      /Transfer: whole files \+ zstd \(auto: the joiner holds no datadir of a cluster it names; \[sst\] rlimit 4\.0 MiB\/s is below .*; zstd pays on a slow link\)/,
    second:
      /Transfer: delta \+ zstd \(auto: the joiner holds a datadir of this cluster \(seqno 42\); \[sst\] rlimit 4\.0 MiB\/s is below .*; deltas pay below [\d.]+ MiB\/s; zstd pays on a slow link\)/,
    secondWireAtMost: 0.25,
    firstWireAtMost: 0.8,
  },
  {
    name: 'auto-slow',
    // Between the thresholds on any number of cores (deltaBelow 7 MiB/s a core, mixedBelow 30 MiB/s,
    // compressBelow 120 MiB/s a core).
    sst: { transfer: 'auto', rlimit: `${Math.max(10 * availableParallelism(), 32)}M` },
    second:
      /Transfer: whole files \+ zstd \(auto: the joiner holds a datadir of this cluster \(seqno 42\); \[sst\] rlimit [\d.]+ MiB\/s is below .*; deltas pay only below [\d.]+ MiB\/s .*; zstd pays on a slow link\)/,
    secondWireAtMost: 0.8,
    firstWireAtMost: 0.8,
  },
  {
    name: 'auto-mixed',
    // Above deltaBelow (7 MiB/s a core), below mixedBelow (30 MiB/s), two workers: one sends whole files + zstd,
    // the other deltas + zstd. Past 3 cores that window is empty and deltas go on every worker.
    sst: { transfer: 'auto', rlimit: `${MIXED_RATE}M` },
    second:
      MIXED_RATE < 30
        ? /Transfer: whole files \+ zstd beside delta \+ zstd \(auto: the joiner holds a datadir of this cluster \(seqno 42\); \[sst\] rlimit [\d.]+ MiB\/s is below .*; one worker's whole files fill a link below 30\.0 MiB\/s: 2 more compute deltas beside it; zstd pays on a slow link\)[^]*Mixed copy: whole files for directory [a-z]+(, directory [a-z]+)*; deltas for directory [a-z]+/
        : /Transfer: delta \+ zstd \(auto: /,
    secondWireAtMost: 0.8,
    firstWireAtMost: 0.8,
  },
  {
    name: 'auto-probe',
    sst: { transfer: 'auto' },
    bigMiB: 72,
    // Any way, by what the probe measured: deltas + zstd, whole files + zstd, or whole files (fast).
    second:
      /Transfer: (delta \+ zstd|whole files \+ zstd beside delta \+ zstd|whole files \+ zstd|whole files) \(auto: the joiner holds a datadir of this cluster \(seqno 42\); the link moved [\d.]+ [KMG]?i?B\/s on the probe \(~[\d.]+ [KMG]?i?B\/s for a long copy\), (below|at least) the [\d.]+ MiB\/s zstd feeds on \d+ core\(s\)/,
    secondWireAtMost: 1.6,
    firstWireAtMost: 1.6,
  },
  {
    name: 'auto-no-zstd',
    sst: { transfer: 'auto', rlimit: '4M' },
    joiner: (base) => ({ rsync: rsyncWithoutZstd(base) }),
    second:
      /Transfer: delta \+ lz4 \(auto: .*deltas pay below [\d.]+ MiB\/s; the joiner's rsync lacks zstd: lz4 instead\)/,
    secondWireAtMost: 0.4,
    firstWireAtMost: 0.8,
  },
];

// Programs a mode's joiner runs instead of the system's (the rsync without zstd).
const tools = mkdtempSync(join(tmpdir(), 'sst-transfer-tools-'));
const pairs: Pair[] = MODES.map((mode, i) =>
  makePair(
    `transfer-${mode.name}`,
    { joiner: `127.0.0.${170 + 2 * i}`, donor: `127.0.0.${171 + 2 * i}` },
    {},
    // copy = single: wire against data is each mode's own figure; a two-phase copy of files written seconds ago
    // (this fixture's) re-sends them all in its second phase, which would double it.
    {
      donor: { ...mode.sst, 'backup-threads': '2', copy: 'single' },
      ...(mode.joiner !== undefined && { joiner: mode.joiner(tools) }),
    },
  ),
);
afterEach(() => killLeftovers(...pairs));
afterAll(() => {
  for (const pair of pairs) pair.cleanup();
  rmSync(tools, { recursive: true, force: true });
});

async function sst(pair: Pair, port: number): Promise<{ joiner: string; donor: string }> {
  const { joiner, payload } = await startJoiner(pair, port);
  const donor = startDonor(pair, payload);
  const [jr, dr] = await Promise.all([joiner.wait(90_000), donor.wait(90_000)]);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
  // stdout carries the protocol only: the probe's, the split's and the mixed copy's lines go to stderr.
  expect(dr.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
  await expectNothingLeft(pair, [{ host: pair.joiner.address, port }]);
  return { joiner: jr.stderr, donor: dr.stderr };
}

describe.each(MODES.map((mode, i) => [mode.name, mode, i] as const))('[sst] transfer: %s', (_, mode, i) => {
  it('fills an empty joiner, then brings a joiner holding an older copy up to date, identical both times', async () => {
    const pair = pairs[i] as Pair;
    const port = 14700 + i;
    fillDonor(pair.donor.datadir, mode.bigMiB);
    const first = await sst(pair, port);
    if (mode.first !== undefined) expect(first.donor).toMatch(mode.first);
    expect(dataOf(pair.joiner.datadir)).toEqual(dataOf(pair.donor.datadir));
    const one = wire(first.joiner);
    expect(one.wire / one.data, first.joiner).toBeLessThan(mode.firstWireAtMost);

    // The joiner went away: it keeps its copy and its grastate.dat names this cluster; the donor moves on.
    writeFileSync(join(pair.joiner.datadir, 'grastate.dat'), `version: 2.1\nuuid:    ${UUID}\nseqno:   42\n`);
    age(pair.donor.datadir);
    expect(dataOf(pair.joiner.datadir)).not.toEqual(dataOf(pair.donor.datadir));
    const second = await sst(pair, port);
    expect(second.donor).toMatch(mode.second);
    if (mode.name === 'auto-probe')
      // copy = single: the probe ran while mysqld flushed its tables, in a pass of its own.
      expect(second.donor).toMatch(
        /Link probe: [\d.]+ MiB of zeros, read [\d.]+ [KMG]?i?B\/s over its second half(; then 2 x [\d.]+ MiB at once, read [\d.]+ [KMG]?i?B\/s)?, while mysqld flushed its tables \(the copy waited [\d.]+ s for it\)/,
      );
    expect(dataOf(pair.joiner.datadir)).toEqual(dataOf(pair.donor.datadir));
    const two = wire(second.joiner);
    expect(two.wire / two.data, second.joiner).toBeLessThan(mode.secondWireAtMost);
    // The donor's summary names the mode and the bytes on the wire against the data.
    expect(second.donor).toMatch(
      /SST donor finished: .*; transfer [a-z0-9 +]+: [\d.]+ [KMG]?i?B of data, [\d.]+ [KMG]?i?B on the wire/,
    );
  });
});
