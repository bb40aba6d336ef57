import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../../src/errors.js';
import {
  checkCommonName,
  checkNodeName,
  fileStem,
  isDnsName,
  parseDays,
  parseIpLiteral,
  sameCommonName,
  subjectAltNames,
} from '../../../src/certs/names.js';
import { parseKeyType } from '../../../src/certs/keyType.js';

function messageOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe('subjectAltNames()', () => {
  // style.md habit 9: one known-good request, then one field changed per case.
  const baseline = { name: 'db1.example.com', dns: ['db1', 'galera-1.lan'], ips: ['10.0.0.1', '[fd00::1]'] };

  it('puts the node name first, then --dns and --ip, brackets dropped', () => {
    expect(subjectAltNames(baseline.name, baseline.dns, baseline.ips)).toEqual({
      dns: ['db1.example.com', 'db1', 'galera-1.lan'],
      ips: ['10.0.0.1', 'fd00::1'],
    });
  });

  it('puts an IP node name in the IP SANs', () => {
    expect(subjectAltNames('10.0.0.9', [], [])).toEqual({ dns: [], ips: ['10.0.0.9'] });
    expect(subjectAltNames('fd00::9', [], [])).toEqual({ dns: [], ips: ['fd00::9'] });
  });

  it('drops duplicates, DNS names compared without case', () => {
    expect(subjectAltNames('db1', ['DB1', 'db1'], ['10.0.0.1', '10.0.0.1'])).toEqual({
      dns: ['db1'],
      ips: ['10.0.0.1'],
    });
  });

  it.each([
    [
      { name: 'node_1' },
      'Cannot create node certificate "node_1": --name must be a DNS name or an IP address',
    ],
    [{ name: 'db 1' }, 'Cannot create node certificate "db 1": --name must be a DNS name or an IP address'],
    [
      { name: '../etc' },
      'Cannot create node certificate "../etc": --name must be a DNS name or an IP address',
    ],
    [
      { name: '10.0.0.300' },
      'Cannot create node certificate "10.0.0.300": --name must be a DNS name or an IP address',
    ],
    [
      { name: `${'a'.repeat(60)}.example` },
      `Cannot create node certificate "${'a'.repeat(60)}.example": --name has 68 characters, a common name at most 64`,
    ],
    [{ dns: ['*.example.com'] }, 'Cannot use --dns "*.example.com": expected a DNS name'],
    [{ dns: ['-bad'] }, 'Cannot use --dns "-bad": expected a DNS name'],
    [{ dns: ['10.0.0.2'] }, 'Cannot use --dns "10.0.0.2": it is an IP address, pass it with --ip'],
    [{ ips: ['10.0.0.300'] }, 'Cannot use --ip "10.0.0.300": expected an IPv4 or IPv6 address'],
    [{ ips: ['db2'] }, 'Cannot use --ip "db2": expected an IPv4 or IPv6 address'],
    [{ ips: ['fe80::1%eth0'] }, 'Cannot use --ip "fe80::1%eth0": expected an IPv4 or IPv6 address'],
    [{ ips: ['10.0.0.1:4444'] }, 'Cannot use --ip "10.0.0.1:4444": expected an IPv4 or IPv6 address'],
  ])('refuses %j', (change, expected) => {
    const request = { ...baseline, ...change };
    expect(messageOf(() => subjectAltNames(request.name, request.dns, request.ips))).toBe(expected);
  });
});

describe('isDnsName() and parseIpLiteral()', () => {
  it.each(['db1', 'db-1.example.com', 'a.b.c', 'x1', '1a.example'])('accepts DNS name %s', (name) => {
    expect(isDnsName(name)).toBe(true);
  });
  it.each(['', 'a..b', 'a.', '-a', 'a-', 'a_b', '1.2.3.4', '10.0.0.300', 'x'.repeat(64), '*.a'])(
    'refuses DNS name %j',
    (name) => expect(isDnsName(name)).toBe(false),
  );
  it('reads IPv4, IPv6 and bracketed IPv6, not zones or ports', () => {
    expect(parseIpLiteral('127.0.0.1')).toBe('127.0.0.1');
    expect(parseIpLiteral('[::1]')).toBe('::1');
    expect(parseIpLiteral('fe80::1%lo')).toBeUndefined();
    expect(parseIpLiteral('[::1]:4444')).toBeUndefined();
  });
  it('checkNodeName() says which kind a name is', () => {
    expect(checkNodeName('db1')).toEqual({ kind: 'dns', value: 'db1' });
    expect(checkNodeName('[fd00::2]')).toEqual({ kind: 'ip', value: 'fd00::2' });
  });
});

describe('parseDays()', () => {
  it.each([
    ['1', 1],
    ['825', 825],
    [3650, 3650],
    ['36500', 36500],
  ])('accepts %j', (value, days) => expect(parseDays(value)).toBe(days));

  it.each(['0', '-1', '1.5', '10x', '', 'abc', '36501', 0, 1.5])('refuses %j naming the option', (value) => {
    expect(messageOf(() => parseDays(value))).toBe(
      `Cannot use --days "${String(value)}": expected a whole number of days from 1 to 36500`,
    );
  });
});

describe('checkCommonName() and sameCommonName()', () => {
  it('accepts a normal name and refuses empty, padded, control characters and overlong names', () => {
    expect(checkCommonName('Galera CA', '--cn')).toBe('Galera CA');
    expect(messageOf(() => checkCommonName('', '--cn'))).toBe(
      'Cannot use --cn "": expected a name without leading or trailing spaces',
    );
    expect(messageOf(() => checkCommonName(' x', '--cn'))).toBe(
      'Cannot use --cn " x": expected a name without leading or trailing spaces',
    );
    expect(messageOf(() => checkCommonName('a\nb', '--cn'))).toBe(
      'Cannot use --cn "a\\nb": control characters are not allowed',
    );
    expect(messageOf(() => checkCommonName('x'.repeat(65), '--cn'))).toBe(
      `Cannot use --cn "${'x'.repeat(65)}": a common name has at most 64 characters, found 65`,
    );
  });
  it('compares common names without case', () => {
    expect(sameCommonName('DB1', 'db1')).toBe(true);
    expect(sameCommonName('db1', 'db2')).toBe(false);
  });
});

describe('fileStem() and parseKeyType()', () => {
  it('keeps DNS names and IPv4 as they are and makes IPv6 safe for socat option strings', () => {
    expect(fileStem('db1.example.com')).toBe('db1.example.com');
    expect(fileStem('10.0.0.1')).toBe('10.0.0.1');
    expect(fileStem('fd00::1')).toBe('fd00__1');
  });
  it('accepts the three key types and names the option otherwise', () => {
    expect(parseKeyType('rsa3072')).toBe('rsa3072');
    expect(messageOf(() => parseKeyType('ed25519'))).toBe(
      'Cannot use --key-type "ed25519": expected one of "ecdsa", "rsa2048", "rsa3072"',
    );
  });
});
