import { describe, expect, it } from 'vitest';
import { parseSstArgs, underDatadir } from '../../../src/sst/args.js';
import { UsageError } from '../../../src/errors.js';

// The exact joiner argv mysqld 10.11 builds (sst-contract.md 1.2), after sh -c removed the quoting.
const JOINER = [
  '--role',
  'joiner',
  '--address',
  '127.0.0.3:4444',
  '--datadir',
  '/var/lib/mysql/',
  '--defaults-file',
  '/etc/mysql/node2.cnf',
  '--parent',
  '4242',
  '--progress',
  '0',
  '--binlog',
  'mysql-bin',
  '--mysqld-args',
  '--wsrep_start_position=00000000-0000-0000-0000-000000000000:-1',
];
const DONOR = [
  '--role',
  'donor',
  '--address',
  '127.0.0.3:4444/rsync_tunnel_sst',
  '--local-port',
  '3306',
  '--socket',
  '/run/mysqld/mysqld.sock',
  '--progress',
  '0',
  '--datadir',
  '/var/lib/mysql/',
  '--gtid',
  '1f9b2c7e-1c3a-11ef-9a8b-5e1f2a3b4c5d:73421',
  '--gtid-domain-id',
  '0',
  '--binlog',
  '/var/lib/mysql/mysql-bin',
  '--binlog-index',
  '/var/lib/mysql/mysql-bin.index',
];

function expectUsage(argv: string[], message: string, exitCode: number): void {
  let caught: unknown;
  try {
    parseSstArgs(argv, '/cwd');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(UsageError);
  expect((caught as UsageError).message).toBe(message);
  expect((caught as UsageError).exitCode).toBe(exitCode);
}

describe('parseSstArgs()', () => {
  it('reads the joiner command line mysqld builds', () => {
    const args = parseSstArgs(JOINER, '/cwd');
    expect(args).toMatchObject({
      role: 'joiner',
      datadir: '/var/lib/mysql',
      defaultsFile: '/etc/mysql/node2.cnf',
      parent: 4242,
      progress: false,
      binlog: 'mysql-bin',
      bypass: false,
      address: { host: '127.0.0.3', port: 4444, explicitPort: true, path: [] },
    });
    expect(args.mysqldArgs).toEqual(['--wsrep_start_position=00000000-0000-0000-0000-000000000000:-1']);
  });

  it('reads the donor command line mysqld builds', () => {
    const args = parseSstArgs(DONOR, '/cwd');
    expect(args).toMatchObject({
      role: 'donor',
      localPort: 3306,
      socket: '/run/mysqld/mysqld.sock',
      gtid: '1f9b2c7e-1c3a-11ef-9a8b-5e1f2a3b4c5d:73421',
      gtidDomainId: 0,
      binlogIndex: '/var/lib/mysql/mysql-bin.index',
      address: { host: '127.0.0.3', port: 4444, path: ['rsync_tunnel_sst'] },
    });
    expect(args.parent).toBeUndefined();
  });

  it('takes --bypass as a flag and --name=value forms', () => {
    const args = parseSstArgs(['--role=donor', '--address=[::1]:4555/m', '--datadir=/d', '--bypass'], '/cwd');
    expect(args.bypass).toBe(true);
    expect(args.address).toMatchObject({ host: '::1', port: 4555, family: 6 });
  });

  it('ignores unknown options and stray words', () => {
    const args = parseSstArgs(
      ['--frobnicate', '--role', 'joiner', 'stray', '--address', 'h', '--datadir', '/d'],
      '/cwd',
    );
    expect(args.role).toBe('joiner');
    expect(args.address.port).toBe(4444);
  });

  it('defaults a missing role to donor', () => {
    expect(parseSstArgs(['--address', 'h', '--datadir', '/d'], '/cwd').role).toBe('donor');
  });

  it('picks directories from --mysqld-args, explicit options winning', () => {
    const args = parseSstArgs(
      [
        '--role',
        'joiner',
        '--address',
        'h',
        '--datadir',
        '/d',
        '--innodb-undo-directory',
        '/explicit',
        '--mysqld-args',
        '--innodb_data_home_dir=/ibdata',
        '--loose-aria-log-dir-path',
        '/aria',
        '--innodb-undo-directory=/ignored',
        '--log_bin=binlogs/b',
        '--log-basename=node',
      ],
      '/cwd',
    );
    expect(args).toMatchObject({
      innodbDataHomeDir: '/ibdata',
      ariaLogDirPath: '/aria',
      innodbUndoDirectory: '/explicit',
      binlog: 'binlogs/b',
      logBasename: 'node',
    });
  });

  it('takes the datadir from mysqld args (-h too) when --datadir is absent', () => {
    expect(parseSstArgs(['--address', 'h', '--mysqld-args', '-h', '/from-h'], '/cwd').datadir).toBe(
      '/from-h',
    );
    expect(parseSstArgs(['--address', 'h', '--mysqld-args', '--datadir=/x/'], '/cwd').datadir).toBe('/x');
  });

  it('resolves a relative datadir against the working directory', () => {
    expect(parseSstArgs(['--address', 'h', '--datadir', 'data/'], '/cwd').datadir).toBe('/cwd/data');
  });

  it('refuses an unknown role with EINVAL', () => {
    expectUsage(
      ['--role', 'observer', '--address', 'h', '--datadir', '/d'],
      'Cannot run an SST with --role "observer": expected "joiner" or "donor"',
      22,
    );
  });

  it('refuses a missing datadir with ENOENT, in the words of wsrep_sst_common', () => {
    expectUsage(['--role', 'joiner', '--address', 'h'], "The '--datadir' parameter must be passed", 2);
  });

  it('refuses a --port that contradicts the address', () => {
    expectUsage(
      ['--address', 'h:4444', '--port', '4555', '--datadir', '/d'],
      'Cannot use --port "4555": the address "h:4444" says 4444',
      2,
    );
  });

  it('refuses a non-numeric --parent', () => {
    expectUsage(
      ['--address', 'h', '--datadir', '/d', '--parent', 'abc'],
      'Cannot use --parent "abc": expected a whole number',
      22,
    );
  });

  it('refuses a value option at the end without a value', () => {
    expectUsage(
      ['--datadir', '/d', '--address'],
      'Cannot parse the SST arguments: --address needs a value',
      22,
    );
  });
});

describe('underDatadir()', () => {
  it('resolves relative directories against the datadir and keeps absolute ones', () => {
    expect(underDatadir('/d', undefined)).toBe('/d');
    expect(underDatadir('/d', './redo')).toBe('/d/redo');
    expect(underDatadir('/d', '/abs/')).toBe('/abs');
  });
});
