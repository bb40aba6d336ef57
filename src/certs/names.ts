/**
 * Pure checks of what goes into a certificate: node names, SAN entries, common names, lifetimes.
 * No I/O, so every rule and every message is unit-tested (style.md habits 2 and 9).
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';

/** The subjectAltName entries of a node certificate, deduplicated, in the order given. */
export interface SubjectAltNames {
  dns: string[];
  ips: string[];
}

/** RFC 5280 ub-common-name: a longer CN cannot be encoded, and OpenSSL refuses to parse it. */
export const MAX_COMMON_NAME = 64;

/** Upper bound for `--days`: beyond a century is certainly a typo. */
export const MAX_DAYS = 36500;

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * A host name as donors dial it (RFC 1123 labels). The last label may not be all digits, so a mistyped IPv4
 * address such as "10.0.0.300" is refused instead of silently becoming a DNS name. Wildcards are refused: a
 * donor dials one exact node, and a wildcard would let any node impersonate any other.
 */
export function isDnsName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split('.');
  const last = labels[labels.length - 1] ?? '';
  return labels.every((label) => LABEL.test(label)) && !/^\d+$/.test(last);
}

/** An IP literal without a zone index (a zone cannot be put in a certificate); brackets are dropped. */
export function parseIpLiteral(value: string): string | undefined {
  const bare = value.startsWith('[') && value.endsWith(']') ? value.slice(1, -1) : value;
  return isIP(bare) !== 0 && !bare.includes('%') ? bare : undefined;
}

/** Checks `--days`: a whole number from 1 to MAX_DAYS. */
export function parseDays(value: string | number, option = '--days'): number {
  const text = String(value).trim();
  const days = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(days) || days < 1 || days > MAX_DAYS) {
    throw new ConfigError(
      `Cannot use ${option} "${String(value)}": expected a whole number of days from 1 to ${MAX_DAYS}`,
    );
  }
  return days;
}

/** Checks a common name: printable, not empty, at most MAX_COMMON_NAME characters. */
export function checkCommonName(value: string, option: string): string {
  if (value.trim() === '' || value !== value.trim()) {
    throw new ConfigError(
      `Cannot use ${option} "${value}": expected a name without leading or trailing spaces`,
    );
  }
  if (/\p{Cc}/u.test(value)) {
    throw new ConfigError(
      `Cannot use ${option} ${JSON.stringify(value)}: control characters are not allowed`,
    );
  }
  if (value.length > MAX_COMMON_NAME) {
    throw new ConfigError(
      `Cannot use ${option} "${value}": a common name has at most ${MAX_COMMON_NAME} characters, found ${value.length}`,
    );
  }
  return value;
}

/** Checks a node name: a DNS name or an IP literal, short enough to be the common name too. */
export function checkNodeName(name: string): { kind: 'dns' | 'ip'; value: string } {
  const ip = parseIpLiteral(name);
  if (ip !== undefined) return { kind: 'ip', value: ip };
  if (!isDnsName(name)) {
    throw new ConfigError(
      `Cannot create node certificate "${name}": --name must be a DNS name or an IP address`,
    );
  }
  if (name.length > MAX_COMMON_NAME) {
    throw new ConfigError(
      `Cannot create node certificate "${name}": --name has ${name.length} characters, a common name at most ${MAX_COMMON_NAME}`,
    );
  }
  return { kind: 'dns', value: name };
}

/** The SANs of a node certificate: the node name itself (as DNS or IP), then every `--dns` and `--ip`. */
export function subjectAltNames(
  name: string,
  dns: readonly string[],
  ips: readonly string[],
): SubjectAltNames {
  const node = checkNodeName(name);
  const result: SubjectAltNames = { dns: [], ips: [] };
  const add = (list: string[], value: string): void => {
    if (!list.some((existing) => existing.toLowerCase() === value.toLowerCase())) list.push(value);
  };
  add(node.kind === 'dns' ? result.dns : result.ips, node.value);
  for (const entry of dns) {
    if (parseIpLiteral(entry) !== undefined) {
      throw new ConfigError(`Cannot use --dns "${entry}": it is an IP address, pass it with --ip`);
    }
    if (!isDnsName(entry)) throw new ConfigError(`Cannot use --dns "${entry}": expected a DNS name`);
    add(result.dns, entry);
  }
  for (const entry of ips) {
    const ip = parseIpLiteral(entry);
    if (ip === undefined)
      throw new ConfigError(`Cannot use --ip "${entry}": expected an IPv4 or IPv6 address`);
    add(result.ips, ip);
  }
  return result;
}

/** True when two common names would be confused by a verifier (case and surrounding spaces ignored). */
export function sameCommonName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase();
}

/**
 * The file-name stem for a node: the name with anything but letters, digits, dot, dash and underscore turned
 * into "_". IPv6 names need it: socat's address syntax splits on ":" and ",", and RT passes `tcert` to socat's
 * `cert=` option verbatim.
 */
export function fileStem(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}
