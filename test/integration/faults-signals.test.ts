/**
 * Fault matrix, signals and a dying mysqld: SIGTERM/SIGINT (exit 3) and SIGHUP (exit 32) mid-transfer on both
 * roles, and mysqld killed under either role (the joiner watches --parent, the donor its ancestors). Each ends
 * within seconds with every child gone, the port free and no transient file left (contract 6.5, 6.6).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  UUID,
  donorCmd,
  expectNothingLeft,
  externalStandin,
  fillSmallDatadir,
  holdPassMidTransfer,
  killMysqldMidTransfer,
  makePair,
  show,
  startDonor,
  startExternalJoiner,
  startJoiner,
  type Pair,
  killLeftovers,
  addBigDatabase,
} from './faults-kit.js';

const JOINER = '127.0.0.52';
let pair: Pair;

beforeAll(() => {
  pair = makePair(
    'signals',
    { joiner: JOINER, donor: '127.0.0.53' },
    { 'connect-timeout': '4', 'idle-timeout': '4', 'backup-threads': '1' },
    // copy = single: the data moves inside the lock, after `flush tables`, the line order these tests expect (the
    // two-phase default sends it before; sst-two-phase, sst-interop and e2e/galera-two-phase cover that).
    { donor: { copy: 'single' } },
  );
  fillSmallDatadir(pair.donor.datadir, 2);
  addBigDatabase(pair.donor.datadir);
});

afterEach(() => killLeftovers(pair));

afterAll(() => pair.cleanup());

describe('signals mid-transfer, both roles', () => {
  const cases: [NodeJS.Signals, number, number][] = [
    ['SIGTERM', 3, 14521],
    ['SIGINT', 3, 14522],
    ['SIGHUP', 32, 14523],
  ];
  it.each(cases)('%s ends both roles with exit %i and a clean teardown', async (signal, code, port) => {
    const { joiner, payload } = await startJoiner(pair, port);
    const donor = startDonor(pair, payload);
    const held = await holdPassMidTransfer(() => [donor.pid as number]);
    const sentAt = Date.now();
    donor.kill(signal);
    joiner.kill(signal);
    held.release();
    const [jr, dr] = await Promise.all([joiner.wait(20_000), donor.wait(20_000)]);
    expect(Date.now() - sentAt).toBeLessThan(8000);
    expect(jr.exitCode, show(jr)).toBe(code);
    expect(jr.lines).toEqual([`ready ${payload}`]);
    expect(jr.stderr).toContain(`Received ${signal}: ending the SST`);
    expect(dr.exitCode, show(dr)).toBe(code);
    expect(dr.lines).toEqual(['flush tables']);
    expect(dr.stderr).toContain(`Received ${signal}: ending the SST`);
    await expectNothingLeft(pair, [{ host: JOINER, port }]);
  });
});

describe('mysqld killed', () => {
  it('joiner: the --parent watch ends the script within seconds, children gone, port free', async () => {
    const port = 14524;
    const { mysqld, payload } = await startExternalJoiner(pair, 'joiner', port);
    const script = await mysqld.scriptPid();
    const donor = startDonor(pair, payload);
    // The donor's pass stays frozen until the joiner is gone, so the joiner cannot finish first.
    const { killedAt } = await killMysqldMidTransfer(
      mysqld,
      script,
      () => [donor.pid as number],
      'after-end',
      'the joiner and its children to end',
    );
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(mysqld.stderr()).toContain(`Parent mysqld process (PID: ${mysqld.pid}) terminated unexpectedly`);
    expect(mysqld.lines()).toEqual([`ready ${payload}`]);
    // The joiner is gone while the donor's pass was held: the donor fails that pass and never says `done`.
    const dr = await donor.wait(20_000);
    expect(dr.exitCode, show(dr)).not.toBe(0);
    expect(dr.lines, show(dr)).toEqual(['flush tables']);
    await expectNothingLeft(pair, [{ host: JOINER, port }]);
  });

  it('donor: the ancestors watch ends the script within seconds, children gone; the joiner never reports success', async () => {
    const port = 14525;
    const { joiner, payload } = await startJoiner(pair, port);
    const mysqld = externalStandin(
      pair.base,
      'donor',
      donorCmd(pair, payload),
      pair.donor.datadir,
      `${UUID}:42 0`,
    );
    const script = await mysqld.scriptPid();
    const { killedAt } = await killMysqldMidTransfer(
      mysqld,
      script,
      () => [script],
      'at-kill',
      'the donor and its children to end',
    );
    expect(Date.now() - killedAt).toBeLessThan(5000);
    expect(mysqld.stderr()).toMatch(
      /Parent mysqld process \(PID: \d+\) terminated unexpectedly|Cannot write to mysqld/,
    );
    const jr = await joiner.wait(20_000);
    // Released, the held pass may still finish before the donor script ends: then the joiner waits out
    // connect-timeout (110); if the donor's end broke it, the joiner fails at once naming rsync's exit 12 (255).
    if (jr.exitCode === 255) expect(jr.stderr).toMatch(/rsync on this node ended with exit 12/);
    else expect(jr.exitCode, show(jr)).toBe(110);
    expect(jr.lines).toEqual([`ready ${payload}`]);
    await expectNothingLeft(pair, [{ host: JOINER, port }]);
  });
});
