import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  describeIdentity,
  dnsNameMatches,
  matchAny,
  matchIdentity,
  parseSubjectAltName,
  peerIdentity,
  type PeerIdentity,
} from '../../../src/tls/identity.js';
import { canonicalIp, ipFamily } from '../../../src/tls/ipAddress.js';
import { createCa, issueCert, tempDir } from '../../helpers/pki.js';

function id(parts: Partial<PeerIdentity>): PeerIdentity {
  return { subject: '', cn: [], dns: [], ips: [], issuer: 'CN=ca', serial: '01', validTo: '', ...parts };
}

describe('canonicalIp()', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['[::1]', '::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['1:0:0:1:0:0:0:1', '1:0:0:1::1'],
    ['::ffff:10.0.0.1', '10.0.0.1'],
    ['::ffff:a00:1', '10.0.0.1'],
    ['::1.2.3.4', '::102:304'],
    ['fe80::1%eth0', 'fe80::1'],
    ['::', '::'],
  ])('canonicalIp(%s) is %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it.each(['host', '1.2.3', '10.0.0.256', '', 'fe80::1::2'])('canonicalIp(%s) is undefined', (input) => {
    expect(canonicalIp(input)).toBeUndefined();
    expect(ipFamily(input)).toBe(0);
  });
});

describe('dnsNameMatches()', () => {
  it.each([
    ['node1.example.com', 'node1.example.com', true],
    ['NODE1.Example.COM', 'node1.example.com', true],
    ['node1.example.com.', 'node1.example.com', true],
    ['*.example.com', 'node1.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.com', 'example.com', false],
    ['*', 'example', false],
    ['n*.example.com', 'node1.example.com', false],
    ['node1.*.com', 'node1.example.com', false],
    ['*.*.example.com', 'a.b.example.com', false],
    ['*..com', 'a..com', false],
    ['', '', false],
    ['node1.example.com', '*.example.com', false],
  ])('pattern %s vs host %s: %s', (pattern, host, expected) => {
    expect(dnsNameMatches(pattern, host)).toBe(expected);
  });
});

describe('matchIdentity()', () => {
  const cases: Array<
    [string, Partial<PeerIdentity>, string, { field: string; value: string } | undefined, boolean?]
  > = [
    ['SAN DNS exact', { dns: ['joiner.test'] }, 'joiner.test', { field: 'SAN DNS', value: 'joiner.test' }],
    [
      'SAN DNS case-insensitive',
      { dns: ['Joiner.TEST'] },
      'joiner.test',
      { field: 'SAN DNS', value: 'Joiner.TEST' },
    ],
    ['SAN DNS wildcard', { dns: ['*.db.test'] }, 'node2.db.test', { field: 'SAN DNS', value: '*.db.test' }],
    ['SAN DNS wildcard is not for the bare domain', { dns: ['*.db.test'] }, 'db.test', undefined],
    ['SAN DNS mismatch', { dns: ['other.test'] }, 'joiner.test', undefined],
    ['SAN DNS never matches an IP', { dns: ['10.0.0.2', '*.0.0.2'] }, '10.0.0.2', undefined],
    ['SAN IP v4', { ips: ['10.0.0.2'] }, '10.0.0.2', { field: 'SAN IP', value: '10.0.0.2' }],
    ['SAN IP v4 mismatch', { ips: ['10.0.0.3'] }, '10.0.0.2', undefined],
    [
      'SAN IP v6 canonical',
      { ips: ['fd00::2'] },
      'fd00:0:0:0:0:0:0:2',
      { field: 'SAN IP', value: 'fd00::2' },
    ],
    ['SAN IP v6 mismatch', { ips: ['fd00::3'] }, 'fd00::2', undefined],
    [
      'SAN IP v4-mapped expected',
      { ips: ['10.0.0.2'] },
      '::ffff:10.0.0.2',
      { field: 'SAN IP', value: '10.0.0.2' },
    ],
    ['SAN IP not matched by a name', { ips: ['10.0.0.2'] }, 'joiner.test', undefined],
    ['CN only', { cn: ['joiner.test'] }, 'joiner.test', { field: 'CN', value: 'joiner.test' }],
    ['CN case-insensitive', { cn: ['JOINER.test'] }, 'joiner.test', { field: 'CN', value: 'JOINER.test' }],
    ['CN no wildcard', { cn: ['*.test'] }, 'joiner.test', undefined],
    ['CN mismatch', { cn: ['donor.test'] }, 'joiner.test', undefined],
    ['CN as IP v4', { cn: ['10.0.0.2'] }, '10.0.0.2', { field: 'CN', value: '10.0.0.2' }],
    [
      'CN as IP v6, compared canonically',
      { cn: ['FD00:0:0::2'] },
      'fd00::2',
      { field: 'CN', value: 'FD00:0:0::2' },
    ],
    [
      'CN beside SANs (socat accepts CN or SAN)',
      { cn: ['joiner.test'], dns: ['x.test'] },
      'joiner.test',
      { field: 'CN', value: 'joiner.test' },
    ],
    [
      'strict: CN ignored when SAN DNS exists',
      { cn: ['joiner.test'], dns: ['x.test'] },
      'joiner.test',
      undefined,
      true,
    ],
    [
      'strict: CN ignored when SAN IP exists',
      { cn: ['10.0.0.2'], ips: ['10.0.0.9'] },
      '10.0.0.2',
      undefined,
      true,
    ],
    [
      'strict: CN used when no SAN',
      { cn: ['joiner.test'] },
      'joiner.test',
      { field: 'CN', value: 'joiner.test' },
      true,
    ],
    [
      'strict: SAN DNS still matches',
      { cn: ['x'], dns: ['joiner.test'] },
      'joiner.test',
      { field: 'SAN DNS', value: 'joiner.test' },
      true,
    ],
    [
      'SAN preferred over CN',
      { cn: ['joiner.test'], dns: ['joiner.test'] },
      'joiner.test',
      { field: 'SAN DNS', value: 'joiner.test' },
    ],
    ['empty expected name', { cn: [''], dns: [''] }, '', undefined],
    ['no names at all', {}, 'joiner.test', undefined],
  ];
  it.each(cases)('%s', (_name, parts, expected, result, strict) => {
    expect(matchIdentity(id(parts), expected, { strict: strict ?? false })).toEqual(result);
  });

  it('matchAny() returns the first allowed name that matches', () => {
    const donor = id({ cn: ['donor1'], dns: ['donor1.test'], ips: ['10.0.0.1'] });
    expect(matchAny(donor, ['donor2.test', '10.0.0.1', 'donor1.test'])).toEqual({
      field: 'SAN IP',
      value: '10.0.0.1',
    });
    expect(matchAny(donor, ['donor2.test'])).toBeUndefined();
    expect(matchAny(donor, [])).toBeUndefined();
  });
});

describe('parseSubjectAltName()', () => {
  it('splits entries and honours Node JSON quoting', () => {
    expect(
      parseSubjectAltName('DNS:a.test, IP Address:10.0.0.1, DNS:"evil.test, DNS:good.test", URI:x:y'),
    ).toEqual([
      { type: 'DNS', value: 'a.test' },
      { type: 'IP Address', value: '10.0.0.1' },
      { type: 'DNS', value: 'evil.test, DNS:good.test' },
      { type: 'URI', value: 'x:y' },
    ]);
    expect(parseSubjectAltName(undefined)).toEqual([]);
  });
});

describe('peerIdentity() on real certificates', () => {
  const dir = tempDir('identity');
  let ca: ReturnType<typeof createCa>;
  beforeAll(() => {
    ca = createCa(dir.path, 'ca');
  });
  afterAll(() => dir.cleanup());

  it('reads CN, SAN DNS, SAN IP v4 and v6 (canonical), issuer and serial', () => {
    const files = issueCert(ca, 'node', {
      cn: 'node.test',
      dns: ['node.test', '*.db.test'],
      ips: ['127.0.0.1', '0:0:0:0:0:0:0:1'],
    });
    const identity = peerIdentity(new X509Certificate(readPem(files.cert)));
    expect(identity.cn).toEqual(['node.test']);
    expect(identity.dns).toEqual(['node.test', '*.db.test']);
    expect(identity.ips).toEqual(['127.0.0.1', '::1']);
    expect(identity.subject).toBe('O=sst-tunnel tests, CN=node.test');
    expect(identity.issuer).toContain('CN=ca Test CA');
    expect(matchIdentity(identity, '::1')).toEqual({ field: 'SAN IP', value: '::1' });
    expect(describeIdentity(identity)).toMatch(
      /^subject "O=sst-tunnel tests, CN=node.test", SAN DNS "node.test", "\*.db.test", SAN IP "127.0.0.1", "::1", issuer ".*ca Test CA", serial [0-9A-F]+, valid until /,
    );
  });

  it('handles a certificate without CN and without SANs', () => {
    const files = issueCert(ca, 'anon', { cn: null });
    const identity = peerIdentity(new X509Certificate(readPem(files.cert)));
    expect(identity.cn).toEqual([]);
    expect(describeIdentity(identity)).toContain('SAN DNS none, SAN IP none');
  });
});

function readPem(path: string): string {
  return readFileSync(path, 'utf8');
}
