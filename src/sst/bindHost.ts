/**
 * Where the joiner's TLS listener binds (sst-contract.md 6.2): the literal advertised address when it is one
 * of this host's addresses, never a name re-resolved through /etc/hosts (which on Debian often maps the
 * hostname to 127.0.1.1 and leaves donors with "connection refused"). An address that is not local (NAT,
 * a forwarded port) gets the wildcard of its family, with a warning, as MariaDB's rsync method does.
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

/** True for loopback or an address configured on one of this host's interfaces. */
export function isLocalAddress(address: string, interfaces = networkInterfaces()): boolean {
  const family = isIP(address);
  if (family === 4 && address.startsWith('127.')) return true;
  if (family === 6 && (address === '::1' || address.toLowerCase().startsWith('::ffff:127.'))) return true;
  return Object.values(interfaces).some((list) =>
    (list ?? []).some((entry) => entry.address.toLowerCase() === address.toLowerCase()),
  );
}

/** The bind address for an advertised host, and a warning to log when it had to widen. */
export async function chooseBindHost(
  host: string,
  resolve: (name: string) => Promise<string[]> = async (name) =>
    (await lookup(name, { all: true, verbatim: true })).map((entry) => entry.address),
): Promise<{ bind: string; warning?: string }> {
  const family = isIP(host);
  if (family !== 0) {
    if (isLocalAddress(host)) return { bind: host };
    return {
      bind: family === 6 ? '::' : '0.0.0.0',
      warning: `Advertised address ${host} is not on this host (NAT?): listening on all ${family === 6 ? 'IPv6' : 'IPv4'} addresses`,
    };
  }
  let addresses: string[] = [];
  try {
    addresses = await resolve(host);
  } catch {
    addresses = [];
  }
  const local = addresses.find((address) => isLocalAddress(address));
  if (local !== undefined) return { bind: local };
  return {
    bind: '::',
    warning:
      addresses.length === 0
        ? `Cannot resolve advertised name "${host}": listening on all addresses`
        : `Advertised name "${host}" resolves to ${addresses.join(', ')}, none of them on this host: listening on all addresses`,
  };
}
