/** Checks of the host, from facts gathered at the edge: rsync, the SST port, the datadir. Pure. */
import { formatHostPort } from '../../sst/address.js';
import { checkCompression, type RsyncVersion } from '../../sst/prepare.js';
import { fail, ok, warn, type CheckResult } from '../../preflight/result.js';
import { allows, type FileStat } from './files.js';
import type { UserIdentity } from '../userDb.js';

/** What `rsync --version` says, or why it cannot be run. */
export type RsyncFacts = RsyncVersion | { error: string };

/** rsync present, and its version. */
export function rsyncCheck(facts: RsyncFacts): CheckResult {
  if ('error' in facts)
    return fail('rsync', facts.error, 'install the rsync package, or set [sst] rsync to its path');
  return ok('rsync', `rsync runs: ${facts.version.replace(/\s+/g, ' ')}`);
}

/** A process holding a port. */
export interface PortHolder {
  pid: number;
  command: string;
}

/** What happened when the doctor bound the SST port briefly. */
export type PortFacts =
  | { host: string; port: number; free: true }
  | { host: string; port: number; free: false; code: string; message: string; holders: PortHolder[] };

/** The SST port free on the address the joiner would bind; a busy port names the holding processes. */
export function portCheck(facts: PortFacts): CheckResult {
  const where = `${formatHostPort(facts.host, facts.port)}`;
  if (facts.free) return ok('port', `Port ${facts.port} is free on ${facts.host}`);
  if (facts.code === 'EADDRINUSE') {
    const holders = facts.holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ');
    return fail(
      'port',
      `Port ${facts.port} on ${facts.host} is in use${holders === '' ? ' by a process this user cannot see' : ` by ${holders}`}`,
      'stop that program (a leftover SST?), or advertise another port in wsrep_sst_receive_address',
    );
  }
  if (facts.code === 'EACCES') {
    return fail(
      'port',
      `Cannot listen on ${where}: permission denied`,
      'a port below 1024 needs root; on SELinux hosts label the port (semanage port -a -t mysqld_port_t -p tcp PORT)',
    );
  }
  if (facts.code === 'EADDRNOTAVAIL') {
    return fail(
      'port',
      `Cannot listen on ${where}: the address is not on this host`,
      'advertise an address of this host',
    );
  }
  return fail('port', `Cannot listen on ${where}: ${facts.message}`);
}

/** The datadir, stat'ed; undefined stat = missing. */
export interface DatadirFacts {
  path: string;
  stat?: FileStat & { isDirectory: boolean };
  error?: string;
}

/** The joiner's rsync writes into the datadir as the mysqld user. */
export function datadirCheck(facts: DatadirFacts, user: UserIdentity | undefined): CheckResult {
  const stat = facts.stat;
  if (stat === undefined) {
    return warn(
      'datadir',
      `Cannot check datadir "${facts.path}": ${facts.error ?? 'not found'}`,
      'pass --datadir',
    );
  }
  if (!stat.isDirectory) return fail('datadir', `Datadir "${facts.path}" is not a directory`);
  if (user !== undefined && !(allows(stat, user, 0o2) && allows(stat, user, 0o1))) {
    return fail(
      'datadir',
      `Datadir "${facts.path}" is not writable by user "${user.name}" (owner ${stat.owner ?? stat.uid}:${stat.group ?? stat.gid}, mode 0${(stat.mode & 0o777).toString(8)})`,
      `chown -R ${user.name}: ${facts.path}`,
    );
  }
  return ok('datadir', `Datadir "${facts.path}" is writable by user "${user?.name ?? '?'}"`);
}

/**
 * `[sst] compress` naming an algorithm: the donor's rsync must offer it, as the SST's preflight checks on a
 * donor (src/sst/prepare.ts checkCompression); the doctor says so on any node, before it is ever a donor.
 */
export function compressCheck(
  compress: string | undefined,
  rsync: string,
  facts: RsyncFacts,
): CheckResult | undefined {
  if (compress === undefined || 'error' in facts) return undefined;
  if (compress === 'auto')
    return ok('compress', 'rsync compresses the data passes with the best algorithm both sides have');
  try {
    checkCompression(compress, rsync, facts);
  } catch (error) {
    return fail(
      'compress',
      (error as Error).message,
      'set [sst] compress = on (rsync then negotiates), or install an rsync that offers it',
    );
  }
  return ok('compress', `rsync compresses the data passes with ${compress}`);
}
