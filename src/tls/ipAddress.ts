/**
 * IP literal canonicalisation, pure. Certificates, configuration and sockets spell the same address in
 * different ways (`::1`, `0:0:0:0:0:0:0:1`, `[::1]`, `::ffff:10.0.0.1`); identity checks compare canonical forms.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 4 or 6 for an IP literal (brackets and an IPv6 zone allowed), 0 otherwise. */
export function ipFamily(text: string): 0 | 4 | 6 {
  const bare = stripDecorations(text);
  if (isIPv4(bare)) return 4;
  if (isIPv6(bare)) return 6;
  return 0;
}

function stripDecorations(text: string): string {
  let bare = text.trim();
  if (bare.startsWith('[') && bare.endsWith(']')) bare = bare.slice(1, -1);
  const zone = bare.indexOf('%');
  return zone >= 0 && bare.includes(':') ? bare.slice(0, zone) : bare;
}

/** The eight 16-bit groups of a valid IPv6 literal (as checked by net.isIPv6). */
function ipv6Groups(text: string): number[] {
  // An embedded IPv4 tail (`::ffff:1.2.3.4`) is two groups: rewrite it as hex first.
  const lastColon = text.lastIndexOf(':');
  let hexText = text;
  if (text.includes('.', lastColon)) {
    const [a = 0, b = 0, c = 0, d = 0] = text
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    hexText = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (part: string): number[] =>
    part === '' ? [] : part.split(':').map((g) => Number.parseInt(g, 16));
  const [left = '', right] = hexText.split('::');
  if (right === undefined) return parse(left);
  const leftGroups = parse(left);
  const rightGroups = parse(right);
  return [
    ...leftGroups,
    ...Array<number>(8 - leftGroups.length - rightGroups.length).fill(0),
    ...rightGroups,
  ];
}

/** RFC 5952 text: lower case, no leading zeros, the longest run (>= 2) of zero groups as `::`. */
function formatIpv6(groups: number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/**
 * The canonical text of an IP literal, or undefined when `text` is not one. IPv4-mapped IPv6 addresses become
 * their IPv4 form: they name the same endpoint, and dual-stack sockets report IPv4 peers that way.
 */
export function canonicalIp(text: string): string | undefined {
  const bare = stripDecorations(text);
  if (isIPv4(bare))
    return bare
      .split('.')
      .map((o) => String(Number(o)))
      .join('.');
  if (!isIPv6(bare)) return undefined;
  const groups = ipv6Groups(bare.toLowerCase());
  if (groups.length !== 8) return undefined;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    const [a = 0, b = 0] = groups.slice(6);
    return `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`;
  }
  return formatIpv6(groups);
}
