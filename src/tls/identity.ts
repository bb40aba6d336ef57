/**
 * Peer identity policy, pure (style.md habit 2): what a certificate names, and whether it names what we expect.
 * Semantics follow socat's peer check (sst-contract.md 4.5, 6.3) so mixed clusters keep working: a SAN DNS entry,
 * a SAN IP entry or the subject CN equal to the expected name. Node's tls.checkServerIdentity is not used: it
 * ignores the CN whenever a SAN DNS entry exists, which socat does not (MariaDB/server PR #977).
 */
import { X509Certificate } from 'node:crypto';
import type { PeerCertificate } from 'node:tls';
import { canonicalIp } from './ipAddress.js';

/** Which part of the certificate matched. */
export type IdentityField = 'SAN DNS' | 'SAN IP' | 'CN';

/** What a certificate names, as plain strings for checks and messages. */
export interface PeerIdentity {
  /** One line, RDNs comma-separated. */
  subject: string;
  cn: string[];
  dns: string[];
  /** Canonical IP literals (see canonicalIp). */
  ips: string[];
  issuer: string;
  serial: string;
  validTo: string;
}

/** The field that matched and the certificate's value in it. */
export interface IdentityMatch {
  field: IdentityField;
  value: string;
}

/** Options of the match: strict ignores the CN as soon as the certificate has any SAN DNS or IP entry. */
export interface MatchOptions {
  strict?: boolean;
}

/**
 * Splits Node's subjectAltName text (`DNS:a, IP Address:10.0.0.1`). Since the fix for CVE-2021-44532 Node
 * JSON-quotes values that hold separators (`DNS:"a, b"`), so a plain split on ", " would be spoofable.
 */
export function parseSubjectAltName(text: string | undefined): Array<{ type: string; value: string }> {
  const entries: Array<{ type: string; value: string }> = [];
  if (text === undefined) return entries;
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let end = colon + 2;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        value = text.slice(colon + 2, end);
      }
      next = text.indexOf(', ', end);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next < 0 ? undefined : next);
    }
    entries.push({ type, value });
    if (next < 0) break;
    i = next + 2;
  }
  return entries;
}

/** The values of one attribute in Node's multi-line name text (`C=FI\nCN=node1`), RFC 2253 escapes undone. */
function nameValues(name: string, attribute: string): string[] {
  return name
    .split('\n')
    .filter((line) => line.startsWith(`${attribute}=`))
    .map((line) => line.slice(attribute.length + 1).replace(/\\(.)/g, '$1'));
}

/** The identity a certificate presents; a peer certificate from a TLS socket is re-read from its DER. */
export function peerIdentity(cert: PeerCertificate | X509Certificate): PeerIdentity {
  const x509 = cert instanceof X509Certificate ? cert : new X509Certificate(cert.raw);
  const sans = parseSubjectAltName(x509.subjectAltName);
  return {
    subject: x509.subject.split('\n').join(', '),
    cn: nameValues(x509.subject, 'CN'),
    dns: sans.filter((s) => s.type === 'DNS').map((s) => s.value),
    ips: sans.filter((s) => s.type === 'IP Address').map((s) => canonicalIp(s.value) ?? s.value),
    issuer: x509.issuer.split('\n').join(', '),
    serial: x509.serialNumber,
    validTo: x509.validTo,
  };
}

function normalizeDns(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}

/** RFC 6125 6.4.3, the strict reading: `*` only as the whole left-most label, matching exactly one label. */
export function dnsNameMatches(pattern: string, host: string): boolean {
  const p = normalizeDns(pattern);
  const h = normalizeDns(host);
  if (p === '' || h === '' || h.includes('*')) return false;
  if (!p.includes('*')) return p === h;
  if (!p.startsWith('*.')) return false;
  const rest = p.slice(2);
  // No `*.com`: the wildcard needs at least two fixed labels under it; no wildcard in any other label.
  if (rest.includes('*') || !rest.includes('.') || rest.split('.').includes('')) return false;
  const dot = h.indexOf('.');
  return dot > 0 && h.slice(dot + 1) === rest;
}

/**
 * Whether the identity names `expected` (a DNS name, an IPv4 or an IPv6 literal without brackets): SAN IP for an
 * IP, SAN DNS for a name (wildcards never match an IP), else the CN compared as an IP or case-insensitively.
 */
export function matchIdentity(
  id: PeerIdentity,
  expected: string,
  opts: MatchOptions = {},
): IdentityMatch | undefined {
  const ip = canonicalIp(expected);
  if (ip !== undefined) {
    const san = id.ips.find((value) => value === ip);
    if (san !== undefined) return { field: 'SAN IP', value: san };
  } else {
    const san = id.dns.find((pattern) => dnsNameMatches(pattern, expected));
    if (san !== undefined) return { field: 'SAN DNS', value: san };
  }
  if (opts.strict === true && (id.dns.length > 0 || id.ips.length > 0)) return undefined;
  const cn = id.cn.find((value) =>
    ip !== undefined
      ? canonicalIp(value) === ip
      : normalizeDns(value) === normalizeDns(expected) && value.trim() !== '',
  );
  return cn === undefined ? undefined : { field: 'CN', value: cn };
}

/** The first entry of an allow-list that the identity matches (the joiner's list of acceptable donors). */
export function matchAny(
  id: PeerIdentity,
  allowed: readonly string[],
  opts: MatchOptions = {},
): IdentityMatch | undefined {
  for (const name of allowed) {
    const match = matchIdentity(id, name, opts);
    if (match !== undefined) return match;
  }
  return undefined;
}

function quoted(values: string[]): string {
  return values.length === 0 ? 'none' : values.map((v) => `"${v}"`).join(', ');
}

/** For error messages: subject, every SAN, issuer, serial and expiry. */
export function describeIdentity(id: PeerIdentity): string {
  return `subject "${id.subject}", SAN DNS ${quoted(id.dns)}, SAN IP ${quoted(id.ips)}, issuer "${id.issuer}", serial ${id.serial}, valid until ${id.validTo}`;
}
