/**
 * Fault matrix, bad input from mysqld or the operator: malformed argv, unknown role, missing --datadir or
 * --address, bad addresses, bad option values, a key that cannot be read. Each is one message naming what is
 * wrong, the contract's exit code (2.6), nothing on stdout, and nothing started: no lock file, no marker, no port.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StandinMysqld } from '../helpers/mysqld-standin.js';
import { portIsFree, processesMentioning } from '../helpers/sst-fixture.js';
import { cnfWithSst, joinerCmd, makePair, show, tryRun, type Pair } from './faults-kit.js';

const JOINER = '127.0.0.59';
const PORT = 14591;
let pair: Pair;

beforeAll(() => {
  pair = makePair('argv', { joiner: JOINER, donor: '127.0.0.60' });
});

afterAll(() => pair.cleanup());

const cnfWith = (name: string, sst: Record<string, string>): string => cnfWithSst(pair, 'joiner', name, sst);

async function runScript(
  command: string,
): Promise<{ exitCode: number | null; lines: string[]; stderr: string }> {
  const r = await new StandinMysqld(command, { datadir: pair.base }).wait(30_000);
  return r;
}

async function expectNothingStarted(): Promise<void> {
  for (const name of ['wsrep_sst.pid', 'sst_in_progress', 'rsync_tunnel_sst_complete']) {
    expect(existsSync(join(pair.joiner.datadir, name)), name).toBe(false);
  }
  expect(readdirSync(pair.tmp)).toEqual([]);
  expect(await portIsFree(JOINER, PORT)).toBe(true);
  expect(processesMentioning(pair.base)).toEqual([]);
}

const dd = (): string => `${pair.joiner.datadir}/`;

describe('bad argv', () => {
  const cases: [string, () => string, number, string][] = [
    [
      'an option without its value at the end',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --datadir '${dd()}' --address`,
      22,
      'Cannot parse the SST arguments: --address needs a value',
    ],
    [
      'an unknown role',
      () => `wsrep_sst_rsync_tunnel --role 'observer' --address '${JOINER}' --datadir '${dd()}'`,
      22,
      'Cannot run an SST with --role "observer": expected "joiner" or "donor"',
    ],
    [
      'a missing --datadir',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --address '${JOINER}:${PORT}' --parent 1`,
      2,
      "The '--datadir' parameter must be passed",
    ],
    [
      'a missing --address',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --datadir '${dd()}' --parent 1`,
      22,
      'Cannot run an SST without --address',
    ],
    [
      'a port out of range',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --address '${JOINER}:99999' --datadir '${dd()}'`,
      22,
      `Cannot parse SST address "${JOINER}:99999": port "99999" is not a number from 1 to 65535`,
    ],
    [
      'an IPv6 address without brackets',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --address 'fd00::1:4444' --datadir '${dd()}'`,
      22,
      'Cannot parse SST address "fd00::1:4444": an IPv6 address must be written in brackets',
    ],
    [
      'characters mysqld never sends',
      () => `wsrep_sst_rsync_tunnel --role 'joiner' --address 'db;rm' --datadir '${dd()}'`,
      22,
      'Cannot parse SST address "db;rm": only letters, digits and "-_.:[]/" are allowed',
    ],
    [
      'a non-numeric --parent',
      () =>
        `wsrep_sst_rsync_tunnel --role 'joiner' --address '${JOINER}:${PORT}' --datadir '${dd()}' --parent abc`,
      22,
      'Cannot use --parent "abc": expected a whole number',
    ],
    [
      'a --port that contradicts the address',
      () =>
        `wsrep_sst_rsync_tunnel --role 'donor' --address '${JOINER}:${PORT}/rsync_tunnel_sst' --port 4444 --datadir '${dd()}'`,
      2,
      `Cannot use --port "4444": the address "${JOINER}:${PORT}/rsync_tunnel_sst" says ${PORT}`,
    ],
  ];
  it.each(cases)('%s', async (_name, command, code, message) => {
    const r = await runScript(command());
    expect(r.exitCode, show(r as never)).toBe(code);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toContain(message);
    await expectNothingStarted();
  });
});

describe('bad option values and key material', () => {
  it('a timeout that is not a number, naming the option, file and line', async () => {
    const cnf = cnfWith('bad-timeout', { 'idle-timeout': '2m' });
    const r = await runScript(joinerCmd(pair, PORT, { defaultsFile: cnf }));
    expect(r.exitCode, show(r as never)).toBe(22);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toMatch(
      new RegExp(
        `Cannot use \\[sst\\] idle-timeout = "2m" \\(${cnf.replaceAll('.', '\\.')}:\\d+\\): expected a whole number of seconds`,
      ),
    );
    await expectNothingStarted();
  });

  it('a missing key file (exit 2) and a key that is a directory (exit 22)', async () => {
    const missing = join(pair.base, 'nope.key');
    const r1 = await runScript(
      joinerCmd(pair, PORT, { defaultsFile: cnfWith('missing-key', { tkey: missing }) }),
    );
    expect(r1.exitCode, show(r1 as never)).toBe(2);
    expect(r1.stderr).toContain(`"${missing}": file not found`);
    const r2 = await runScript(
      joinerCmd(pair, PORT, { defaultsFile: cnfWith('dir-key', { tkey: pair.tmp }) }),
    );
    expect(r2.exitCode, show(r2 as never)).toBe(22);
    expect(r2.stderr).toContain(`"${pair.tmp}": it is a directory`);
    expect([...r1.lines, ...r2.lines]).toEqual([]);
    await expectNothingStarted();
  });

  it('a key the SST user may not read (run as nobody)', async (ctx) => {
    if (process.getuid?.() !== 0) {
      console.log('SKIP unreadable-key case: needs root to run the script as another user');
      ctx.skip();
      return;
    }
    // Everything but the key readable by nobody; the key stays root's, mode 0600.
    for (const dir of [
      pair.base,
      join(pair.base, 'pki'),
      join(pair.base, 'pki', 'ca'),
      join(pair.base, 'joiner'),
    ])
      chmodSync(dir, 0o755);
    for (const file of [pair.joiner.cert.cert, join(pair.base, 'pki', 'ca', 'ca.pem'), pair.joiner.cnf])
      chmodSync(file, 0o644);
    chmodSync(pair.joiner.cert.key, 0o600);
    const datadir = join(pair.base, 'nobody-data');
    mkdirSync(datadir, { mode: 0o777 });
    const probe = tryRun('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'true']);
    if (!probe.ok) {
      console.log(`SKIP unreadable-key case: setpriv cannot switch to nobody (${probe.reason})`);
      ctx.skip();
      return;
    }
    const command = `setpriv --reuid=65534 --regid=65534 --clear-groups ${joinerCmd(pair, PORT, { datadir })}`;
    const r = await runScript(command);
    expect(r.exitCode, show(r as never)).toBe(22);
    expect(r.lines).toEqual([]);
    expect(r.stderr).toContain(`"${pair.joiner.cert.key}": permission denied for user id 65534`);
    expect(readdirSync(datadir)).toEqual([]);
    await expectNothingStarted();
  });
});
