/**
 * What a certificate says, as plain data: subject, issuer, serial, validity, SANs, key type, usages. Used by
 * `certs show`, by the summaries `certs init/node` print, and meant for the doctor's checks.
 */
import { createPublicKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as x509 from './x509lib.js';
import { CredentialError, ExitCode } from '../errors.js';

/** One certificate, described. Dates are ISO 8601 strings so the object serialises to JSON as it is. */
export interface CertificateInfo {
  subject: string;
  issuer: string;
  commonName: string;
  /** Hex, lowercase, without leading zero bytes. */
  serial: string;
  notBefore: string;
  notAfter: string;
  sans: { dns: string[]; ips: string[]; other: string[] };
  /** "ECDSA P-256", "RSA 2048", ... */
  keyType: string;
  isCa: boolean;
  keyUsage: string[];
  extendedKeyUsage: string[];
  /** SHA-256 over the DER certificate, colon-separated upper-case hex as `openssl x509 -fingerprint` prints it. */
  fingerprintSha256: string;
}

const EKU_NAMES = new Map<string, string>(
  Object.entries(x509.ExtendedKeyUsage).map(([name, oid]) => [oid, name]),
);

const CURVES: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

/** The key type of a DER SubjectPublicKeyInfo, read by Node's own parser. */
export function describePublicKey(spki: ArrayBuffer): string {
  const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve ?? 'unknown curve';
      return `ECDSA ${CURVES[curve] ?? curve}`;
    }
    case 'rsa':
      return `RSA ${String(details.modulusLength ?? '?')}`;
    case 'rsa-pss':
      return `RSA-PSS ${String(details.modulusLength ?? '?')}`;
    default:
      return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  }
}

function keyUsageNames(flags: number): string[] {
  return Object.entries(x509.KeyUsageFlags)
    .filter((entry): entry is [string, number] => typeof entry[1] === 'number' && (flags & entry[1]) !== 0)
    .map(([name]) => name);
}

/** Describes one certificate. */
export async function describeCertificate(cert: x509.X509Certificate): Promise<CertificateInfo> {
  const sans: CertificateInfo['sans'] = { dns: [], ips: [], other: [] };
  for (const name of cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? []) {
    if (name.type === 'dns') sans.dns.push(name.value);
    else if (name.type === 'ip') sans.ips.push(name.value);
    else sans.other.push(`${name.type}:${name.value}`);
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const fingerprint = Buffer.from(await cert.getThumbprint('SHA-256'))
    .toString('hex')
    .toUpperCase();
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    commonName: cert.subjectName.getField('CN')[0] ?? '',
    serial: cert.serialNumber,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    sans,
    keyType: describePublicKey(cert.publicKey.rawData),
    isCa: cert.getExtension(x509.BasicConstraintsExtension)?.ca ?? false,
    keyUsage: usage === null ? [] : keyUsageNames(usage.usages),
    extendedKeyUsage: (eku?.usages ?? []).map((oid) => EKU_NAMES.get(String(oid)) ?? String(oid)),
    fingerprintSha256: fingerprint.match(/../g)?.join(':') ?? '',
  };
}

/** Every certificate in a PEM text (a bundle holds several); `file` names it in errors. */
export function parseCertificates(pem: string, file: string): x509.X509Certificate[] {
  let blocks: ArrayBuffer[];
  try {
    blocks = x509.PemConverter.decodeWithHeaders(pem)
      .filter((block) => block.type === 'CERTIFICATE')
      .map((block) => block.rawData);
  } catch (error) {
    throw new CredentialError(`Cannot load certificate "${file}": the PEM text is malformed`, {
      cause: error,
    });
  }
  if (blocks.length === 0)
    throw new CredentialError(`Cannot load certificate "${file}": no PEM certificate found`);
  return blocks.map((der, index) => {
    try {
      return new x509.X509Certificate(der);
    } catch (error) {
      throw new CredentialError(
        `Cannot load certificate "${file}": certificate ${index + 1} cannot be parsed`,
        {
          cause: error,
        },
      );
    }
  });
}

/** Reads a PEM file and describes every certificate in it. */
export async function readCertificateFile(file: string): Promise<CertificateInfo[]> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new CredentialError(
      `Cannot load certificate "${file}": ${missing ? 'file not found' : (error as Error).message}`,
      {
        ...(missing ? { exitCode: ExitCode.ENOENT } : {}),
        cause: error,
      },
    );
  }
  return Promise.all(parseCertificates(pem, file).map((cert) => describeCertificate(cert)));
}
