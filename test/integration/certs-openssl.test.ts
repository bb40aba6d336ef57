// Real openssl as the oracle: what we write must verify and read back exactly as OpenSSL sees it.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert, KEY_TYPES } from '../../src/certs/index.js';

function openssl(...args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'certs-openssl-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.each(KEY_TYPES)('a %s CA', (caKeyType) => {
  let dir: string;
  beforeAll(async () => {
    dir = join(root, caKeyType);
    await createCa({ dir, cn: `Test CA ${caKeyType}`, keyType: caKeyType });
  });

  it('is a critical CA:TRUE pathlen 0 with keyCertSign + cRLSign and an SKI', () => {
    const text = openssl('x509', '-in', join(dir, 'ca.pem'), '-noout', '-text');
    expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign/);
    expect(text).toContain('X509v3 Subject Key Identifier');
    expect(openssl('pkey', '-in', join(dir, 'ca-key.pem'), '-noout')).toBe('');
  });

  it.each(KEY_TYPES)(
    'signs a %s node certificate that openssl verifies for server and client use',
    async (keyType) => {
      const name = `node-${keyType}`;
      const node = await createNodeCert({
        dir,
        name,
        dns: [`${name}.lan`],
        ips: ['10.0.0.7', 'fd00::7'],
        keyType,
      });
      const ca = join(dir, 'ca.pem');
      expect(openssl('verify', '-x509_strict', '-CAfile', ca, node.certPath).trim()).toBe(
        `${node.certPath}: OK`,
      );
      expect(openssl('verify', '-purpose', 'sslserver', '-CAfile', ca, node.certPath)).toContain('OK');
      expect(openssl('verify', '-purpose', 'sslclient', '-CAfile', ca, node.certPath)).toContain('OK');

      const text = openssl('x509', '-in', node.certPath, '-noout', '-text');
      expect(text).toMatch(new RegExp(`Subject: CN ?= ?${name}\\n`));
      expect(text).toMatch(/X509v3 Basic Constraints: critical\s+CA:FALSE/);
      expect(text).toMatch(
        keyType === 'ecdsa'
          ? /X509v3 Key Usage: critical\s+Digital Signature\n/
          : /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment\n/,
      );
      expect(text).toMatch(
        /X509v3 Extended Key Usage:\s+TLS Web Server Authentication, TLS Web Client Authentication/,
      );
      expect(text).toMatch(
        new RegExp(
          `Subject Alternative Name:\\s+DNS:${name}, DNS:${name}.lan, IP Address:10.0.0.7, IP Address:FD00:0:0:0:0:0:0:7`,
        ),
      );
      expect(text).toContain('X509v3 Authority Key Identifier');
      // The AKI of the node equals the SKI of the CA, so chain building picks the right CA in a bundle.
      const caSki = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(
        openssl('x509', '-in', ca, '-noout', '-text'),
      )?.[1];
      expect(/Authority Key Identifier:\s*\n\s*(?:keyid:)?([0-9A-F:]+)/.exec(text)?.[1]).toBe(caSki);

      // PKCS#8 PEM that openssl reads, and the key belongs to the certificate.
      expect(openssl('pkey', '-in', node.keyPath, '-noout')).toBe('');
      const keyPub = openssl('pkey', '-in', node.keyPath, '-pubout');
      const certPub = openssl('x509', '-in', node.certPath, '-noout', '-pubkey');
      expect(keyPub).toBe(certPub);
    },
  );
});

describe("node certificates from openssl's point of view", () => {
  it('have distinct serials and fail verification against another CA', async () => {
    const a = join(root, 'serials-a');
    const b = join(root, 'serials-b');
    await createCa({ dir: a });
    await createCa({ dir: b });
    const serials = new Set<string>();
    for (const name of ['db1', 'db2', 'db3']) {
      const node = await createNodeCert({ dir: a, name });
      serials.add(openssl('x509', '-in', node.certPath, '-noout', '-serial').trim());
    }
    expect(serials.size).toBe(3);
    expect(() => openssl('verify', '-CAfile', join(b, 'ca.pem'), join(a, 'db1-cert.pem'))).toThrow(
      /unable to get local issuer certificate/,
    );
  });

  it('an expired certificate is reported as expired', async () => {
    const dir = join(root, 'expired');
    await createCa({ dir });
    const node = await createNodeCert({
      dir,
      name: 'old',
      notBefore: new Date(Date.now() - 10 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    expect(() => openssl('verify', '-CAfile', join(dir, 'ca.pem'), node.certPath)).toThrow(
      /certificate has expired/,
    );
  });
});
