import { createSecureContext } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cipherString,
  clientOptions,
  serverOptions,
  TLS12_CIPHERS,
  TLS13_SUITES,
  type TlsPolicy,
} from '../../../src/tls/context.js';
import { loadCredentials, type Credentials } from '../../../src/tls/credentials.js';
import { createCa, issueCert, tempDir } from '../../helpers/pki.js';

const dir = tempDir('context');
let creds: Credentials;
const policy: TlsPolicy = {
  verify: true,
  allowedPeers: [],
  strictIdentity: false,
  minVersion: 'TLSv1.2',
  handshakeTimeoutMs: 1000,
};

beforeAll(() => {
  const ca = createCa(dir.path, 'ca');
  const node = issueCert(ca, 'node');
  creds = loadCredentials({ tca: ca.cert, tcert: node.combined });
});
afterAll(() => dir.cleanup());

describe('cipherString()', () => {
  it('puts TLS_AES_128_GCM_SHA256 first and allows only ECDHE AEAD suites for TLS 1.2', () => {
    const text = cipherString({});
    expect(text.startsWith('TLS_AES_128_GCM_SHA256:')).toBe(true);
    expect(TLS12_CIPHERS.split(':').every((c) => c.startsWith('ECDHE-'))).toBe(true);
  });

  it('keeps TLS 1.3 alive beside a sockopt cipher list and never lets in non-ECDHE suites', () => {
    const text = cipherString({
      ciphers: 'AES128-SHA:DHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256',
    });
    expect(text.startsWith(TLS13_SUITES)).toBe(true);
    expect(text.endsWith('!kRSA:!kDHE:!kPSK:!aNULL:!eNULL')).toBe(true);
    // What OpenSSL actually enables from it:
    const ctx = createSecureContext({ ciphers: text, minVersion: 'TLSv1.2' });
    expect(ctx).toBeDefined();
  });

  it('uses a sockopt list that names TLS 1.3 suites as given', () => {
    expect(
      cipherString({ ciphers: 'TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES256-GCM-SHA384' }).startsWith(
        'TLS_AES_256_GCM_SHA384:ECDHE',
      ),
    ).toBe(true);
  });
});

describe('serverOptions() / clientOptions()', () => {
  it('requests a client certificate and checks it ourselves', () => {
    const opts = serverOptions(creds, policy);
    expect(opts).toMatchObject({
      requestCert: true,
      rejectUnauthorized: false,
      honorCipherOrder: true,
      minVersion: 'TLSv1.2',
      handshakeTimeout: 1000,
    });
    expect(serverOptions(creds, { ...policy, verify: false }).requestCert).toBe(false);
  });

  it('sends SNI for a DNS name only, honours no-sni and snihost', () => {
    expect(
      clientOptions(creds, { ...policy, expectedName: 'joiner.test' }, '10.0.0.2', 4444).servername,
    ).toBe('joiner.test');
    expect(
      clientOptions(creds, { ...policy, expectedName: '10.0.0.2' }, '10.0.0.2', 4444).servername,
    ).toBeUndefined();
    expect(
      clientOptions(creds, { ...policy, expectedName: 'fd00::2' }, 'fd00::2', 4444).servername,
    ).toBeUndefined();
    expect(
      clientOptions(creds, { ...policy, servername: false }, 'joiner.test', 4444).servername,
    ).toBeUndefined();
    expect(clientOptions(creds, { ...policy, servername: 'sni.test' }, '10.0.0.2', 4444).servername).toBe(
      'sni.test',
    );
    expect(
      (clientOptions(creds, { ...policy, family: 6 }, 'joiner.test', 1) as { family?: number }).family,
    ).toBe(6);
  });
});
