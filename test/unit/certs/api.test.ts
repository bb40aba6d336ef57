import {
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  copyFileSync,
  readdirSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigError, CredentialError, ExitCode } from '../../../src/errors.js';
import { createCa, createNodeCert, readCertificateFile } from '../../../src/certs/index.js';

let root: string;
let dir: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'certs-api-'));
  dir = join(root, 'sst-certs');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string): number => statSync(path).mode & 0o777;

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a rejection');
}

describe('createCa()', () => {
  it('creates the directory 0700, ca-key.pem 0600 and a CA certificate with the defaults', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const ca = await createCa({ dir, now });
    expect(ca.certPath).toBe(join(dir, 'ca.pem'));
    expect(ca.keyPath).toBe(join(dir, 'ca-key.pem'));
    expect(mode(dir)).toBe(0o700);
    expect(mode(ca.keyPath)).toBe(0o600);
    expect(mode(ca.certPath)).toBe(0o644);
    expect(readFileSync(ca.keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(ca.certificate).toMatchObject({
      isCa: true,
      keyType: 'ECDSA P-256',
      keyUsage: ['keyCertSign', 'cRLSign'],
      notBefore: '2025-12-31T23:55:00.000Z',
      notAfter: '2035-12-30T00:00:00.000Z',
    });
    expect(ca.certificate.commonName).toMatch(/^sst-tunnel CA 2026-01-01 [0-9a-f]{6}$/);
    expect(ca.certificate.serial).toMatch(/^[1-7][0-9a-f]{31}$|^0[1-9a-f][0-9a-f]{30}$/);
    // No temporaries left behind.
    expect(readdirSync(dir).sort()).toEqual(['ca-key.pem', 'ca.pem']);
  });

  it('honours --cn, --days and --key-type', async () => {
    const ca = await createCa({ dir, cn: 'Galera prod CA', days: 30, keyType: 'rsa2048' });
    expect(ca.certificate).toMatchObject({ subject: 'CN=Galera prod CA', keyType: 'RSA 2048' });
    const lifetime = Date.parse(ca.certificate.notAfter) - Date.parse(ca.certificate.notBefore);
    expect(lifetime).toBe(30 * 86400_000 + 5 * 60_000);
  });

  it('refuses a second init without force, and replaces the CA with force', async () => {
    const first = await createCa({ dir });
    const error = await rejection(createCa({ dir }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      `Cannot create a CA in "${dir}": "${join(dir, 'ca.pem')}" already exists; pass --force to replace it`,
    );
    const second = await createCa({ dir, force: true });
    expect(second.certificate.serial).not.toBe(first.certificate.serial);
    expect(mode(second.keyPath)).toBe(0o600);
  });

  it('refuses when only the key is left over', async () => {
    await createCa({ dir });
    rmSync(join(dir, 'ca.pem'));
    const error = await rejection(createCa({ dir }));
    expect(error.message).toContain(`"${join(dir, 'ca-key.pem')}" already exists`);
  });

  it('refuses bad options before touching the disk', async () => {
    expect((await rejection(createCa({ dir, days: 0 }))).message).toBe(
      'Cannot use --days "0": expected a whole number of days from 1 to 36500',
    );
    expect((await rejection(createCa({ dir, keyType: 'dsa' as never }))).message).toMatch(
      /^Cannot use --key-type "dsa"/,
    );
    expect(() => statSync(dir)).toThrow();
  });
});

describe('createNodeCert()', () => {
  beforeEach(async () => {
    await createCa({ dir, cn: 'Cluster CA' });
  });

  it('writes NAME-cert.pem and NAME-key.pem 0600 with SANs, usages and the default lifetime', async () => {
    const node = await createNodeCert({ dir, name: 'db1', dns: ['db1.lan'], ips: ['10.0.0.1'] });
    expect(node).toMatchObject({
      certPath: join(dir, 'db1-cert.pem'),
      keyPath: join(dir, 'db1-key.pem'),
      caPath: join(dir, 'ca.pem'),
      sans: { dns: ['db1', 'db1.lan'], ips: ['10.0.0.1'] },
    });
    expect(mode(node.keyPath)).toBe(0o600);
    expect(node.certificate).toMatchObject({
      subject: 'CN=db1',
      issuer: 'CN=Cluster CA',
      isCa: false,
      keyUsage: ['digitalSignature'],
      extendedKeyUsage: ['serverAuth', 'clientAuth'],
      sans: { dns: ['db1', 'db1.lan'], ips: ['10.0.0.1'], other: [] },
    });
    const lifetime = Date.parse(node.certificate.notAfter) - Date.parse(node.certificate.notBefore);
    expect(lifetime).toBe(825 * 86400_000 + 5 * 60_000);
  });

  it('adds keyEncipherment for RSA keys', async () => {
    const node = await createNodeCert({ dir, name: '10.0.0.2', keyType: 'rsa2048' });
    expect(node.certificate.keyUsage).toEqual(['digitalSignature', 'keyEncipherment']);
    expect(node.certificate.sans).toEqual({ dns: [], ips: ['10.0.0.2'], other: [] });
  });

  it('gives every certificate its own 16-byte serial', async () => {
    const serials = new Set<string>();
    for (const name of ['db1', 'db2', 'db3', 'db4'])
      serials.add((await createNodeCert({ dir, name })).certificate.serial);
    const [ca] = await readCertificateFile(join(dir, 'ca.pem'));
    serials.add(ca?.serial ?? '');
    expect(serials.size).toBe(5);
    for (const serial of serials) expect(Buffer.from(serial.padStart(32, '0'), 'hex')).toHaveLength(16);
  });

  it('refuses a node named like the CA', async () => {
    await createCa({ dir, cn: 'db1', force: true });
    const error = await rejection(createNodeCert({ dir, name: 'DB1' }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('Cannot create node certificate "DB1": the CA\'s common name is also "db1"');
  });

  it('never lets a node named "ca" replace the CA key, even with force', async () => {
    const error = await rejection(createNodeCert({ dir, name: 'ca', force: true }));
    expect(error.message).toBe(
      `Cannot create node certificate "ca": "${join(dir, 'ca-key.pem')}" is the CA's own file`,
    );
  });

  it('refuses to replace a node certificate without force', async () => {
    await createNodeCert({ dir, name: 'db1' });
    const error = await rejection(createNodeCert({ dir, name: 'db1' }));
    expect(error.message).toBe(
      `Cannot create node certificate "db1": "${join(dir, 'db1-cert.pem')}" already exists; pass --force to replace it`,
    );
    await createNodeCert({ dir, name: 'db1', force: true });
  });

  it('refuses a bad --ip naming it, before writing anything', async () => {
    const error = await rejection(createNodeCert({ dir, name: 'db1', ips: ['10.0.0.256'] }));
    expect(error.message).toBe('Cannot use --ip "10.0.0.256": expected an IPv4 or IPv6 address');
    expect(readdirSync(dir).sort()).toEqual(['ca-key.pem', 'ca.pem']);
  });

  it('cuts the default lifetime to the CA end, and refuses an explicit one past it', async () => {
    await createCa({ dir, cn: 'Short CA', days: 100, force: true });
    const [ca] = await readCertificateFile(join(dir, 'ca.pem'));
    const node = await createNodeCert({ dir, name: 'db1' });
    expect(node.certificate.notAfter).toBe(ca?.notAfter);
    const error = await rejection(createNodeCert({ dir, name: 'db2', days: 200 }));
    expect(error.message).toBe(
      `Cannot use --days "200": the node certificate would outlive the CA "${join(dir, 'ca.pem')}", which expires on ${ca?.notAfter}`,
    );
  });

  it('makes an expired certificate when a test asks for one', async () => {
    const node = await createNodeCert({
      dir,
      name: 'old',
      notBefore: new Date(Date.now() - 10 * 86400_000),
      notAfter: new Date(Date.now() - 86400_000),
    });
    expect(Date.parse(node.certificate.notAfter)).toBeLessThan(Date.now());
  });

  it('refuses a window that ends before it starts', async () => {
    const at = new Date('2026-06-01T00:00:00Z');
    const error = await rejection(createNodeCert({ dir, name: 'db1', notBefore: at, notAfter: at }));
    expect(error.message).toBe(
      'Cannot create node certificate "db1": notAfter "2026-06-01T00:00:00.000Z" is not after notBefore "2026-06-01T00:00:00.000Z"',
    );
  });

  it('reports a missing CA with exit code 2 and the command that makes one', async () => {
    const empty = join(root, 'empty');
    const error = await rejection(createNodeCert({ dir: empty, name: 'db1' }));
    expect(error).toBeInstanceOf(CredentialError);
    expect((error as CredentialError).exitCode).toBe(ExitCode.ENOENT);
    expect(error.message).toBe(
      `Cannot load CA certificate "${join(empty, 'ca.pem')}": file not found; create the CA with "sst-tunnel certs init --dir ${empty}"`,
    );
  });

  it('refuses a CA key that belongs to another CA', async () => {
    const other = join(root, 'other');
    await createCa({ dir: other });
    copyFileSync(join(other, 'ca-key.pem'), join(dir, 'ca-key.pem'));
    const error = await rejection(createNodeCert({ dir, name: 'db1' }));
    expect(error).toBeInstanceOf(CredentialError);
    expect(error.message).toBe(
      `Cannot use CA key "${join(dir, 'ca-key.pem')}": it does not belong to the CA certificate "${join(dir, 'ca.pem')}"`,
    );
  });

  it('refuses a CA certificate that is not a CA', async () => {
    await createNodeCert({ dir, name: 'db1' });
    copyFileSync(join(dir, 'db1-cert.pem'), join(dir, 'ca.pem'));
    const error = await rejection(createNodeCert({ dir, name: 'db2' }));
    expect(error.message).toBe(
      `Cannot use CA certificate "${join(dir, 'ca.pem')}": it is not a CA (basicConstraints CA:TRUE missing)`,
    );
  });

  it('refuses an unreadable CA key with the file name', async () => {
    writeFileSync(join(dir, 'ca-key.pem'), 'not a key\n');
    const error = await rejection(createNodeCert({ dir, name: 'db1' }));
    expect(error.message).toBe(
      `Cannot load CA key "${join(dir, 'ca-key.pem')}": not an unencrypted PEM private key`,
    );
  });
});
