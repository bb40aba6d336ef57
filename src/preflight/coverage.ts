/**
 * Does this node's certificate name the address donors will dial (sst-contract.md 4.5.3)? Matching is the
 * donor's own (tls/identity matchIdentity, socat semantics); a miss prints what the certificate holds and the
 * `sst-tunnel certs node` command that would make a certificate that matches.
 */
import { basename, dirname } from 'node:path';
import type { Credentials } from '../tls/credentials.js';
import { matchIdentity, peerIdentity } from '../tls/identity.js';
import { canonicalIp } from '../tls/ipAddress.js';
import { fail, ok, type CheckResult } from './result.js';

function quote(values: string[]): string {
  return values.length === 0 ? 'none' : values.map((v) => `"${v}"`).join(', ');
}

/**
 * The `certs node` command for a new certificate with the current names plus `extra` (an IP or DNS name). The
 * CA directory is where tca lives when it is a `certs init` directory (ca.pem); otherwise a placeholder.
 */
export function renewCommand(creds: Credentials, extra?: string): string {
  const id = peerIdentity(creds.leaf);
  const tca = creds.paths.tca;
  const dir = tca !== undefined && basename(tca) === 'ca.pem' ? dirname(tca) : '<CA directory>';
  const name = id.cn[0] ?? id.dns[0] ?? id.ips[0] ?? extra ?? '<node address>';
  const dns = [...id.dns];
  const ips = [...id.ips];
  if (extra !== undefined) {
    const ip = canonicalIp(extra);
    if (ip !== undefined) ips.push(ip);
    else dns.push(extra);
  }
  const nameIp = canonicalIp(name);
  const args = [...new Set(dns.filter((d) => d.toLowerCase() !== name.toLowerCase()))].map(
    (d) => `--dns ${d}`,
  );
  args.push(...[...new Set(ips.filter((ip) => ip !== nameIp))].map((ip) => `--ip ${ip}`));
  const quoted = /^[\w.:-]+$/.test(name) ? name : `"${name}"`;
  return ['sst-tunnel certs node --dir', dir, '--name', quoted, ...args, '--force'].join(' ');
}

/** Whether the certificate covers `host` (no brackets), and by which field. */
export function coverageCheck(
  creds: Credentials,
  host: string,
  opts: { strictIdentity: boolean },
): CheckResult {
  const id = peerIdentity(creds.leaf);
  const what = `Certificate "${creds.paths.tcert}"`;
  const match = matchIdentity(id, host, { strict: opts.strictIdentity });
  if (match === undefined) {
    const field = canonicalIp(host) === undefined ? 'SAN DNS' : 'SAN IP';
    return fail(
      'cert.identity',
      `${what} does not cover "${host}", the address donors will check: it holds CN ${quote(id.cn)}, SAN DNS ${quote(id.dns)}, SAN IP ${quote(id.ips)}`,
      `make a certificate with ${field} "${host}": ${renewCommand(creds, host)}; or advertise a name the certificate holds (wsrep_sst_receive_address)`,
    );
  }
  if (match.field === 'CN') {
    return ok(
      'cert.identity',
      `${what} covers "${host}" by its CN "${match.value}" only (no SAN matches; accepted as socat does, refused by peers with strict-identity)`,
    );
  }
  return ok('cert.identity', `${what} covers "${host}" by ${match.field} "${match.value}"`);
}
