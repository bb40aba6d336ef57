/**
 * Fault matrix, timeouts and dead peers: a donor that never comes, a transfer that stalls, a donor or a joiner
 * killed mid-transfer. Every failure is bounded by an `[sst]` timeout (shrunk here), named in the log, ends with the
 * contract's exit code, and the joiner never prints a state line for data it did not fully receive. After a crash,
 * the next SST on the same datadirs recovers the leftovers and moves the data byte for byte.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { processesMentioning, readyLineFor, treeDigest } from '../helpers/sst-fixture.js';
import {
  UUID,
  holdPassMidTransfer,
  expectNothingLeft,
  fillSmallDatadir,
  makePair,
  processTree,
  show,
  signalAll,
  startDonor,
  startJoiner,
  type Pair,
  addBigDatabase,
} from './faults-kit.js';

const JOINER = '127.0.0.50';
let pair: Pair;

beforeAll(() => {
  pair = makePair(
    'timeouts',
    { joiner: JOINER, donor: '127.0.0.51' },
    { 'connect-timeout': '3', 'idle-timeout': '2', 'handshake-timeout': '2', 'backup-threads': '1' },
    // copy = single: the data moves inside the lock, after `flush tables`, the line order these tests expect (the
    // two-phase default sends it before; sst-two-phase, sst-interop and e2e/galera-two-phase cover that).
    { donor: { copy: 'single' } },
  );
  fillSmallDatadir(pair.donor.datadir, 3);
  addBigDatabase(pair.donor.datadir);
});

afterEach(() => {
  // Whatever a failed assertion left running: stopped processes first get SIGCONT so SIGKILL reaps them at once.
  const left = processesMentioning(pair.base).map((p) => p.pid);
  signalAll(left, 'SIGKILL');
});

afterAll(() => pair.cleanup());

const skipLocal = (rel: string): boolean => rel === 'grastate.dat' || rel.startsWith('mysql-bin.');

/** A full SST on the pair that must succeed and leave the joiner identical to the donor. */
async function recoverySst(port: number): Promise<void> {
  const { joiner, payload } = await startJoiner(pair, port);
  const donor = startDonor(pair, payload);
  const [jr, dr] = await Promise.all([joiner.wait(60_000), donor.wait(60_000)]);
  expect(jr.exitCode, show(jr)).toBe(0);
  expect(jr.lines.at(-1)).toBe(`${UUID}:42 0`);
  expect(dr.exitCode, show(dr)).toBe(0);
  expect(treeDigest(pair.joiner.datadir, skipLocal)).toEqual(treeDigest(pair.donor.datadir, skipLocal));
}

describe('timeouts and dead peers', () => {
  it('gives up when no donor connects: [sst] connect-timeout, exit 110, nothing after ready', async () => {
    const port = 14501;
    const { joiner } = await startJoiner(pair, port);
    const readyAt = Date.now();
    const r = await joiner.wait(20_000);
    const waited = Date.now() - readyAt;
    expect(r.exitCode, show(r)).toBe(110);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(readyLineFor(`${JOINER}:${port}/rsync_tunnel_sst`));
    expect(r.stderr).toContain('No donor connected within 3 s ([sst] connect-timeout)');
    expect(waited).toBeGreaterThanOrEqual(2900);
    expect(waited).toBeLessThan(8000);
    await expectNothingLeft(pair, [{ host: JOINER, port }]);
  });

  it('fails both sides, named, when the transfer stalls (donor rsync stopped): [sst] idle-timeout, exit 110', async () => {
    const port = 14502;
    const { joiner, payload } = await startJoiner(pair, port);
    const donor = startDonor(pair, payload);
    const held = await holdPassMidTransfer(() => [donor.pid as number]);
    const stoppedAt = Date.now();
    try {
      const [jr, dr] = await Promise.all([joiner.wait(30_000), donor.wait(30_000)]);
      expect(jr.exitCode, show(jr)).toBe(110);
      expect(jr.lines).toEqual([`ready ${payload}`]);
      // Whichever side's idle timer fires first ends the connection; the joiner names it either way.
      expect(jr.stderr).toMatch(
        /No data moved for 2 s \(\[sst\] idle-timeout\)|The donor opened no new connection for 3 s and never sent the completion marker/,
      );
      // The donor's stopped rsync is ended once its connection is gone and its pass fails, named; or, first, the
      // joiner's reason arrives over the liveness link and ends the donor (its stopped rsync with it).
      expect([110, 255], show(dr)).toContain(dr.exitCode);
      expect(dr.lines).toEqual(['flush tables']);
      expect(dr.stderr).toMatch(
        /did not exit after its TLS connection ended: ending it[^]*rsync pass "directory big" failed|The joiner [^ ]+ gave the SST up: No data moved for 2 s \(\[sst\] idle-timeout\)/,
      );
      expect(Date.now() - stoppedAt).toBeLessThan(15_000);
    } finally {
      held.release();
    }
    await expectNothingLeft(pair, [{ host: JOINER, port }]);
  });

  it('never reports success when the donor is killed mid-transfer; the next SST recovers', async () => {
    const port = 14503;
    const { joiner, payload } = await startJoiner(pair, port);
    const donor = startDonor(pair, payload);
    const held = await holdPassMidTransfer(() => [donor.pid as number]);
    const script = donor.scriptPid() as number;
    // SIGKILL of the donor SST program and every child (its rsync passes run in their own process groups).
    signalAll(processTree(script), 'SIGKILL');
    held.release();
    const dr = await donor.wait(10_000);
    expect(dr.exitCode).toBe(137); // sh reports the script's death by SIGKILL
    const jr = await joiner.wait(20_000);
    // The broken pass ends the joiner at once (exit 255), not after [sst] connect-timeout.
    expect(jr.exitCode, show(jr)).toBe(255);
    expect(jr.lines).toEqual([`ready ${payload}`]);
    expect(jr.stderr).toMatch(
      /\[ERROR\] rsync on this node ended with exit 12 \(the protocol stream broke: the donor's side went away\) on the connection from the donor 127\.0\.0\.1:\d+: rsync( error)?: .*\. The donor's pass has failed with it/,
    );
    expect(jr.stderr).not.toMatch(/connect-timeout/);
    // The crash left the donor's lock file behind (a dead pid): the next SST removes it and completes.
    await recoverySst(port + 1);
    await expectNothingLeft(pair, [
      { host: JOINER, port },
      { host: JOINER, port: port + 1 },
    ]);
  });

  it('fails the donor fast (no continue, no done) when the joiner is killed mid-transfer; the next SST recovers', async () => {
    const port = 14505;
    const { joiner, payload } = await startJoiner(pair, port);
    const donor = startDonor(pair, payload);
    const joinerScript = joiner.scriptPid() as number;
    const held = await holdPassMidTransfer(() => [donor.pid as number]);
    signalAll(processTree(joinerScript), 'SIGKILL');
    const killedAt = Date.now();
    held.release();
    const dr = await donor.wait(20_000);
    expect(dr.exitCode, show(dr)).toBe(255);
    expect(dr.lines).toEqual(['flush tables']);
    expect(dr.stderr).toMatch(/rsync pass "[^"]+" failed/);
    expect(Date.now() - killedAt).toBeLessThan(8000);
    const jr = await joiner.wait(5000);
    expect(jr.lines).toEqual([`ready ${payload}`]);
    // Leftovers of the killed joiner: its lock file (dead pid) and sst_in_progress. The next SST takes over.
    await recoverySst(port + 1);
    await expectNothingLeft(pair, [
      { host: JOINER, port },
      { host: JOINER, port: port + 1 },
    ]);
  });
});
