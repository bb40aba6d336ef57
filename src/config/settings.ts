/**
 * The typed, validated SST settings: `[sst]` and the server groups in, one frozen object out. Pure (the CPU
 * count and environment are parameters). Every bad value is a ConfigError naming the option, its file and line,
 * and what was expected, so a broken setup fails before anything listens (design.md "Fail before ready").
 *
 * Like the original rsync_tunnel script, key material comes only from `[sst] tca/tcert/tkey`; mysqld's
 * ssl-ca/ssl-cert/ssl-key are not a fallback (MariaDB's own rsync method uses them; a notice says so).
 * Where MariaDB's rsync method has a name (backup-threads, sst-max-binlogs) we use it with its lookup rule:
 * the server groups first, then `[sst]`, and an empty value counts as unset (wsrep_sst_common parse_cnf).
 */
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import type { OptionEntry, OptionSet } from './optionSet.js';
import { defaultTransfer, TRANSFER_SETTINGS, type TransferSetting } from './transferSetting.js';
import { parseSockopt, SockoptError, type SockoptSettings } from './sockopt.js';
import {
  badValue,
  boolean,
  editDistance,
  integer,
  parseRate,
  pick,
  rate,
  seconds,
  text,
} from './settingValues.js';

/** Everything an SST run reads from option files, validated. */
export interface SstSettings {
  tca?: string;
  tcert?: string;
  tkey?: string;
  sockopt: SockoptSettings;
  sockoptRaw?: string;
  /** `[sst] allowed-donors`: DNS names, IPs or CNs accepted as donor identities (empty = any valid chain). */
  allowedDonors: string[];
  /** `[sst] strict-identity` (default off: socat-compatible, CN accepted even when SANs exist). */
  strictIdentity: boolean;
  /**
   * `[sst] require-donor-binding` (default off): the joiner refuses a donor that does not prove this SST's token
   * (an original or older donor). Off, such a donor is accepted and the joiner logs that the SST is not bound.
   */
  requireDonorBinding: boolean;
  /** `[sst] connect-timeout`, default 300 s; 0 = wait for the donor's first connection forever. */
  connectTimeoutMs: number;
  /** `[sst] handshake-timeout`, default 10 s; at least 1: a handshake that never ends would pin the listener. */
  handshakeTimeoutMs: number;
  /**
   * `[sst] idle-timeout`: time without bytes moved; 0 = no limit. Set, it holds on every connection. Unset, it
   * follows from the liveness link (idleTimeoutFor): 120 s towards a peer without the link (an original or older
   * peer, where silence is all there is to judge), and no limit while the link is up, since the link finds a dead
   * peer within liveness-timeout and rsync may rightly be silent for minutes (checksumming a huge file).
   */
  idleTimeoutMs: number;
  /** Whether `[sst] idle-timeout` was set in an option file (then it holds even with a liveness link). */
  idleTimeoutSet: boolean;
  /**
   * `[sst] liveness-timeout`, default 20 s; 0 = no liveness link. Between two sst-tunnel ends, a link that
   * carries nothing for this long (peer host gone, packets dropped, peer frozen) ends the SST (liveness.ts).
   */
  livenessMs: number;
  /**
   * `[sst] flush-timeout`, default 900 s: how long the donor waits for mysqld's answer to `flush tables`
   * (FLUSH TABLES WITH READ LOCK waits for running statements; 15 minutes covers a busy donor's long queries).
   * At least 1: a mysqld that gave up without answering must not hold the script for ever.
   */
  flushTimeoutMs: number;
  /** `[sst] previous-sst-timeout`, default 30 s waiting for a running SST of the datadir; 0 = refuse at once. */
  previousSstTimeoutMs: number;
  /** backup-threads (server groups, then `[sst]`), default the CPU count, 1 to 1024. */
  backupThreads: number;
  /**
   * `[sst] split-dirs`, default on: a database directory larger than half a worker's share of the data goes as
   * parts of its files, so backup-threads workers end together (splitDirs.ts); off = one pass per directory.
   */
  splitDirs: boolean;
  /**
   * `[sst] joiner-workers`: processes that share the joiner's TLS and rsync work, 0 = the SST process does it all.
   * Default half the CPUs, at most 4, and 0 on 1-2 CPUs (where a second process only adds start-up and memory).
   */
  joinerWorkers: number;
  /** sst-max-binlogs (server groups, then `[sst]`), default 1; 0 = none; negative = all. */
  sstMaxBinlogs: number;
  /** `[sst] progress-interval`, default 10 s; 0 = no periodic progress lines. */
  progressIntervalMs: number;
  /** `[sst] tmpdir`, else $TMPDIR of mysqld's environment, else unset (callers use os.tmpdir()); absolute. */
  tmpdir?: string;
  /** `[sst] rsync`: the rsync binary, default "rsync" (found on PATH). */
  rsync: string;
  /** `[sst] rlimit`: the most bytes per second the donor sends, all connections together; unset = no limit. */
  rateLimit?: number;
  /** `[sst] compress`: rsync's own compression on the donor's data passes: 'auto' or an algorithm; unset = off. */
  compress?: string;
  /** `[sst] compress = off` given explicitly: `transfer = auto` never compresses then. */
  compressOff?: true;
  /**
   * `[sst] transfer`: whole files, rsync deltas against the joiner's files, or auto (transferMode.ts). Default
   * auto, or delta when the script runs as `wsrep_sst_rsync_tunnel_wan` (SST_TUNNEL_SCRIPT, set by the shim).
   */
  transfer: TransferSetting;
  /**
   * `[sst] delta-block`: the smallest rsync block of a delta pass, bytes (512 to 128K); unset = 1 KiB
   * (transferMode.ts DELTA_BLOCK_MIN). Larger blocks cost the donor less CPU and send more literal data.
   */
  deltaBlock?: number;
  /**
   * `[sst] copy`: `single` sends the data set inside the donor's read-only window (FLUSH TABLES WITH READ LOCK);
   * `two-phase` sends it while the donor stays writable, then re-sends under the lock only what changed
   * (src/sst/changeSelect.ts). Default two-phase.
   */
  copy: CopySetting;
  innodbDataHomeDir?: string;
  innodbLogGroupHomeDir?: string;
  innodbUndoDirectory?: string;
  ariaLogDirPath?: string;
  /** log-bin from the server groups; "" when given without a value (binary log on, default name). */
  logBin?: string;
  logBinIndex?: string;
  logBasename?: string;
  /** One sentence per setting that was ignored or adjusted and is worth a log line. */
  notices: string[];
}

/** `[sst] idle-timeout`'s default towards a peer without a liveness link, in seconds. */
export const DEFAULT_IDLE_TIMEOUT_S = 120;

/** `[sst] liveness-timeout`'s default, in seconds: a dead link is known within this. */
export const DEFAULT_LIVENESS_TIMEOUT_S = 20;

/**
 * The idle timeout that holds (0 = none): the one set, else none while a liveness link is up, else the default.
 * Silence is not death: with the link up, a quiet rsync is alive as long as its peer beats.
 */
export function idleTimeoutFor(
  settings: { idleTimeoutMs: number; idleTimeoutSet: boolean },
  linkUp: boolean,
): number {
  if (settings.idleTimeoutSet || !linkUp) return settings.idleTimeoutMs;
  return 0;
}

/** `[sst] flush-timeout`'s default, in seconds. */
export const DEFAULT_FLUSH_TIMEOUT_S = 900;

/** Our own `[sst]` names, for the misspelling notice. */
const OWN_SST_NAMES = [
  'tca', 'tcert', 'tkey', 'sockopt', 'allowed-donors', 'strict-identity', 'connect-timeout', 'handshake-timeout',
  'idle-timeout', 'previous-sst-timeout', 'backup-threads', 'sst-max-binlogs', 'progress-interval', 'tmpdir', 'rsync',
  'joiner-workers', 'rlimit', 'compress', 'require-donor-binding', 'flush-timeout', 'transfer', 'liveness-timeout',
  'copy', 'delta-block', 'split-dirs',
]; // prettier-ignore

/** A path setting from `[sst]` that sockopt may also give (socat `cafile=`); both set and different is ambiguous. */
function keyFile(
  sst: OptionSet,
  name: 'tca' | 'tcert' | 'tkey',
  sockopt: SockoptSettings,
  notices: string[],
) {
  const socatName = ({ tca: 'cafile', tcert: 'cert', tkey: 'key' } as const)[name];
  const entry = pick(name, sst);
  const own = text(entry, 'a file name');
  const fromSockopt = sockopt[socatName];
  if (fromSockopt === undefined) return own;
  if (own === undefined) {
    notices.push(`sockopt "${socatName}=${fromSockopt}" is used as [sst] ${name} because ${name} is not set`);
    return fromSockopt;
  }
  if (own === fromSockopt || entry === undefined) return own;
  throw badValue(entry, `sockopt also sets "${socatName}=${fromSockopt}": set only one`);
}

function sockoptOf(sst: OptionSet): { raw?: string; parsed: SockoptSettings } {
  const entry = pick('sockopt', sst);
  const raw = text(entry, 'socat options such as "verify=1"');
  try {
    return { ...(raw !== undefined && { raw }), parsed: parseSockopt(raw) };
  } catch (error) {
    if (error instanceof SockoptError && entry !== undefined) throw badValue(entry, error.detail);
    throw error;
  }
}

function donorList(sst: OptionSet): string[] {
  const entry = pick('allowed-donors', sst);
  const list = text(entry, 'DNS names, IP addresses or CNs separated by commas or spaces');
  const names = (list ?? '').split(/[\s,]+/).filter((name) => name !== '');
  const control = names.find((name) => /[\p{Cc}"']/u.test(name));
  if (control !== undefined && entry !== undefined) {
    throw badValue(entry, `expected DNS names, IP addresses or CNs, not "${control}"`);
  }
  return [...new Set(names)];
}

function sslNotice(sst: OptionSet, mysqld: OptionSet, tcert: string | undefined, notices: string[]): void {
  const ssl = pick('ssl-cert', mysqld, sst);
  if (tcert === undefined && ssl !== undefined) {
    notices.push(
      `[${ssl.group}] ${ssl.rawName} (${ssl.file}:${ssl.line}) is not used: like the original rsync_tunnel script, ` +
        'this method takes its certificate only from [sst] tcert',
    );
  }
}

function misspellings(sst: OptionSet, notices: string[]): void {
  for (const name of sst.names()) {
    if (OWN_SST_NAMES.includes(name)) continue;
    const near = OWN_SST_NAMES.find((own) => editDistance(name, own) <= 2 && name.length > 3);
    const entry = sst.entry(name);
    if (near !== undefined && entry !== undefined) {
      notices.push(
        `[${entry.group}] ${entry.rawName} (${entry.file}:${entry.line}) is not an option of this method: did you mean "${near}"?`,
      );
    }
  }
}

/** Validates `[sst]` (`sst`) and the server groups (`mysqld`) into frozen settings; ConfigError on a bad value. */
export function settingsFrom(
  sst: OptionSet,
  mysqld: OptionSet,
  env: NodeJS.ProcessEnv = process.env,
  cpus: number = availableParallelism(),
): SstSettings {
  const notices: string[] = [];
  const sockopt = sockoptOf(sst);
  const tcert = keyFile(sst, 'tcert', sockopt.parsed, notices);
  const tmpdirEntry = pick('tmpdir', sst);
  const tmpdir = text(tmpdirEntry, 'an absolute directory path') ?? (env.TMPDIR || undefined);
  if (tmpdir !== undefined && !isAbsolute(tmpdir)) {
    if (tmpdirEntry !== undefined) throw badValue(tmpdirEntry, 'expected an absolute directory path');
    notices.push(`TMPDIR "${tmpdir}" is not an absolute path and is not used`);
  }
  const fromServer = (name: string): string | undefined => text(pick(name, mysqld), 'a path');
  const logBinEntry = mysqld.entry('log-bin');
  const settings: SstSettings = {
    ...optional('tca', keyFile(sst, 'tca', sockopt.parsed, notices)),
    ...optional('tcert', tcert),
    ...optional('tkey', keyFile(sst, 'tkey', sockopt.parsed, notices)),
    sockopt: sockopt.parsed,
    ...optional('sockoptRaw', sockopt.raw),
    allowedDonors: donorList(sst),
    strictIdentity: boolean(pick('strict-identity', sst), false),
    requireDonorBinding: boolean(pick('require-donor-binding', sst), false),
    connectTimeoutMs: seconds(pick('connect-timeout', sst), 300, 0),
    handshakeTimeoutMs: seconds(pick('handshake-timeout', sst), 10, 1),
    idleTimeoutMs: seconds(pick('idle-timeout', sst), DEFAULT_IDLE_TIMEOUT_S, 0),
    idleTimeoutSet: pick('idle-timeout', sst) !== undefined,
    livenessMs: seconds(pick('liveness-timeout', sst), DEFAULT_LIVENESS_TIMEOUT_S, 0),
    previousSstTimeoutMs: seconds(pick('previous-sst-timeout', sst), 30, 0),
    flushTimeoutMs: seconds(pick('flush-timeout', sst), DEFAULT_FLUSH_TIMEOUT_S, 1),
    backupThreads: integer(pick('backup-threads', mysqld, sst), Math.min(Math.max(cpus, 1), 1024), {
      min: 1,
      max: 1024,
      unit: 'threads',
    }),
    splitDirs: boolean(pick('split-dirs', sst), true),
    joinerWorkers: integer(pick('joiner-workers', sst), cpus <= 2 ? 0 : Math.min(4, Math.floor(cpus / 2)), {
      min: 0,
      max: 64,
      unit: 'worker processes (0 = none)',
    }),
    sstMaxBinlogs: integer(pick('sst-max-binlogs', mysqld, sst), 1, {
      min: Number.MIN_SAFE_INTEGER,
      max: Number.MAX_SAFE_INTEGER,
      unit: 'binary logs (0 = none, negative = all)',
    }),
    progressIntervalMs: seconds(pick('progress-interval', sst), 10, 0),
    ...optional('tmpdir', tmpdir !== undefined && isAbsolute(tmpdir) ? tmpdir : undefined),
    rsync: text(pick('rsync', sst), 'the path of the rsync binary') ?? 'rsync',
    ...optional('rateLimit', rate(pick('rlimit', sst))),
    ...optional('compress', compression(pick('compress', sst))),
    ...optional('compressOff', compressionOff(pick('compress', sst))),
    transfer: transferSetting(pick('transfer', sst), env.SST_TUNNEL_SCRIPT),
    ...optional('deltaBlock', deltaBlock(pick('delta-block', sst))),
    copy: copySetting(pick('copy', sst)),
    ...optional('innodbDataHomeDir', fromServer('innodb-data-home-dir')),
    ...optional('innodbLogGroupHomeDir', fromServer('innodb-log-group-home-dir')),
    ...optional('innodbUndoDirectory', fromServer('innodb-undo-directory')),
    ...optional('ariaLogDirPath', fromServer('aria-log-dir-path')),
    ...optional('logBin', logBinEntry === undefined ? undefined : (logBinEntry.value ?? '')),
    ...optional('logBinIndex', fromServer('log-bin-index')),
    ...optional('logBasename', fromServer('log-basename')),
    notices,
  };
  sslNotice(sst, mysqld, tcert, notices);
  misspellings(sst, notices);
  return deepFreeze(settings);
}

/** The algorithms rsync (3.2 and later) can be asked for by name. */
const RSYNC_COMPRESSION = ['zstd', 'lz4', 'zlibx', 'zlib'];

/** `[sst] compress`: on (or a bare flag) = 'auto', off = undefined, or one of rsync's algorithms. */
function compression(entry: OptionEntry | undefined): string | undefined {
  if (entry === undefined) return undefined;
  const word = entry.value?.toLowerCase();
  if (RSYNC_COMPRESSION.includes(word ?? '')) return word;
  try {
    return boolean(entry, false) ? 'auto' : undefined;
  } catch {
    throw badValue(
      entry,
      `expected on, off, or one of rsync's compressions: ${RSYNC_COMPRESSION.join(', ')}`,
    );
  }
}

/** `[sst] compress = off` (or 0, no...) given: true; else undefined. */
function compressionOff(entry: OptionEntry | undefined): true | undefined {
  return entry !== undefined && compression(entry) === undefined ? true : undefined;
}

/** `[sst] delta-block`: bytes with an optional K suffix, 512 to 128K (rsync's largest block). */
function deltaBlock(entry: OptionEntry | undefined): number | undefined {
  if (entry === undefined) return undefined;
  const bytes = entry.value === undefined ? undefined : parseRate(entry.value);
  if (bytes === undefined || !Number.isInteger(bytes) || bytes < 512 || bytes > 128 * 1024)
    throw badValue(entry, 'expected a block size from 512 to 128K bytes, e.g. 4K');
  return bytes;
}

/** `[sst] transfer`: whole, delta or auto; unset = the script name's default. */
function transferSetting(entry: OptionEntry | undefined, script: string | undefined): TransferSetting {
  const word = text(entry, 'whole, delta or auto')?.toLowerCase();
  if (word === undefined) return defaultTransfer(script);
  const found = TRANSFER_SETTINGS.find((setting) => setting === word);
  if (found === undefined && entry !== undefined) throw badValue(entry, 'expected whole, delta or auto');
  return found ?? defaultTransfer(script);
}

/** `[sst] copy`'s words. */
export type CopySetting = 'single' | 'two-phase';
export const COPY_SETTINGS: readonly CopySetting[] = ['single', 'two-phase'];
/**
 * `[sst] copy`'s default: two-phase, since it passed the stand-in suites and a real cluster under a write load
 * (test/e2e/galera-two-phase.test.ts, issue #22); `single` stays selectable.
 */
export const DEFAULT_COPY: CopySetting = 'two-phase';

/** `[sst] copy`: single or two-phase. */
function copySetting(entry: OptionEntry | undefined): CopySetting {
  const word = text(entry, 'single or two-phase')?.toLowerCase();
  if (word === undefined) return DEFAULT_COPY;
  const found = COPY_SETTINGS.find((setting) => setting === word);
  if (found === undefined && entry !== undefined) throw badValue(entry, 'expected single or two-phase');
  return found ?? DEFAULT_COPY;
}

/** `{ key: value }` when value is defined, else `{}`: exactOptionalPropertyTypes forbids explicit undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function deepFreeze<T extends object>(value: T): Readonly<T> {
  for (const inner of Object.values(value))
    if (typeof inner === 'object' && inner !== null) deepFreeze(inner);
  return Object.freeze(value);
}
