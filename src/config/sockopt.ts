/**
 * `[sst] sockopt`: socat OpenSSL address options that deployments of the original script carry. The original
 * appends the raw value after a comma to socat's address, so we read it with socat's lexical rules (1.7.4.4):
 * options split at `,` (empty ones skipped, hence the usual leading comma), names case-insensitive with
 * aliases, `"…"`/`'…'` grouping (quotes removed), `\` escaping the next character, and `(…)`/`{…}`/`[…]`
 * nesting. What maps onto node:tls is honoured; everything else is ignored with a notice naming the token.
 *
 * Found with socat 1.7.4.4 itself: booleans are numbers only (`verify=yes` is "missing numerical value"; any
 * non-zero number is true, a bare `verify` is 1); `min-proto-version` is not an option name there (only
 * `min-version` and `openssl-min-proto-version`), nor is `method`; `pf` takes ip4/ipv4/inet/inet4/ip6/ipv6/inet6.
 */
import { ConfigError } from '../errors.js';

/** What we take from `sockopt`, plus a notice per token ignored or adjusted and the tokens that lower security. */
export interface SockoptSettings {
  verify?: boolean;
  cipher?: string;
  commonname?: string;
  family?: 4 | 6;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  snihost?: string;
  noSni?: boolean;
  capath?: string;
  /** socat `cafile=`/`cert=`/`key=` given in sockopt rather than as `[sst] tca/tcert/tkey`. */
  cafile?: string;
  cert?: string;
  key?: string;
  /** One human sentence per token ignored or adjusted, naming the token and why. */
  notices: string[];
  /** Tokens that lower security, e.g. "verify=0". */
  insecure: string[];
}

/** A malformed sockopt token; `detail` names the token and what was expected, for messages with a location. */
export class SockoptError extends ConfigError {
  readonly detail: string;

  constructor(detail: string) {
    super(`Cannot parse sockopt: ${detail}`);
    this.detail = detail;
  }
}

type Kind =
  'verify' | 'cipher' | 'commonname' | 'pf' | 'min' | 'max' | 'method' | 'snihost' | 'no-sni' | 'capath';
type Canonical = Kind | 'cafile' | 'cert' | 'key' | 'dhparam' | 'retry' | 'openssl-other';

const ALIASES: Record<string, Canonical> = {};
const alias = (canonical: Canonical, ...names: string[]): void =>
  names.forEach((name) => (ALIASES[name] = canonical));
alias('verify', 'verify', 'openssl-verify');
alias('cipher', 'cipher', 'ciphers', 'cipherlist', 'openssl-cipherlist');
alias('commonname', 'commonname', 'cn', 'openssl-commonname');
alias('pf', 'pf', 'protocol-family');
alias('min', 'min-version', 'min-proto-version', 'openssl-min-proto-version');
alias('max', 'max-version', 'max-proto-version', 'openssl-max-proto-version');
alias('method', 'method', 'openssl-method');
alias('snihost', 'snihost', 'openssl-snihost');
alias('no-sni', 'no-sni', 'nosni', 'openssl-no-sni');
alias('capath', 'capath', 'openssl-capath');
alias('cafile', 'cafile', 'openssl-cafile');
alias('cert', 'cert', 'certificate', 'openssl-certificate');
alias('key', 'key', 'openssl-key');
alias('dhparam', 'dhparam', 'dhparams', 'dh', 'openssl-dhparam', 'openssl-dhparams');
alias('retry', 'retry', 'interval', 'intervall', 'forever');
alias('openssl-other', 'compress', 'openssl-compress', 'egd', 'openssl-egd', 'pseudo', 'openssl-pseudo');
alias('openssl-other', 'fips', 'openssl-fips');

const CLOSERS: Record<string, string> = { '(': ')', '{': '}', '[': ']' };

/** socat's lexer for the options part of an address: tokens at top-level commas, quotes removed. */
function tokenize(raw: string): string[] {
  const tokens: string[] = [];
  let current = '';
  const nesting: string[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c === '\\') {
      if (i + 1 < raw.length) current += raw[++i];
    } else if (c === '"' || c === "'") {
      const end = raw.indexOf(c, i + 1);
      if (end === -1) throw new SockoptError(`unterminated ${c} quote in "${raw}"`);
      current += raw.slice(i + 1, end);
      i = end;
    } else if (CLOSERS[c] !== undefined) {
      nesting.push(CLOSERS[c]);
      current += c;
    } else if (c === nesting.at(-1)) {
      nesting.pop();
      current += c;
    } else if (c === ',' && nesting.length === 0) {
      tokens.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  if (nesting.length > 0) throw new SockoptError(`missing "${nesting.at(-1) ?? ''}" in "${raw}"`);
  tokens.push(current);
  return tokens.map((token) => token.trim()).filter((token) => token !== '');
}

/** socat's bool: a C number (strtoul base 0), non-zero is true. yes/no/true/false/on/off are ours, with a notice. */
function parseBool(token: string, value: string | undefined, notices: string[]): boolean {
  if (value === undefined) return true;
  if (/^[+-]?(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/i.test(value))
    return Number(value.replace(/^[+-]/, '')) !== 0;
  const word = value.toLowerCase();
  if (['yes', 'true', 'on', 'no', 'false', 'off'].includes(word)) {
    notices.push(
      `sockopt "${token}" is read as ${word === 'yes' || word === 'true' || word === 'on' ? '1' : '0'}; socat 1.7.4 accepts only numbers here, so a peer running the original script would reject it`,
    );
    return word === 'yes' || word === 'true' || word === 'on';
  }
  throw new SockoptError(`"${token}" expected a number (0 or 1)`);
}

/** "TLS1.2", "tlsv1.2", "SSL3"... as a version number like 1.2, or undefined when it is not one. */
function tlsVersion(value: string): number | undefined {
  const match = /^(ssl|tls)v?([0-9](?:\.[0-9])?)$/i.exec(value);
  if (match === null) return undefined;
  const [, family = '', number = ''] = match;
  if (family.toLowerCase() === 'ssl') return ['2', '3'].includes(number) ? 0 : undefined;
  return ['1', '1.0', '1.1', '1.2', '1.3'].includes(number)
    ? Number(number === '1' ? '1.0' : number)
    : undefined;
}

function required(token: string, value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new SockoptError(`"${token}" expected ${what}`);
  return value;
}

/** Reads `[sst] sockopt` with socat's rules; SockoptError (a ConfigError) names a malformed token. */
export function parseSockopt(raw: string | undefined): SockoptSettings {
  const out: SockoptSettings = { notices: [], insecure: [] };
  let verifyToken = '';
  for (const token of tokenize(raw ?? '')) {
    const eq = token.indexOf('=');
    const name = (eq === -1 ? token : token.slice(0, eq)).trim().toLowerCase();
    const value = eq === -1 ? undefined : token.slice(eq + 1).trim();
    const kind = ALIASES[name];
    const note = (why: string): number => out.notices.push(`sockopt "${token}" ${why}`);
    switch (kind) {
      case 'verify':
        out.verify = parseBool(token, value, out.notices);
        verifyToken = token;
        break;
      case 'no-sni':
        out.noSni = parseBool(token, value, out.notices);
        break;
      case 'cipher':
        out.cipher = required(token, value, 'an OpenSSL cipher list');
        break;
      case 'commonname':
        out.commonname = required(token, value, 'the name the peer certificate must match');
        break;
      case 'snihost':
        out.snihost = required(token, value, 'a host name');
        break;
      case 'capath':
        out.capath = required(token, value, 'a directory of hashed CA certificates');
        break;
      case 'cafile':
      case 'cert':
      case 'key':
        out[kind] = required(token, value, 'a file name');
        break;
      case 'pf': {
        const family = required(token, value, '"ip4" or "ip6"').toLowerCase();
        if (['ip4', 'ipv4', 'inet', 'inet4'].includes(family)) out.family = 4;
        else if (['ip6', 'ipv6', 'inet6'].includes(family)) out.family = 6;
        else throw new SockoptError(`"${token}" expected "ip4" or "ip6"`);
        break;
      }
      case 'min':
      case 'max':
      case 'method': {
        const version = tlsVersion(required(token, value, 'a protocol version such as "TLS1.2"'));
        if (version === undefined)
          throw new SockoptError(`"${token}" expected SSL2, SSL3, TLS1, TLS1.1, TLS1.2 or TLS1.3`);
        if (kind === 'min' && version >= 1.2) out.minVersion = version === 1.3 ? 'TLSv1.3' : 'TLSv1.2';
        else if (kind === 'min') note('is raised to TLS1.2: this SST never accepts an older protocol');
        else if (kind === 'max')
          note('is ignored: the peers negotiate the highest version both support (TLS 1.2 or 1.3)');
        else note('is ignored: use "min-version" (socat 1.7.4 on Debian has no "method" either)');
        break;
      }
      case 'dhparam':
        note('is ignored: only ECDHE key exchange is used, so no DH parameters are needed');
        break;
      case 'retry':
        note("is ignored: socat's retry options do not apply to this tunnel");
        break;
      case 'openssl-other':
        note('is ignored: it has no counterpart in node:tls');
        break;
      default:
        note('is ignored: not a socat OpenSSL option this SST method knows');
    }
  }
  // Only the verify token that took effect lowers security; "verify=0,verify=1" verifies.
  if (out.verify === false) out.insecure.push(verifyToken);
  return out;
}
