/**
 * Checks of every CA certificate in tca and every intermediate in tcert: validity and EKU. A certificate on the
 * node's own chain must be valid (fail); an expired CA elsewhere in the bundle is a leftover of a rotation (warn).
 */
import type { X509Certificate } from 'node:crypto';
import type { Credentials } from '../tls/credentials.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { dayCount, issuerPath, missingUsages, oneLine, usageNames, validityOf } from './certFacts.js';

function label(cert: X509Certificate, where: string, file: string): string {
  return `${where === 'tca' ? 'CA' : 'Intermediate'} "${oneLine(cert.subject)}" in ${where} "${file}"`;
}

function oneCert(
  cert: X509Certificate,
  what: string,
  onPath: boolean,
  now: Date,
  warnDays: number,
): CheckResult[] {
  const results: CheckResult[] = [];
  const v = validityOf(cert, now, warnDays);
  const bad = onPath ? fail : warn;
  const own = onPath ? ' and the node certificate depends on it' : '';
  switch (v.state) {
    case 'expired':
      results.push(
        bad(
          'ca.validity',
          `${what} expired on ${v.notAfter}${own}`,
          onPath
            ? 'renew the CA and reissue the node certificates it signed'
            : 'remove it from the bundle once no node uses a certificate it issued',
        ),
      );
      break;
    case 'not-yet-valid':
      results.push(
        bad('ca.validity', `${what} is not valid before ${v.notBefore}${own}`, "check this host's clock"),
      );
      break;
    case 'expiring':
      results.push(
        warn(
          'ca.validity',
          `${what} expires in ${dayCount(v.days)}, on ${v.notAfter}`,
          'add its successor to tca on every node now, then move the nodes to certificates it issued (a rotation)',
        ),
      );
      break;
    case 'valid':
      results.push(ok('ca.validity', `${what} is valid until ${v.notAfter}`));
  }
  const missing = missingUsages(cert);
  if (missing.length > 0) {
    results.push(
      bad(
        'ca.eku',
        `${what} does not allow ${missing.join(' and ')}: its extended key usage is ${usageNames(cert) ?? ''}; OpenSSL refuses chains through it`,
        'reissue the CA without an extended key usage, or with serverAuth and clientAuth',
      ),
    );
  }
  return results;
}

/** Validity and EKU of each intermediate in tcert and each certificate in tca. */
export function bundleChecks(creds: Credentials, now: Date, warnDays: number): CheckResult[] {
  const path = new Set((issuerPath(creds) ?? []).map((c) => c.fingerprint256));
  return [
    ...creds.chain.map((cert) =>
      oneCert(cert, label(cert, 'tcert', creds.paths.tcert), path.has(cert.fingerprint256), now, warnDays),
    ),
    ...creds.caCerts.map((cert) =>
      oneCert(cert, label(cert, 'tca', creds.paths.tca ?? ''), path.has(cert.fingerprint256), now, warnDays),
    ),
  ].flat();
}
