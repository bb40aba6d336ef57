import { describe, expect, it } from 'vitest';
import {
  formatCertificate,
  formatSans,
  nodeSummary,
  sstLines,
  validityState,
} from '../../../src/certs/report.js';
import type { CertificateInfo } from '../../../src/certs/inspect.js';
import { randomSerial, validityFor } from '../../../src/certs/x509.js';

const info: CertificateInfo = {
  subject: 'CN=db1',
  issuer: 'CN=Cluster CA',
  commonName: 'db1',
  serial: '0a',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2026-01-11T00:00:00.000Z',
  sans: { dns: ['db1'], ips: ['10.0.0.1'], other: [] },
  keyType: 'ECDSA P-256',
  isCa: false,
  keyUsage: ['digitalSignature'],
  extendedKeyUsage: ['serverAuth', 'clientAuth'],
  fingerprintSha256: 'AA:BB',
};

describe('report', () => {
  it('sstLines() prints the group to paste', () => {
    expect(sstLines({ caPath: '/c/ca.pem', certPath: '/c/db1-cert.pem', keyPath: '/c/db1-key.pem' })).toBe(
      '[sst]\ntca=/c/ca.pem\ntcert=/c/db1-cert.pem\ntkey=/c/db1-key.pem\n',
    );
  });

  it('nodeSummary() is the [sst] group then one comment line', () => {
    const text = nodeSummary({
      caPath: '/c/ca.pem',
      certPath: '/c/db1-cert.pem',
      keyPath: '/c/db1-key.pem',
      sans: info.sans,
      certificate: info,
    });
    expect(text).toBe(
      '[sst]\ntca=/c/ca.pem\ntcert=/c/db1-cert.pem\ntkey=/c/db1-key.pem\n\n' +
        '# CN=db1, SANs DNS:db1, IP:10.0.0.1, ECDSA P-256, serial 0a, expires 2026-01-11T00:00:00.000Z, issuer "CN=Cluster CA"\n',
    );
  });

  it('formatSans() and validityState()', () => {
    expect(formatSans({ dns: [], ips: [], other: [] })).toBe('(none)');
    expect(validityState(info, new Date('2025-12-31T00:00:00Z'))).toBe(
      'not valid before 2026-01-01T00:00:00.000Z',
    );
    expect(validityState(info, new Date('2026-01-02T00:00:00Z'))).toBe('expires in 9 days');
    expect(validityState(info, new Date('2026-01-14T00:00:00Z'))).toBe('EXPIRED 3 days ago');
  });

  it('formatCertificate() lists every field', () => {
    const text = formatCertificate(info, 'db1-cert.pem', new Date('2026-01-02T00:00:00Z'));
    expect(text.split('\n')).toEqual([
      'db1-cert.pem',
      '  Subject:             CN=db1',
      '  Issuer:              CN=Cluster CA',
      '  Serial:              0a',
      '  Not before:          2026-01-01T00:00:00.000Z',
      '  Not after:           2026-01-11T00:00:00.000Z (expires in 9 days)',
      '  SANs:                DNS:db1, IP:10.0.0.1',
      '  Key:                 ECDSA P-256',
      '  CA:                  no',
      '  Key usage:           digitalSignature',
      '  Extended key usage:  serverAuth, clientAuth',
      '  SHA-256 fingerprint: AA:BB',
      '',
    ]);
  });
});

describe('x509 helpers', () => {
  it('randomSerial() is always 16 bytes and positive', () => {
    expect(randomSerial((b) => b.fill(0xff))).toBe(`7f${'ff'.repeat(15)}`);
    expect(randomSerial((b) => b.fill(0))).toBe(`01${'00'.repeat(15)}`);
    expect(randomSerial()).toMatch(/^(?:0[1-9a-f]|[1-7][0-9a-f])[0-9a-f]{30}$/);
  });

  it('validityFor() starts 5 minutes early, in whole seconds', () => {
    expect(validityFor(1, new Date('2026-01-01T00:00:00.750Z'))).toEqual({
      notBefore: new Date('2025-12-31T23:55:00.000Z'),
      notAfter: new Date('2026-01-02T00:00:00.000Z'),
    });
  });
});
