/**
 * The address this node advertises to donors, computed as mysqld does (sst-contract.md 1.6): the name a donor
 * dials and checks against this node's certificate (4.5.3). Pure: options and interfaces in, address out.
 */
import { isIP } from 'node:net';
import type { NetworkInterfaceInfo } from 'node:os';
import type { OptionEntry, OptionSet } from '../config/optionSet.js';
import { DEFAULT_SST_PORT, hostForUrl, parseSstAddress } from '../sst/address.js';

/** The advertised address, where it came from, and the text mysqld would pass as `--address`. */
export interface AdvertisedAddress {
  /** Without brackets. */
  host: string;
  port: number;
  /** `host[:port]` as mysqld passes it: IPv6 bracketed, `:port` only when one was given. */
  address: string;
  source: 'wsrep_sst_receive_address' | 'wsrep_node_address' | 'bind_address' | 'interface';
  /** Where the option was set, e.g. "/etc/mysql/my.cnf:12"; the interface name for a guessed address. */
  origin: string;
}

const WILDCARDS = new Set(['*', '0.0.0.0', '::', '0:0:0:0:0:0:0:0', '::0']);

function where(entry: OptionEntry): string {
  return `${entry.file}:${entry.line}`;
}

/** Host and optional port of an option value such as `10.0.0.2:4567` or `[fd00::2]`; undefined if malformed. */
function hostPortOf(value: string): { host: string; port?: number } | undefined {
  // A bare IPv6 literal is legal in wsrep_node_address; parseSstAddress wants brackets.
  const text = isIP(value) === 6 ? `[${value}]` : value;
  try {
    const parsed = parseSstAddress(text);
    return parsed.explicitPort ? { host: parsed.host, port: parsed.port } : { host: parsed.host };
  } catch {
    return undefined;
  }
}

function result(host: string, port: number | undefined, source: AdvertisedAddress['source'], origin: string) {
  const address = port === undefined ? hostForUrl(host) : `${hostForUrl(host)}:${port}`;
  return { host, port: port ?? DEFAULT_SST_PORT, address, source, origin };
}

/**
 * mysqld's choice: wsrep_sst_receive_address unless AUTO (its port kept), else wsrep_node_address with its port
 * dropped, else bind_address unless empty or a wildcard, else the first non-loopback interface address (IPv6
 * link-local addresses are skipped: they need a zone a donor cannot use). Undefined when nothing fits.
 */
export function advertisedAddress(
  mysqld: OptionSet,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>,
): AdvertisedAddress | undefined {
  const receive = mysqld.entry('wsrep-sst-receive-address');
  const receiveValue = receive?.value?.trim();
  if (
    receive !== undefined &&
    receiveValue !== undefined &&
    receiveValue !== '' &&
    receiveValue.toUpperCase() !== 'AUTO'
  ) {
    const parsed = hostPortOf(receiveValue);
    if (parsed !== undefined)
      return result(parsed.host, parsed.port, 'wsrep_sst_receive_address', where(receive));
  }
  const node = mysqld.entry('wsrep-node-address');
  const nodeValue = node?.value?.trim();
  if (node !== undefined && nodeValue !== undefined && nodeValue !== '') {
    const parsed = hostPortOf(nodeValue);
    if (parsed !== undefined) return result(parsed.host, undefined, 'wsrep_node_address', where(node));
  }
  const bind = mysqld.entry('bind-address');
  const bindValue = bind?.value?.trim();
  if (bind !== undefined && bindValue !== undefined && bindValue !== '' && !WILDCARDS.has(bindValue)) {
    const parsed = hostPortOf(bindValue);
    if (parsed !== undefined) return result(parsed.host, undefined, 'bind_address', where(bind));
  }
  for (const [name, list] of Object.entries(interfaces)) {
    const entry = (list ?? []).find((i) => !i.internal && !i.address.toLowerCase().startsWith('fe80:'));
    if (entry !== undefined) return result(entry.address, undefined, 'interface', `interface ${name}`);
  }
  return undefined;
}

/** "from wsrep_node_address (/etc/my.cnf:3), port dropped" and similar, for the checklist. */
export function describeSource(advertised: AdvertisedAddress): string {
  switch (advertised.source) {
    case 'wsrep_sst_receive_address':
      return `from wsrep_sst_receive_address (${advertised.origin})`;
    case 'wsrep_node_address':
      return `from wsrep_node_address (${advertised.origin}), its port dropped as mysqld does`;
    case 'bind_address':
      return `from bind_address (${advertised.origin}): wsrep_sst_receive_address and wsrep_node_address are not set`;
    case 'interface':
      return `guessed from ${advertised.origin}: wsrep_sst_receive_address, wsrep_node_address and bind_address are not set`;
  }
}
