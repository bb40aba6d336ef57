/** Small pure facts about node:crypto certificates shared by the certificate checks: dates, names, usages, path. */
import type { X509Certificate } from 'node:crypto';
import type { Credentials } from '../tls/credentials.js';

const DAY_MS = 86_400_000;
/** id-kp-serverAuth, id-kp-clientAuth, anyExtendedKeyUsage (RFC 5280 4.2.1.12). */
export const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
export const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
const ANY_EKU = '2.5.29.37.0';
const EKU_NAMES: Record<string, string> = {
  [SERVER_AUTH]: 'serverAuth',
  [CLIENT_AUTH]: 'clientAuth',
  [ANY_EKU]: 'anyExtendedKeyUsage',
};

/** Where a certificate stands at `now`: window, days to the end (negative once expired), ISO dates. */
export interface Validity {
  state: 'not-yet-valid' | 'expired' | 'expiring' | 'valid';
  days: number;
  notBefore: string;
  notAfter: string;
}

/** The validity state; `expiring` when fewer than `warnDays` whole days are left. */
export function validityOf(cert: X509Certificate, now: Date, warnDays: number): Validity {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const days = Math.floor((to.getTime() - now.getTime()) / DAY_MS);
  const base = { days, notBefore: from.toISOString(), notAfter: to.toISOString() };
  if (now < from) return { state: 'not-yet-valid', ...base };
  if (now >= to) return { state: 'expired', ...base };
  return { state: days < warnDays ? 'expiring' : 'valid', ...base };
}

/** "1 day" or "N days". */
export function dayCount(days: number): string {
  const n = Math.abs(days);
  return `${n} day${n === 1 ? '' : 's'}`;
}

/** The subject on one line, RDNs comma-separated. */
export function oneLine(name: string): string {
  return name.split('\n').join(', ');
}

/** The first CN of a subject or issuer text, or undefined. */
export function commonNameOf(name: string): string | undefined {
  const line = name.split('\n').find((l) => l.startsWith('CN='));
  return line === undefined ? undefined : line.slice(3).replace(/\\(.)/g, '$1');
}

/** Missing TLS usages: [] when the certificate has no EKU, anyExtendedKeyUsage, or both serverAuth and clientAuth. */
export function missingUsages(cert: X509Certificate): string[] {
  const eku = cert.keyUsage as string[] | undefined;
  if (eku === undefined || eku.includes(ANY_EKU)) return [];
  return [SERVER_AUTH, CLIENT_AUTH].filter((oid) => !eku.includes(oid)).map((oid) => EKU_NAMES[oid] ?? oid);
}

/** The EKU as names ("serverAuth, clientAuth"), or undefined when absent. */
export function usageNames(cert: X509Certificate): string | undefined {
  const eku = cert.keyUsage as string[] | undefined;
  return eku === undefined ? undefined : eku.map((oid) => EKU_NAMES[oid] ?? oid).join(', ') || '(empty)';
}

/**
 * The certificates from the leaf's issuer up to the trust anchor in tca, in order ([] when the leaf itself is in
 * tca); undefined when the chain does not reach tca or tca is not set. Same walk as tls ownChainProblem.
 */
export function issuerPath(creds: Credentials): X509Certificate[] | undefined {
  if (creds.caCerts.length === 0) return undefined;
  const inTca = (cert: X509Certificate): boolean =>
    creds.caCerts.some((ca) => ca.fingerprint256 === cert.fingerprint256);
  const pool = [...creds.chain, ...creds.caCerts];
  const path: X509Certificate[] = [];
  let current = creds.leaf;
  for (let depth = 0; depth < 10; depth++) {
    if (inTca(current)) return path;
    const issuer = pool.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined) return undefined;
    path.push(issuer);
    current = issuer;
  }
  return undefined;
}
