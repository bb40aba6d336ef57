/**
 * The SST address as mysqld passes it (sst-contract.md 1.4.4, 1.6): `host[:port][/module[/lsn[/ver]]]`,
 * IPv6 literals in brackets, port 4444 when absent. Pure.
 */
import { isIP } from 'node:net';
import { UsageError } from '../errors.js';

/** The port an SST listens on when the address names none (contract 1.4.4). */
export const DEFAULT_SST_PORT = 4444;
/** The rsync module of rsync_tunnel: fixed by the original script, advertised in `ready`. */
export const DEFAULT_MODULE = 'rsync_tunnel_sst';

/** A parsed SST address. `host` never carries brackets; `hostForUrl` does for IPv6. */
export interface SstAddress {
  host: string;
  port: number;
  /** True when the address named a port explicitly. */
  explicitPort: boolean;
  /** The path after the first `/`, split: module, then lsn/version fields if any. */
  path: string[];
  family: 0 | 4 | 6;
}

// mysqld refuses any other character in an SST address ("Bad SST address string", contract 1.3.2).
const ALLOWED = /^[A-Za-z0-9\-_.:[\]/]+$/;

/** Parses an SST address; a UsageError (exit 22) names the address and what is wrong with it. */
export function parseSstAddress(raw: string): SstAddress {
  const fail = (why: string): never => {
    throw new UsageError(`Cannot parse SST address "${raw}": ${why}`);
  };
  if (raw === '') fail('it is empty');
  if (!ALLOWED.test(raw)) fail('only letters, digits and "-_.:[]/" are allowed');
  const slash = raw.indexOf('/', raw.startsWith('[') ? raw.indexOf(']') : 0);
  const hostPort = slash === -1 ? raw : raw.slice(0, slash);
  const path = slash === -1 ? [] : raw.slice(slash + 1).split('/');
  let host: string;
  let portText: string | undefined;
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']');
    if (close === -1) fail('"[" without a matching "]"');
    host = hostPort.slice(1, close);
    const rest = hostPort.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) fail(`unexpected "${rest}" after "]"`);
    portText = rest === '' ? undefined : rest.slice(1);
    if (isIP(host) !== 6) fail(`"${host}" in brackets is not an IPv6 address`);
  } else {
    const parts = hostPort.split(':');
    // An unbracketed IPv6 literal is ambiguous with host:port; mysqld always brackets (contract 1.6.4).
    if (parts.length > 2) fail('an IPv6 address must be written in brackets, e.g. "[fd00::2]:4444"');
    host = parts[0] ?? '';
    portText = parts[1];
  }
  if (host === '') fail('the host is empty');
  let port = DEFAULT_SST_PORT;
  if (portText !== undefined) {
    if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
      fail(`port "${portText}" is not a number from 1 to 65535`);
    }
    port = Number(portText);
  }
  const ipFamily = isIP(host);
  return {
    host,
    port,
    explicitPort: portText !== undefined,
    path,
    family: ipFamily === 4 ? 4 : ipFamily === 6 ? 6 : 0,
  };
}

/** `host` as it must appear next to a port: IPv6 in brackets. */
export function hostForUrl(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** `host:port`, IPv6 bracketed. */
export function formatHostPort(host: string, port: number): string {
  return `${hostForUrl(host)}:${port}`;
}

/** The module an address names, or rsync_tunnel's fixed module. */
export function moduleOf(address: SstAddress): string {
  const first = address.path[0];
  return first === undefined || first === '' ? DEFAULT_MODULE : first;
}
