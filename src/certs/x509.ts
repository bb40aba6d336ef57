/**
 * Certificate building with @peculiar/x509 on Node's WebCrypto. Takes keys and names that were already
 * checked (names.ts, keys.ts) and returns certificates; no file I/O.
 */
import { webcrypto } from 'node:crypto';
import * as x509 from './x509lib.js';
import type { SigningKey } from './keys.js';

type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
import type { KeyType } from './keyType.js';
import type { SubjectAltNames } from './names.js';

/** How far notBefore is set back from now, so a node whose clock is a little behind still accepts a fresh cert. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;

/** CA lifetime: 10 years. Replacing a CA means touching every node, so it should outlive the hardware. */
export const DEFAULT_CA_DAYS = 3650;

/**
 * Node certificate lifetime: 825 days (about 27 months), the ceiling public TLS clients enforced from 2018 to 2020:
 * long enough that renewal is a planned yearly chore, short enough that a forgotten cert is noticed in its lifetime.
 */
export const DEFAULT_NODE_DAYS = 825;

const DAY_MS = 24 * 60 * 60 * 1000;

/** A validity window. */
export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** notBefore = now minus CLOCK_SKEW_MS, notAfter = now plus `days` days (whole seconds, as X.509 stores them). */
export function validityFor(days: number, now: Date = new Date()): Validity {
  const start = Math.floor(now.getTime() / 1000) * 1000;
  return { notBefore: new Date(start - CLOCK_SKEW_MS), notAfter: new Date(start + days * DAY_MS) };
}

/**
 * A random positive serial of exactly 16 bytes, as hex: the top bit is cleared (a set bit would make the INTEGER
 * negative) and the first byte is never 0 (DER would strip it and the serial would shrink). 127 random bits make
 * a collision between two certificates of one CA practically impossible, which keeps CRLs and logs unambiguous.
 */
export function randomSerial(
  random: (bytes: Uint8Array) => Uint8Array = (b) => webcrypto.getRandomValues(b),
): string {
  const bytes = random(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f || 0x01;
  return Buffer.from(bytes).toString('hex');
}

/** Builds a self-signed CA certificate: CA:TRUE pathlen 0, keyCertSign + cRLSign, both critical, and an SKI. */
export async function buildCaCertificate(opts: {
  cn: string;
  keys: webcrypto.CryptoKeyPair;
  signingAlgorithm: Algorithm | EcdsaParams;
  validity: Validity;
}): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: [{ CN: [opts.cn] }],
    notBefore: opts.validity.notBefore,
    notAfter: opts.validity.notAfter,
    keys: opts.keys,
    signingAlgorithm: opts.signingAlgorithm,
    extensions: [
      // pathlen 0: this CA signs node certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(opts.keys.publicKey),
    ],
  });
}

/** Key usage of a node key: RSA may also do RSA key transport (TLS 1.2 kRSA suites); ECDSA only signs. */
export function nodeKeyUsage(keyType: KeyType): x509.KeyUsageFlags {
  const sign = x509.KeyUsageFlags.digitalSignature;
  return keyType === 'ecdsa' ? sign : sign | x509.KeyUsageFlags.keyEncipherment;
}

/** Builds a node certificate signed by the CA: serverAuth + clientAuth, since a node is joiner (server) and donor (client). */
export async function buildNodeCertificate(opts: {
  name: string;
  sans: SubjectAltNames;
  publicKey: CryptoKey;
  keyType: KeyType;
  ca: x509.X509Certificate;
  caKey: SigningKey;
  validity: Validity;
}): Promise<x509.X509Certificate> {
  const caSki = opts.ca.getExtension(x509.SubjectKeyIdentifierExtension);
  // The AKI must equal the CA's SKI byte for byte; reuse it rather than recompute, in case the CA came from a
  // tool that derives its SKI differently.
  const aki =
    caSki !== null
      ? new x509.AuthorityKeyIdentifierExtension(caSki.keyId)
      : await x509.AuthorityKeyIdentifierExtension.create(opts.ca.publicKey);
  const names = [
    ...opts.sans.dns.map((value) => ({ type: 'dns' as const, value })),
    ...opts.sans.ips.map((value) => ({ type: 'ip' as const, value })),
  ];
  return x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: [{ CN: [opts.name] }],
    issuer: opts.ca.subjectName,
    notBefore: opts.validity.notBefore,
    notAfter: opts.validity.notAfter,
    publicKey: opts.publicKey,
    signingKey: opts.caKey.key,
    signingAlgorithm: opts.caKey.signingAlgorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(nodeKeyUsage(opts.keyType), true),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(opts.publicKey),
      aki,
    ],
  });
}
