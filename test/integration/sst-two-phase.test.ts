/**
 * `[sst] copy = two-phase` (issue #22) on a real SST through the stand-in mysqld: the donor's datadir keeps
 * changing while phase 1 sends it (pages rewritten in place with their size and mtime kept, a table created and
 * one dropped), and once more just before the lock (`flush tables`): a page rewritten with its mtime put back,
 * the redo log rewritten in place with its mtime put back, a table grown, one dropped, one created, a database
 * dropped and one created, a file turned into a directory. The joiner must end byte-identical to the donor's
 * final tree, and the donor's log must name both phases, their bytes, and the read-only window.
 */
import { appendFileSync, cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RESEND_MARGIN_NS } from '../../src/sst/changeSelect.js';
import { NODE_LOCAL, PAGE, fillDonorDatadir, rewritePage, treeDigest } from '../helpers/sst-fixture.js';
import { StandinMysqld } from '../helpers/mysqld-standin.js';
import {
  UUID,
  donorCmd,
  expectNothingLeft,
  killLeftovers,
  makePair,
  show,
  startJoiner,
  type Pair,
} from './faults-kit.js';

/** Everything the SST must make identical (the node-local files and the binlogs are the joiner's own). */
function dataOf(datadir: string): Map<string, string> {
  const local = new Set([...NODE_LOCAL, 'mysql-bin.index', 'wsrep_sst.pid']);
  const tree = treeDigest(
    datadir,
    (rel) => local.has(rel) || rel.startsWith('mysql-bin.') || rel.startsWith('stand'),
  );
  // linkeddb, a symlink to a directory outside the datadir, arrives as a directory (as in every mode).
  if (tree.get('linkeddb')?.startsWith('link:') === true) {
    tree.set('linkeddb', 'dir');
    for (const [rel, digest] of treeDigest(join(datadir, 'linkeddb'))) tree.set(`linkeddb/${rel}`, digest);
  }
  return new Map([...tree].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * The default copy; auto's mixed copy (a slow `rlimit`, a joiner holding an older copy of this cluster's
 * datadir: one worker sends whole files + zstd, the other deltas + zstd, during phase 1); and auto probing the
 * link (a data set past the probe's 64 MiB floor, no rlimit): in a two-phase copy the probe rides the byte
 * total's pass, since nothing waits on mysqld before phase 1 starts sending.
 */
const CASES = [
  { name: 'whole files', sst: {}, addresses: { joiner: '127.0.0.190', donor: '127.0.0.191' }, port: 14790 },
  {
    name: 'auto, mixed',
    sst: { transfer: 'auto', rlimit: '16M' },
    addresses: { joiner: '127.0.0.192', donor: '127.0.0.193' },
    port: 14791,
  },
  {
    name: 'auto, probed',
    sst: { transfer: 'auto' },
    addresses: { joiner: '127.0.0.194', donor: '127.0.0.195' },
    port: 14792,
  },
] as const;
const pairs: Pair[] = CASES.map((c) =>
  makePair(
    `two-phase-${c.port}`,
    c.addresses,
    {},
    { donor: { copy: 'two-phase', 'backup-threads': '2', ...c.sst } },
  ),
);
afterEach(() => killLeftovers(...pairs));
afterAll(() => {
  for (const pair of pairs) pair.cleanup();
});

describe.each(CASES.map((c, i) => [c.name, c, i] as const))('[sst] copy = two-phase: %s', (_, mode, i) => {
  it(
    'sends while the donor changes, re-sends under the lock only what changed, and the joiner ends identical',
    { timeout: 120_000 },
    async () => {
      const pair = pairs[i] as Pair;
      const donorDir = pair.donor.datadir;
      fillDonorDatadir(donorDir, join(pair.base, 'external'));
      mkdirSync(join(donorDir, 'hot'));
      for (const t of ['a', 'b', 'c', 'd'])
        writeFileSync(join(donorDir, 'hot', `${t}.ibd`), randomBytes(64 * PAGE));
      mkdirSync(join(donorDir, 'idle'));
      writeFileSync(join(donorDir, 'idle', 'big.ibd'), randomBytes(4 << 20));
      // Past the size auto probes the link for; idle, so phase 2 leaves it alone.
      if (mode.name === 'auto, probed')
        writeFileSync(join(donorDir, 'idle', 'huge.ibd'), randomBytes(64 << 20));
      mkdirSync(join(donorDir, 'doomed'));
      writeFileSync(join(donorDir, 'doomed', 't.ibd'), randomBytes(PAGE));
      // Files are trusted only when their stamps (ctime too, which no one can set) are older than the copy's start
      // by the rule's margin: let the fixture's files age past it, so phase 2 has something to leave alone.
      await new Promise((r) => setTimeout(r, Number(RESEND_MARGIN_NS / 1_000_000n) + 1000));
      if (mode.name === 'auto, mixed') {
        // The joiner went away a while ago: it holds an older copy of this cluster's datadir.
        // linkeddb arrives as a directory (as an SST leaves it), not as the donor's symlink.
        cpSync(donorDir, pair.joiner.datadir, {
          recursive: true,
          preserveTimestamps: true,
          dereference: true,
        });
        for (const t of ['a', 'b']) rewritePage(join(pair.joiner.datadir, 'hot', `${t}.ibd`), 1);
        writeFileSync(
          join(pair.joiner.datadir, 'grastate.dat'),
          `version: 2.1\nuuid:    ${UUID}\nseqno:   40\n`,
        );
      }
      const port = mode.port;
      const { joiner, payload } = await startJoiner(pair, port);

      // Writes while phase 1 runs (from its first log line on): a hot table rewritten in place all along (mtime
      // put back each time), a database dropped, a table created, one dropped.
      let writes = 0;
      const started: { donor?: StandinMysqld } = {};
      const load = setInterval(() => {
        if (started.donor?.stderr.includes('Phase 1 (donor writable)') !== true) return;
        rewritePage(join(donorDir, 'hot', 'a.ibd'), writes % 64);
        if (writes === 1) rmSync(join(donorDir, 'doomed'), { recursive: true });
        if (writes === 3) writeFileSync(join(donorDir, 'hot', 'created-in-phase-1.ibd'), randomBytes(PAGE));
        if (writes === 5) rmSync(join(donorDir, 'hot', 'd.ibd'));
        writes++;
      }, 5);
      const beforeLock = (): void => {
        clearInterval(load);
        // The last writes before the lock, after phase 1 has sent everything.
        rewritePage(join(donorDir, 'hot', 'b.ibd'), 7);
        rewritePage(join(donorDir, 'ib_logfile0'), 3);
        appendFileSync(join(donorDir, 'hot', 'c.ibd'), randomBytes(PAGE));
        rmSync(join(donorDir, 'db1', 'table with space.frm'));
        writeFileSync(join(donorDir, 'db1', 'new table.ibd'), randomBytes(3 * PAGE));
        rmSync(join(donorDir, '-dash db'), { recursive: true });
        mkdirSync(join(donorDir, 'newdb'));
        writeFileSync(join(donorDir, 'newdb', 't.ibd'), randomBytes(PAGE));
        rmSync(join(donorDir, 'db1', 'nested', 'deeper', 'file'));
        mkdirSync(join(donorDir, 'db1', 'nested', 'deeper', 'file'));
      };
      const donor = new StandinMysqld(donorCmd(pair, payload, { binlog: 'mysql-bin' }), {
        datadir: donorDir,
        flushAnswer: `${UUID}:42 0`,
        relayFrom: { payload },
        onFlush: beforeLock,
      });
      started.donor = donor;
      const [jr, dr] = await Promise.all([joiner.wait(90_000), donor.wait(90_000)]);
      clearInterval(load);
      expect(dr.exitCode, show(dr)).toBe(0);
      expect(jr.exitCode, show(jr)).toBe(0);
      expect(dr.lines).toEqual(['flush tables', 'continue', `done ${UUID}:42 0`]);
      expect(jr.lines).toEqual([`ready ${payload}`, `${UUID}:42 0`]);
      expect(writes, 'the load ran during phase 1').toBeGreaterThan(5);
      await expectNothingLeft(pair, [{ host: pair.joiner.address, port }]);

      expect(dataOf(pair.joiner.datadir)).toEqual(dataOf(donorDir));
      expect(dr.stderr).toMatch(/Phase 1 \(donor writable\): sending the data set before "flush tables"/);
      expect(dr.stderr).toMatch(/Phase 1 done: [\d.]+ MiB of data, [\d.]+ MiB on the wire in [\d.]+ s/);
      expect(dr.stderr).toMatch(/Phase 2 \(read-only\): re-sending \d+ entries/);
      expect(dr.stderr).toMatch(/Read-only window \(tables_flushed to continue\): [\d.]+ s/);
      // Phase 2 re-sent the changed files (3 hot tables of 1 MiB, the 1 MiB redo log, the new ones), not the idle
      // tables (4 MiB idle/big.ibd, 3 MiB db1/t1.ibd, 2 MiB ibdata1): well under half of phase 1's 13.5 MiB.
      const two = /Phase 2 done: ([\d.]+) (B|KiB|MiB) of data/.exec(dr.stderr);
      expect(two, dr.stderr).not.toBeNull();
      const bytes = Number(two?.[1]) * { B: 1, KiB: 1024, MiB: 1 << 20 }[two?.[2] as 'B'];
      expect(bytes, dr.stderr).toBeLessThan(6 << 20);
      expect(bytes, dr.stderr).toBeGreaterThan(4 << 20);
      if (mode.name === 'auto, mixed') {
        expect(dr.stderr).toMatch(
          /Transfer: whole files \+ zstd beside delta \+ zstd \(auto: the joiner holds a datadir/,
        );
        expect(dr.stderr).toMatch(/Mixed copy: whole files for [^;]+; deltas for directory /);
      }
      if (mode.name === 'auto, probed') {
        expect(dr.stderr).toMatch(
          /Link probe: [\d.]+ MiB of zeros, read [\d.]+ [KMG]?i?B\/s over its second half(; then 2 x [\d.]+ MiB at once, read [\d.]+ [KMG]?i?B\/s)?, riding the byte total's pass/,
        );
        expect(dr.stderr).toMatch(
          /Transfer: (whole files|whole files \+ zstd) \(auto: the joiner holds no datadir of a cluster it names; the link moved [\d.]+ [KMG]?i?B\/s/,
        );
      }
      // The joiner's own files were kept.
      expect(dataOf(pair.joiner.datadir).has('grastate.dat')).toBe(false);
    },
  );
});
