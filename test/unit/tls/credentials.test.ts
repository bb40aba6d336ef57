import { chmodSync, copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialError } from '../../../src/errors.js';
import { loadCredentials, ownChainProblem, type CredentialPaths } from '../../../src/tls/credentials.js';
import {
  bundle,
  createCa,
  encryptKey,
  issueCert,
  openssl,
  tempDir,
  type CaFiles,
  type CertFiles,
} from '../../helpers/pki.js';

const dir = tempDir('creds');
let ca: CaFiles;
let other: CaFiles;
let node: CertFiles;
let good: CredentialPaths;
const p = (name: string): string => join(dir.path, name);

beforeAll(() => {
  ca = createCa(dir.path, 'ca');
  other = createCa(dir.path, 'other');
  node = issueCert(ca, 'node', { dns: ['node.test'] });
  good = { tca: ca.cert, tcert: node.cert, tkey: node.key };
});
afterAll(() => dir.cleanup());

function failure(paths: CredentialPaths, now?: Date): CredentialError {
  try {
    loadCredentials(paths, now === undefined ? {} : { now });
  } catch (error) {
    expect(error).toBeInstanceOf(CredentialError);
    return error as CredentialError;
  }
  throw new Error('loadCredentials() did not throw');
}

describe('loadCredentials()', () => {
  it('loads the baseline: separate key, CA bundle file', () => {
    const creds = loadCredentials(good);
    expect(creds.leaf.subject).toContain('CN=node');
    expect(creds.chain).toEqual([]);
    expect(creds.ca).toHaveLength(1);
    expect(creds.caCerts[0]?.subject).toContain('ca Test CA');
    expect(creds.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(ownChainProblem(creds)).toBeUndefined();
  });

  it('accepts a combined PEM (key and cert in tcert) without tkey', () => {
    const creds = loadCredentials({ tca: ca.cert, tcert: node.combined });
    expect(creds.leaf.fingerprint256).toBe(loadCredentials(good).leaf.fingerprint256);
  });

  it('keeps intermediates from tcert as the chain, leaf first', () => {
    const mid = createCa(dir.path, 'mid', { parent: ca });
    const leaf = issueCert(mid, 'leaf-via-mid');
    const creds = loadCredentials({ tca: ca.cert, tcert: leaf.chain, tkey: leaf.key });
    expect(creds.chain).toHaveLength(1);
    expect(creds.cert.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(ownChainProblem(creds)).toBeUndefined();
    expect(ownChainProblem({ ...creds, chain: [] })).toMatch(/was not issued by any certificate/);
  });

  it('reads a bundle of several CAs and a CA directory', () => {
    const both = bundle(p('both.pem'), [ca.cert, other.cert]);
    expect(loadCredentials({ ...good, tca: both }).caCerts).toHaveLength(2);
    const capath = p('capath');
    mkdirSync(capath);
    copyFileSync(ca.cert, join(capath, 'a.crt'));
    const hash = openssl(['x509', '-in', other.cert, '-noout', '-subject_hash']).trim();
    copyFileSync(other.cert, join(capath, `${hash}.0`));
    writeFileSync(join(capath, 'README'), 'not a certificate');
    expect(loadCredentials({ ...good, tca: capath }).ca).toHaveLength(2);
  });

  it('uses the default roots when tca is not set', () => {
    expect(loadCredentials({ tcert: node.cert, tkey: node.key }).ca).toBeUndefined();
  });

  it('reports a foreign CA through ownChainProblem()', () => {
    expect(ownChainProblem(loadCredentials({ ...good, tca: other.cert }))).toMatch(
      /was not issued by any certificate in/,
    );
  });

  const toggles: Array<[string, () => CredentialPaths, RegExp, number]> = [
    [
      'missing tcert',
      () => ({ ...good, tcert: p('nope.pem') }),
      /^Cannot load certificate ".*nope.pem": file not found$/,
      2,
    ],
    [
      'missing tkey',
      () => ({ ...good, tkey: p('nope.key') }),
      /^Cannot load key ".*nope.key": file not found$/,
      2,
    ],
    [
      'missing tca',
      () => ({ ...good, tca: p('nope-ca.pem') }),
      /^Cannot load CA certificates ".*nope-ca.pem": file not found$/,
      2,
    ],
    [
      'tcert is a directory',
      () => ({ ...good, tcert: dir.path }),
      /^Cannot load certificate ".*": it is a directory$/,
      22,
    ],
    [
      'tcert without PEM',
      () => ({ ...good, tcert: write('garbage.pem', 'hello') }),
      /^Cannot load certificate ".*garbage.pem": no PEM block found$/,
      22,
    ],
    [
      'tcert holding only a key',
      () => ({ ...good, tcert: node.key }),
      /^Cannot load certificate ".*node.key": no certificate in it \(found PRIVATE KEY\)$/,
      22,
    ],
    [
      'tcert with a broken certificate',
      () => ({
        ...good,
        tcert: write('broken.pem', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
      }),
      /^Cannot load certificate ".*broken.pem": certificate 1 cannot be parsed/,
      22,
    ],
    [
      'no key anywhere',
      () => ({ tca: ca.cert, tcert: node.cert }),
      /^Cannot load key: ".*node.pem" holds no private key and \[sst\] tkey is not set$/,
      22,
    ],
    [
      'tkey without a key',
      () => ({ ...good, tkey: node.cert }),
      /^Cannot load key ".*node.pem": no private key found$/,
      22,
    ],
    [
      'encrypted PKCS#8 key',
      () => ({ ...good, tkey: encryptKey(node.key, p('enc.key')) }),
      /^Cannot load key ".*enc.key": the key is encrypted and an SST cannot ask for a passphrase/,
      22,
    ],
    [
      'encrypted legacy key',
      () => ({ ...good, tkey: encryptKey(node.key, p('enc-legacy.key'), { legacy: true }) }),
      /^Cannot load key ".*enc-legacy.key": the key is encrypted/,
      22,
    ],
    [
      'key of another certificate',
      () => ({ ...good, tkey: other.key }),
      /^Cannot use certificate ".*node.pem" with key ".*ca.key": the key does not match the certificate$/,
      22,
    ],
    [
      'CA file without certificates',
      () => ({ ...good, tca: node.key }),
      /^Cannot load CA certificates ".*node.key": no certificate found$/,
      22,
    ],
    [
      'CA directory without certificates',
      () => ({ ...good, tca: mkdir('emptyca') }),
      /^Cannot load CA certificates ".*emptyca": no certificate found in the directory$/,
      22,
    ],
  ];
  it.each(toggles)('refuses %s', (_name, paths, message, exitCode) => {
    const error = failure(paths());
    expect(error.message).toMatch(message);
    expect(error.exitCode).toBe(exitCode);
  });

  it('refuses an unreadable file (as a non-root user only)', () => {
    if (process.getuid?.() === 0) return; // root reads everything
    const locked = write('locked.pem', 'x');
    chmodSync(locked, 0);
    expect(failure({ ...good, tcert: locked }).message).toMatch(/permission denied/);
  });

  it('refuses a certificate outside its validity window', () => {
    const expired = issueCert(ca, 'expired', {
      notBefore: new Date('2020-01-01'),
      notAfter: new Date('2020-02-01'),
    });
    expect(failure({ ...good, tcert: expired.cert, tkey: expired.key }).message).toMatch(
      /^Cannot use certificate ".*expired.pem": it expired on Feb {2}1 00:00:00 2020 GMT$/,
    );
    expect(failure(good, new Date('2000-01-01')).message).toMatch(/it is not valid before/);
  });
});

function write(name: string, text: string): string {
  writeFileSync(p(name), text);
  return p(name);
}
function mkdir(name: string): string {
  mkdirSync(p(name), { recursive: true });
  return p(name);
}
