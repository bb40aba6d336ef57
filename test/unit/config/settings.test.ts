/**
 * Baseline-and-toggle (style.md habit 9): one known-good configuration; each case changes one line and asserts
 * the exact value or message, so no case passes for the wrong reason.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import { OptionSet, type OptionEntry } from '../../../src/config/optionFiles.js';
import { parseOptionFile } from '../../../src/config/optionParse.js';
import { normalizeOptionName } from '../../../src/config/optionSet.js';
import { idleTimeoutFor, settingsFrom, type SstSettings } from '../../../src/config/settings.js';

const FILE = '/etc/mysql/my.cnf';
const SERVER = new Set(['mysqld', 'galera', 'mariadb', 'server']);

const BASELINE = `[mysqld]
datadir = /var/lib/mysql
innodb_data_home_dir = /var/lib/mysql-data
innodb_log_group_home_dir = /var/lib/mysql-redo
innodb_undo_directory = /var/lib/mysql-undo
aria_log_dir_path = /var/lib/mysql-aria
log_bin = /var/log/mysql/mysql-bin
log_bin_index = /var/log/mysql/mysql-bin.index
log_basename = node1
[sst]
tca = /etc/mysql/certs/ca.pem
tcert = /etc/mysql/certs/node1.pem
tkey = /etc/mysql/certs/node1.key
`;

/** Parses `text` as one option file at FILE; lines keep their numbers for the messages. */
function load(text: string): { sst: OptionSet; mysqld: OptionSet } {
  const sst: OptionEntry[] = [];
  const mysqld: OptionEntry[] = [];
  let group = '';
  for (const event of parseOptionFile(Buffer.from(text))) {
    if (event.kind === 'group') group = event.name;
    if (event.kind !== 'option') continue;
    const entry = {
      name: normalizeOptionName(event.rawName),
      rawName: event.rawName,
      value: event.value,
      file: FILE,
      line: event.line,
      group,
    };
    if (group === 'sst') sst.push(entry);
    else if (SERVER.has(group)) mysqld.push(entry);
  }
  return { sst: new OptionSet(sst), mysqld: new OptionSet(mysqld) };
}

/** Settings from the baseline plus extra lines appended to `[sst]` (or to a group named in them). */
function settings(extra = '', env: NodeJS.ProcessEnv = {}): SstSettings {
  const { sst, mysqld } = load(`${BASELINE}${extra}\n`);
  return settingsFrom(sst, mysqld, env, 8);
}

/** The message of the ConfigError that `extra` causes. */
function failure(extra: string): string {
  try {
    settings(extra);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`expected a ConfigError for ${JSON.stringify(extra)}`);
}

/** Line number of the first extra line (the baseline has 13 lines). */
const L = 14;

describe('settingsFrom()', () => {
  it('gives the defaults for the baseline', () => {
    expect(settings()).toEqual({
      tca: '/etc/mysql/certs/ca.pem',
      tcert: '/etc/mysql/certs/node1.pem',
      tkey: '/etc/mysql/certs/node1.key',
      sockopt: { notices: [], insecure: [] },
      allowedDonors: [],
      strictIdentity: false,
      requireDonorBinding: false,
      connectTimeoutMs: 300_000,
      handshakeTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      idleTimeoutSet: false,
      livenessMs: 20_000,
      previousSstTimeoutMs: 30_000,
      flushTimeoutMs: 900_000,
      backupThreads: 8,
      splitDirs: true,
      joinerWorkers: 4,
      sstMaxBinlogs: 1,
      progressIntervalMs: 10_000,
      rsync: 'rsync',
      innodbDataHomeDir: '/var/lib/mysql-data',
      innodbLogGroupHomeDir: '/var/lib/mysql-redo',
      innodbUndoDirectory: '/var/lib/mysql-undo',
      ariaLogDirPath: '/var/lib/mysql-aria',
      logBin: '/var/log/mysql/mysql-bin',
      logBinIndex: '/var/log/mysql/mysql-bin.index',
      logBasename: 'node1',
      transfer: 'auto',
      copy: 'two-phase',
      notices: [],
    });
  });

  it('returns a deeply frozen object', () => {
    const s = settings('sockopt=verify=0');
    expect(Object.isFrozen(s)).toBe(true);
    expect(Object.isFrozen(s.sockopt)).toBe(true);
    expect(Object.isFrozen(s.sockopt.insecure)).toBe(true);
    expect(Object.isFrozen(s.allowedDonors)).toBe(true);
  });

  it.each([
    ['connect-timeout = 60', { connectTimeoutMs: 60_000 }],
    ['connect_timeout = 0', { connectTimeoutMs: 0 }],
    ['handshake-timeout = 3', { handshakeTimeoutMs: 3_000 }],
    ['idle-timeout = 0', { idleTimeoutMs: 0, idleTimeoutSet: true }],
    ['idle-timeout = 120', { idleTimeoutMs: 120_000, idleTimeoutSet: true }],
    ['liveness-timeout = 4', { livenessMs: 4_000 }],
    ['liveness_timeout = 0', { livenessMs: 0 }],
    ['previous-sst-timeout = 0', { previousSstTimeoutMs: 0 }],
    ['previous_sst_timeout = 5', { previousSstTimeoutMs: 5_000 }],
    ['flush-timeout = 60', { flushTimeoutMs: 60_000 }],
    ['loose-idle-timeout = 30', { idleTimeoutMs: 30_000 }],
    ['idle-timeout = 2147483', { idleTimeoutMs: 2_147_483_000 }],
    ['progress-interval = 0', { progressIntervalMs: 0 }],
    ['idle-timeout = 5\nidle-timeout = 6', { idleTimeoutMs: 6_000 }],
    ['idle-timeout = 5\nidle-timeout =', { idleTimeoutMs: 120_000, idleTimeoutSet: false }],
    ['strict-identity = ON', { strictIdentity: true }],
    ['strict-identity', { strictIdentity: true }],
    ['strict-identity = 0', { strictIdentity: false }],
    [
      'allowed-donors = db1.example, 10.0.0.2  node3 ,db1.example',
      { allowedDonors: ['db1.example', '10.0.0.2', 'node3'] },
    ],
    ['allowed-donors =', { allowedDonors: [] }],
    ['backup-threads = 2', { backupThreads: 2 }],
    ['joiner-workers = 0', { joinerWorkers: 0 }],
    ['joiner-workers = 2', { joinerWorkers: 2 }],
    ['sst-max-binlogs = 0', { sstMaxBinlogs: 0 }],
    ['sst-max-binlogs = -1', { sstMaxBinlogs: -1 }],
    ['rsync = /opt/rsync/bin/rsync', { rsync: '/opt/rsync/bin/rsync' }],
    ['tmpdir = /var/tmp', { tmpdir: '/var/tmp' }],
    ['rlimit = 80M', { rateLimit: 80 * 1024 * 1024 }],
    ['rlimit = 1.5g', { rateLimit: 1.5 * 1024 ** 3 }],
    ['rlimit = 512k', { rateLimit: 512 * 1024 }],
    ['rlimit = 100MiB', { rateLimit: 100 * 1024 * 1024 }],
    ['rlimit = 1000000', { rateLimit: 1_000_000 }],
    ['compress', { compress: 'auto' }],
    ['compress = on', { compress: 'auto' }],
    ['compress = ZSTD', { compress: 'zstd' }],
    ['compress = lz4', { compress: 'lz4' }],
    ['transfer = delta', { transfer: 'delta' }],
    ['transfer = AUTO', { transfer: 'auto' }],
    ['transfer = whole', { transfer: 'whole' }],
    ['copy = two-phase', { copy: 'two-phase' }],
    ['delta-block = 4K', { deltaBlock: 4096 }],
    ['delta-block = 512', { deltaBlock: 512 }],
    ['copy = Single', { copy: 'single' }],
    ['split-dirs = off', { splitDirs: false }],
    ['split-dirs = on', { splitDirs: true }],
    ['', { splitDirs: true }],
    ['[mysqld]\nbackup_threads = 3', { backupThreads: 3 }],
    ['[mysqld]\nlog-bin', { logBin: '' }],
  ])('reads %j', (extra, expected) => {
    expect(settings(extra)).toMatchObject(expected);
  });

  it('takes backup-threads and sst-max-binlogs from the server groups before [sst], as wsrep_sst_rsync does', () => {
    expect(settings('backup-threads = 2\n[galera]\nbackup-threads = 4')).toMatchObject({ backupThreads: 4 });
    expect(settings('sst-max-binlogs = 5\n[mysqld]\nsst-max-binlogs =')).toMatchObject({ sstMaxBinlogs: 5 });
  });

  it('takes tmpdir from $TMPDIR when [sst] has none', () => {
    expect(settings('', { TMPDIR: '/scratch' }).tmpdir).toBe('/scratch');
    expect(settings('tmpdir = /var/tmp', { TMPDIR: '/scratch' }).tmpdir).toBe('/var/tmp');
    const relative = settings('', { TMPDIR: 'tmp' });
    expect(relative.tmpdir).toBeUndefined();
    expect(relative.notices).toEqual(['TMPDIR "tmp" is not an absolute path and is not used']);
  });

  it('defaults joiner-workers to half the CPUs, at most 4, and none on 1-2 CPUs', () => {
    const { sst, mysqld } = load(BASELINE);
    expect([1, 2, 3, 6, 8, 64].map((cpus) => settingsFrom(sst, mysqld, {}, cpus).joinerWorkers)).toEqual([
      0, 0, 1, 3, 4, 4,
    ]);
  });

  it('does not compress unless compress asks, and remembers an explicit off for transfer = auto', () => {
    expect(settings('').compress).toBeUndefined();
    expect(settings('').compressOff).toBeUndefined();
    expect(settings('compress = off').compress).toBeUndefined();
    expect(settings('compress = off').compressOff).toBe(true);
    expect(settings('compress = on').compressOff).toBeUndefined();
  });

  it('refuses a delta-block rsync cannot use', () => {
    expect(settings('').deltaBlock).toBeUndefined();
    for (const bad of ['256', '256K', 'big', '0.1K'])
      expect(() => settings(`delta-block = ${bad}`)).toThrow(/expected a block size from 512 to 128K bytes/);
  });

  it('chooses by itself (auto) by default, sends deltas by default only as the _wan method, refuses an unknown transfer', () => {
    expect(settings('', { SST_TUNNEL_SCRIPT: 'wsrep_sst_rsync_tunnel_wan' }).transfer).toBe('delta');
    expect(settings('transfer = whole', { SST_TUNNEL_SCRIPT: 'wsrep_sst_rsync_tunnel_wan' }).transfer).toBe(
      'whole',
    );
    expect(settings('', { SST_TUNNEL_SCRIPT: 'wsrep_sst_rsync_tunnel' }).transfer).toBe('auto');
    expect(settings('').transfer).toBe('auto');
    expect(settings('transfer = WHOLE').transfer).toBe('whole');
    expect(() => settings('transfer = rsync_wan')).toThrow(/expected whole, delta or auto/);
  });

  it('refuses an unknown copy', () => {
    expect(() => settings('copy = twophase')).toThrow(/expected single or two-phase/);
  });

  it('has no rate limit unless rlimit is set to more than 0', () => {
    expect(settings('').rateLimit).toBeUndefined();
    expect(settings('rlimit = 0').rateLimit).toBeUndefined();
    expect(settings('rlimit =').rateLimit).toBeUndefined();
  });

  it('caps the CPU-count default of backup-threads at 1024', () => {
    const { sst, mysqld } = load(BASELINE);
    expect(settingsFrom(sst, mysqld, {}, 4096).backupThreads).toBe(1024);
  });

  it.each([
    [
      'idle-timeout = abc',
      `Cannot use [sst] idle-timeout = "abc" (${FILE}:${L}): expected a whole number of seconds`,
    ],
    [
      'idle_timeout = 1.5',
      `Cannot use [sst] idle_timeout = "1.5" (${FILE}:${L}): expected a whole number of seconds`,
    ],
    [
      'idle-timeout = -1',
      `Cannot use [sst] idle-timeout = "-1" (${FILE}:${L}): expected a whole number of seconds`,
    ],
    [
      'idle-timeout',
      `Cannot use [sst] idle-timeout without a value (${FILE}:${L}): expected a whole number of seconds`,
    ],
    [
      'connect-timeout = 2147484',
      `Cannot use [sst] connect-timeout = "2147484" (${FILE}:${L}): expected at most 2147483 seconds`,
    ],
    [
      'handshake-timeout = 0',
      `Cannot use [sst] handshake-timeout = "0" (${FILE}:${L}): expected a whole number of seconds, at least 1`,
    ],
    [
      'flush-timeout = 0',
      `Cannot use [sst] flush-timeout = "0" (${FILE}:${L}): expected a whole number of seconds, at least 1`,
    ],
    [
      'progress-interval = 10s',
      `Cannot use [sst] progress-interval = "10s" (${FILE}:${L}): expected a whole number of seconds`,
    ],
    [
      'strict-identity = maybe',
      `Cannot use [sst] strict-identity = "maybe" (${FILE}:${L}): expected on or off`,
    ],
    [
      'split-dirs = sometimes',
      `Cannot use [sst] split-dirs = "sometimes" (${FILE}:${L}): expected on or off`,
    ],
    [
      'backup-threads = 0',
      `Cannot use [sst] backup-threads = "0" (${FILE}:${L}): expected a whole number of threads from 1 to 1024`,
    ],
    [
      'joiner-workers = -1',
      `Cannot use [sst] joiner-workers = "-1" (${FILE}:${L}): expected a whole number of worker processes (0 = none) from 0 to 64`,
    ],
    [
      '[mysqld]\nbackup-threads = x',
      `Cannot use [mysqld] backup-threads = "x" (${FILE}:${L + 1}): expected a whole number of threads from 1 to 1024`,
    ],
    [
      'sst-max-binlogs = all',
      `Cannot use [sst] sst-max-binlogs = "all" (${FILE}:${L}): expected a whole number of binary logs (0 = none, negative = all)`,
    ],
    ['tcert', `Cannot use [sst] tcert without a value (${FILE}:${L}): expected a file name`],
    [
      'compress = gzip',
      `Cannot use [sst] compress = "gzip" (${FILE}:${L}): expected on, off, or one of rsync's compressions: zstd, lz4, zlibx, zlib`,
    ],
    ...['rlimit = fast', 'rlimit = 80 MB/s', 'rlimit = -5M', 'rlimit'].map((line) => [
      line,
      `Cannot use [sst] ${line.replace(/ = (.*)/, ' = "$1"').replace(/^rlimit$/, 'rlimit without a value')} (${FILE}:${L}): expected bytes per second, with an optional K, M, G or T suffix (1024-based), e.g. 80M`,
    ]),
    ['tmpdir = tmp', `Cannot use [sst] tmpdir = "tmp" (${FILE}:${L}): expected an absolute directory path`],
    ['rsync', `Cannot use [sst] rsync without a value (${FILE}:${L}): expected the path of the rsync binary`],
    [
      'allowed-donors = "db1 \'x"',
      `Cannot use [sst] allowed-donors = "db1 'x" (${FILE}:${L}): expected DNS names, IP addresses or CNs, not "'x"`,
    ],
    [
      'sockopt = ",pf=ip5"',
      `Cannot use [sst] sockopt = ",pf=ip5" (${FILE}:${L}): "pf=ip5" expected "ip4" or "ip6"`,
    ],
    [
      'sockopt',
      `Cannot use [sst] sockopt without a value (${FILE}:${L}): expected socat options such as "verify=1"`,
    ],
    [
      'sockopt = cafile=/other.pem',
      `Cannot use [sst] tca = "/etc/mysql/certs/ca.pem" (${FILE}:11): sockopt also sets "cafile=/other.pem": set only one`,
    ],
  ])('rejects %j', (extra, message) => {
    expect(failure(extra)).toBe(message);
  });

  it('keeps the raw sockopt and its parsed settings', () => {
    const s = settings('sockopt = ",cipher=ECDHE-RSA-AES256-GCM-SHA384,verify=0"');
    expect(s.sockoptRaw).toBe(',cipher=ECDHE-RSA-AES256-GCM-SHA384,verify=0');
    expect(s.sockopt).toEqual({
      cipher: 'ECDHE-RSA-AES256-GCM-SHA384',
      verify: false,
      notices: [],
      insecure: ['verify=0'],
    });
  });

  it('uses sockopt cert/key/cafile when [sst] has no tcert/tkey/tca, with a notice', () => {
    const { sst, mysqld } = load('[sst]\nsockopt = cert=/c.pem,key=/k.pem,cafile=/ca.pem\n');
    const s = settingsFrom(sst, mysqld, {}, 1);
    expect(s).toMatchObject({ tcert: '/c.pem', tkey: '/k.pem', tca: '/ca.pem' });
    expect(s.notices).toEqual([
      'sockopt "cert=/c.pem" is used as [sst] tcert because tcert is not set',
      'sockopt "cafile=/ca.pem" is used as [sst] tca because tca is not set',
      'sockopt "key=/k.pem" is used as [sst] tkey because tkey is not set',
    ]);
  });

  it('does not fall back to ssl-cert, and says so', () => {
    const { sst, mysqld } = load('[mysqld]\nssl_cert = /etc/mysql/server.pem\n');
    const s = settingsFrom(sst, mysqld, {}, 1);
    expect(s.tcert).toBeUndefined();
    expect(s.notices).toEqual([
      `[mysqld] ssl_cert (${FILE}:2) is not used: like the original rsync_tunnel script, this method takes its certificate only from [sst] tcert`,
    ]);
  });

  it('points out a misspelled [sst] option', () => {
    expect(settings('idle-timout = 5').notices).toEqual([
      `[sst] idle-timout (${FILE}:${L}) is not an option of this method: did you mean "idle-timeout"?`,
    ]);
    expect(settings('wsrep-sst-auth = u:p\nprogress = 1').notices).toEqual([]);
  });
});

describe('idleTimeoutFor()', () => {
  it('follows the liveness link when idle-timeout is left to its default, and holds everywhere when set', () => {
    const unset = { idleTimeoutMs: 120_000, idleTimeoutSet: false };
    // A peer without the link (socat, RT, an older sst-tunnel): silence is all there is to judge.
    expect(idleTimeoutFor(unset, false)).toBe(120_000);
    // The link judges the peer: a quiet rsync (checksumming a huge file) is never cut off.
    expect(idleTimeoutFor(unset, true)).toBe(0);
    // Set by the operator: the last resort, with or without the link.
    expect(idleTimeoutFor({ idleTimeoutMs: 600_000, idleTimeoutSet: true }, true)).toBe(600_000);
    expect(idleTimeoutFor({ idleTimeoutMs: 0, idleTimeoutSet: true }, false)).toBe(0);
  });
});
