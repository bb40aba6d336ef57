/**
 * The certificate checks the doctor prints and the SST preflight enforces (issue "Certificates without tears"),
 * in one place below both: key and certificate belong together, validity window and expiry warning, chain to
 * tca, CA common name, EKU, the advertised address covered, every CA of the bundle. Pure: no network, no file
 * system beyond `creds`.
 */
import { createPrivateKey } from 'node:crypto';
import type { Credentials } from '../tls/credentials.js';
import { ownChainProblem } from '../tls/credentials.js';
import { fail, ok, warn, type CheckResult } from './result.js';
import { bundleChecks } from './bundle.js';
import {
  commonNameOf,
  dayCount,
  issuerPath,
  missingUsages,
  oneLine,
  usageNames,
  validityOf,
} from './certFacts.js';
import { coverageCheck, renewCommand } from './coverage.js';

/** Options of credentialChecks. */
export interface CredentialCheckOptions {
  /** The host donors dial (the advertised address, without brackets or port); omitted = no coverage check. */
  advertisedHost?: string;
  now?: Date;
  /** Warn when a certificate ends within this many days; default 30. */
  expiryWarningDays?: number;
  /** [sst] strict-identity: the CN does not count when the certificate has SANs. */
  strictIdentity?: boolean;
}

/** Default of --expiry-warning-days. */
export const DEFAULT_EXPIRY_WARNING_DAYS = 30;

function keyMatch(creds: Credentials): CheckResult {
  const keyPath = creds.paths.tkey ?? creds.paths.tcert;
  try {
    if (creds.leaf.checkPrivateKey(createPrivateKey(creds.key))) {
      return ok('cert.key-match', `Key "${keyPath}" matches certificate "${creds.paths.tcert}"`);
    }
  } catch {
    // An unreadable key cannot match either; the message below says what to do.
  }
  return fail(
    'cert.key-match',
    `Cannot use certificate "${creds.paths.tcert}" with key "${keyPath}": the key does not match the certificate`,
    'use the key made together with this certificate, or make a new pair with "sst-tunnel certs node"',
  );
}

function leafValidity(creds: Credentials, now: Date, warnDays: number): CheckResult {
  const v = validityOf(creds.leaf, now, warnDays);
  const what = `Certificate "${creds.paths.tcert}"`;
  const renew = renewCommand(creds);
  switch (v.state) {
    case 'not-yet-valid':
      return fail(
        'cert.validity',
        `${what} is not valid before ${v.notBefore}`,
        "check this host's clock, or reissue it",
      );
    case 'expired':
      return fail(
        'cert.validity',
        `${what} expired on ${v.notAfter} (${dayCount(v.days)} ago)`,
        `reissue it: ${renew}`,
      );
    case 'expiring':
      return warn(
        'cert.validity',
        `${what} expires in ${dayCount(v.days)}, on ${v.notAfter} (warning window ${warnDays} days)`,
        `renew it before then: ${renew}`,
      );
    case 'valid':
      return ok('cert.validity', `${what} is valid until ${v.notAfter} (${dayCount(v.days)} left)`);
  }
}

function chainCheck(creds: Credentials): CheckResult {
  const tca = creds.paths.tca;
  if (tca === undefined) {
    return warn(
      'cert.chain',
      `[sst] tca is not set: peers are checked against the built-in public CAs, which never issue cluster certificates`,
      'set [sst] tca to the cluster CA file (or a bundle of every CA in use)',
    );
  }
  const problem = ownChainProblem(creds);
  if (problem !== undefined) {
    return fail(
      'cert.chain',
      `Cannot verify certificate "${creds.paths.tcert}" against tca "${tca}": ${problem}`,
      `set [sst] tca to the CA that issued it (issuer "${oneLine(creds.leaf.issuer)}"), or add that CA to the bundle`,
    );
  }
  const path = issuerPath(creds) ?? [];
  const anchor = path.at(-1);
  return ok(
    'cert.chain',
    anchor === undefined
      ? `Certificate "${creds.paths.tcert}" is itself in tca "${tca}"`
      : `Certificate "${creds.paths.tcert}" verifies against tca "${tca}" (issuer "${oneLine(creds.leaf.issuer)}"${path.length > 1 ? `, ${path.length - 1} intermediate(s)` : ''})`,
  );
}

/** A self-signed leaf (per-node certificates listed in tca, sst-contract.md 4.5.6) has no separate CA name. */
function selfSigned(creds: Credentials): boolean {
  return creds.leaf.subject === creds.leaf.issuer && creds.leaf.verify(creds.leaf.publicKey);
}

function caNameCheck(creds: Credentials): CheckResult | undefined {
  const leafCn = commonNameOf(creds.leaf.subject);
  const issuerCn = commonNameOf(creds.leaf.issuer);
  if (leafCn === undefined || issuerCn === undefined || selfSigned(creds)) return undefined;
  if (leafCn.toLowerCase() === issuerCn.toLowerCase()) {
    return fail(
      'cert.ca-cn',
      `Certificate "${creds.paths.tcert}" has the same common name "${leafCn}" as its CA "${oneLine(creds.leaf.issuer)}"`,
      'give the CA and each node distinct names (OpenSSL takes such a certificate for self-signed); reissue it with "sst-tunnel certs node"',
    );
  }
  return ok('cert.ca-cn', `Common name "${leafCn}" differs from the CA's "${issuerCn}"`);
}

function ekuCheck(creds: Credentials): CheckResult {
  const what = `Certificate "${creds.paths.tcert}"`;
  const missing = missingUsages(creds.leaf);
  const names = usageNames(creds.leaf);
  if (missing.length > 0) {
    return fail(
      'cert.eku',
      `${what} does not allow ${missing.join(' and ')}: its extended key usage is ${names ?? ''}`,
      'every node is a TLS server (joiner) and a TLS client (donor): reissue it with extendedKeyUsage = serverAuth, clientAuth ("sst-tunnel certs node" does)',
    );
  }
  return ok(
    'cert.eku',
    names === undefined
      ? `${what} has no extended key usage: it may act as TLS server and client`
      : `${what} allows TLS server and client use (extended key usage ${names})`,
  );
}

/**
 * Every certificate check that needs only the loaded material. The SST preflight fails on any 'fail' and logs
 * each 'warn' (an expiry inside the warning window shows up in every SST log).
 */
export function credentialChecks(creds: Credentials, opts: CredentialCheckOptions = {}): CheckResult[] {
  const now = opts.now ?? new Date();
  const warnDays = opts.expiryWarningDays ?? DEFAULT_EXPIRY_WARNING_DAYS;
  const results = [keyMatch(creds), leafValidity(creds, now, warnDays), chainCheck(creds)];
  const caName = caNameCheck(creds);
  if (caName !== undefined) results.push(caName);
  results.push(ekuCheck(creds));
  if (opts.advertisedHost !== undefined) {
    results.push(coverageCheck(creds, opts.advertisedHost, { strictIdentity: opts.strictIdentity ?? false }));
  }
  results.push(...bundleChecks(creds, now, warnDays));
  return results;
}
