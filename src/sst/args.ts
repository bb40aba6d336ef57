/**
 * The command line mysqld gives an SST script (sst-contract.md 1.2-1.4), parsed the way wsrep_sst_common
 * accepts it: every documented option in `--name value` or `--name=value` form, `--bypass` as a flag,
 * unknown options ignored, `--mysqld-args` swallowing the rest. Pure.
 */
import { isAbsolute, resolve } from 'node:path';
import { ExitCode, UsageError } from '../errors.js';
import { parseSstAddress, type SstAddress } from './address.js';

export type SstRole = 'joiner' | 'donor';

/** Everything the roles need from argv, after the contract's precedence rules. */
export interface SstArgs {
  role: SstRole;
  address: SstAddress;
  addressRaw: string;
  /** Absolute, without the trailing slash mysqld adds. */
  datadir: string;
  defaultsFile?: string;
  defaultsExtraFile?: string;
  defaultsGroupSuffix?: string;
  parent?: number;
  progress: boolean;
  socket?: string;
  localPort?: number;
  gtid?: string;
  gtidDomainId?: number;
  binlog?: string;
  binlogIndex?: string;
  logBasename?: string;
  bypass: boolean;
  innodbDataHomeDir?: string;
  innodbLogGroupHomeDir?: string;
  innodbUndoDirectory?: string;
  ariaLogDirPath?: string;
  innodbForceRecovery?: string;
  /** mysqld's own argv, as passed after `--mysqld-args`. */
  mysqldArgs: string[];
}

// Options that take a value (contract 1.4.1), mapped to the field they fill. Aliases share a field.
const VALUE_OPTIONS: Record<string, string> = {
  address: 'address',
  datadir: 'datadir',
  'defaults-file': 'defaultsFile',
  'defaults-extra-file': 'defaultsExtraFile',
  'defaults-group-suffix': 'defaultsGroupSuffix',
  parent: 'parent',
  progress: 'progress',
  role: 'role',
  socket: 'socket',
  'local-port': 'localPort',
  port: 'port',
  host: 'host',
  user: 'user',
  password: 'password',
  gtid: 'gtid',
  'gtid-domain-id': 'gtidDomainId',
  binlog: 'binlog',
  'log-bin': 'binlog',
  'binlog-index': 'binlogIndex',
  'log-bin-index': 'binlogIndex',
  'log-basename': 'logBasename',
  'innodb-data-home-dir': 'innodbDataHomeDir',
  'innodb-log-group-home-dir': 'innodbLogGroupHomeDir',
  'innodb-undo-directory': 'innodbUndoDirectory',
  'innodb-buffer-pool-filename': 'innodbBufferPoolFilename',
  'innodb-buffer-pool-size': 'innodbBufferPoolSize',
  'aria-log-dir-path': 'ariaLogDirPath',
};

// What the contract (1.4.3) picks up from mysqld's own argv; explicit script options win.
const FROM_MYSQLD_ARGS: Record<string, string> = {
  datadir: 'datadir',
  'innodb-data-home-dir': 'innodbDataHomeDir',
  'innodb-log-group-home-dir': 'innodbLogGroupHomeDir',
  'innodb-undo-directory': 'innodbUndoDirectory',
  'aria-log-dir-path': 'ariaLogDirPath',
  'log-bin': 'binlog',
  'log-bin-index': 'binlogIndex',
  'log-basename': 'logBasename',
  'innodb-force-recovery': 'innodbForceRecovery',
};

/** Reads `--name=value` / `--name value` pairs of mysqld's argv (dashes or underscores, `--loose-` ignored). */
function scanMysqldArgs(args: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '-h' && i + 1 < args.length) {
      found.datadir = args[++i] ?? '';
      continue;
    }
    if (arg.startsWith('-h') && !arg.startsWith('--')) {
      found.datadir = arg.slice(2);
      continue;
    }
    if (!arg.startsWith('--')) continue;
    let body = arg.slice(2).replaceAll('_', '-');
    if (body.startsWith('loose-')) body = body.slice('loose-'.length);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const field = FROM_MYSQLD_ARGS[name];
    if (field === undefined) continue;
    if (eq !== -1) found[field] = body.slice(eq + 1);
    // `--log-bin` without a value turns binary logging on with the default name; the server then passes
    // the resolved name in --binlog itself, so a bare flag here carries nothing we need.
    else if (name !== 'log-bin' && i + 1 < args.length && !(args[i + 1] ?? '').startsWith('--')) {
      found[field] = args[++i] ?? '';
    }
  }
  return found;
}

function wholeNumber(option: string, value: string): number {
  if (!/^-?\d+$/.test(value))
    throw new UsageError(`Cannot use --${option} "${value}": expected a whole number`);
  return Number(value);
}

/** Parses an SST script's argv (without the program name). UsageError carries the contract's exit code. */
export function parseSstArgs(argv: readonly string[], cwd: string = process.cwd()): SstArgs {
  const raw: Record<string, string> = {};
  let bypass = false;
  let mysqldArgs: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '--mysqld-args') {
      mysqldArgs = argv.slice(i + 1);
      break;
    }
    if (arg === '--bypass') {
      bypass = true;
      continue;
    }
    if (!arg.startsWith('--')) continue; // stray words are ignored, as wsrep_sst_common does
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const field = VALUE_OPTIONS[name];
    if (field === undefined) continue; // unknown options are ignored (contract 1.4.1)
    if (eq !== -1) raw[field] = arg.slice(eq + 1);
    else if (i + 1 < argv.length) raw[field] = argv[++i] ?? '';
    else throw new UsageError(`Cannot parse the SST arguments: --${name} needs a value`);
  }
  const fromMysqld = scanMysqldArgs(mysqldArgs);
  const pick = (field: string): string | undefined => raw[field] ?? fromMysqld[field];

  const roleText = raw.role ?? 'donor'; // a missing role means donor (contract 1.4.2)
  if (roleText !== 'joiner' && roleText !== 'donor') {
    throw new UsageError(`Cannot run an SST with --role "${roleText}": expected "joiner" or "donor"`);
  }
  const datadirText = pick('datadir');
  if (datadirText === undefined || datadirText === '') {
    throw new UsageError(`The '--datadir' parameter must be passed`, { exitCode: ExitCode.ENOENT });
  }
  if (raw.address === undefined || raw.address === '') {
    throw new UsageError(`Cannot run an SST without --address`);
  }
  const address = parseSstAddress(raw.address);
  if (raw.port !== undefined && wholeNumber('port', raw.port) !== address.port) {
    // wsrep_sst_common refuses a --port that contradicts the address (contract 1.3.6).
    throw new UsageError(
      `Cannot use --port "${raw.port}": the address "${raw.address}" says ${address.port}`,
      {
        exitCode: ExitCode.ENOENT,
      },
    );
  }
  const datadir = resolve(cwd, datadirText).replace(/\/+$/, '') || '/';
  const progressText = raw.progress;
  const args: SstArgs = {
    role: roleText,
    address,
    addressRaw: raw.address,
    datadir,
    progress: progressText !== undefined && progressText !== '0' && progressText !== '',
    bypass,
    mysqldArgs,
  };
  const optional: [keyof SstArgs, string | undefined][] = [
    ['defaultsFile', raw.defaultsFile],
    ['defaultsExtraFile', raw.defaultsExtraFile],
    ['defaultsGroupSuffix', raw.defaultsGroupSuffix],
    ['socket', raw.socket],
    ['gtid', raw.gtid],
    ['binlog', pick('binlog')],
    ['binlogIndex', pick('binlogIndex')],
    ['logBasename', pick('logBasename')],
    ['innodbDataHomeDir', pick('innodbDataHomeDir')],
    ['innodbLogGroupHomeDir', pick('innodbLogGroupHomeDir')],
    ['innodbUndoDirectory', pick('innodbUndoDirectory')],
    ['ariaLogDirPath', pick('ariaLogDirPath')],
    ['innodbForceRecovery', pick('innodbForceRecovery')],
  ];
  for (const [key, value] of optional) {
    if (value !== undefined && value !== '') (args as unknown as Record<string, unknown>)[key] = value;
  }
  if (raw.parent !== undefined && raw.parent !== '') args.parent = wholeNumber('parent', raw.parent);
  if (raw.localPort !== undefined && raw.localPort !== '')
    args.localPort = wholeNumber('local-port', raw.localPort);
  if (raw.gtidDomainId !== undefined && raw.gtidDomainId !== '') {
    args.gtidDomainId = wholeNumber('gtid-domain-id', raw.gtidDomainId);
  }
  return args;
}

/** An absolute path for a directory option that may be relative to the datadir (mysqld's convention). */
export function underDatadir(datadir: string, path: string | undefined): string {
  if (path === undefined || path === '') return datadir;
  return isAbsolute(path) ? path.replace(/(.)\/+$/, '$1') : resolve(datadir, path);
}
