/** Loading the CA of a certificate directory and checking that it can sign: present, a CA, key matches, not expired. */
import { readFile } from 'node:fs/promises';
import * as x509 from './x509lib.js';
import { CredentialError, ExitCode } from '../errors.js';
import { loadSigningKey, type SigningKey } from './keys.js';
import { caPaths } from './store.js';

/** A CA ready to sign node certificates. */
export interface LoadedCa {
  certPath: string;
  keyPath: string;
  cert: x509.X509Certificate;
  key: SigningKey;
  /** The CA's common name, to keep node names distinct from it. */
  cn: string;
}

async function readPem(path: string, what: string, dir: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new CredentialError(
        `Cannot load ${what} "${path}": file not found; create the CA with "sst-tunnel certs init --dir ${dir}"`,
        { exitCode: ExitCode.ENOENT, cause: error },
      );
    }
    throw new CredentialError(`Cannot load ${what} "${path}": ${(error as Error).message}`, { cause: error });
  }
}

function equalBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** The first CN of a certificate's subject, or "" when it has none. */
export function commonName(cert: x509.X509Certificate): string {
  return cert.subjectName.getField('CN')[0] ?? '';
}

/** Loads `ca.pem` and `ca-key.pem` from `dir`; every failure names the file and what was expected. */
export async function loadCa(dir: string, now: Date = new Date()): Promise<LoadedCa> {
  const { certPath, keyPath } = caPaths(dir);
  const certPem = await readPem(certPath, 'CA certificate', dir);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (error) {
    throw new CredentialError(`Cannot load CA certificate "${certPath}": no PEM certificate found`, {
      cause: error,
    });
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (constraints === null || !constraints.ca) {
    throw new CredentialError(
      `Cannot use CA certificate "${certPath}": it is not a CA (basicConstraints CA:TRUE missing)`,
    );
  }
  const usage = cert.getExtension(x509.KeyUsagesExtension);
  if (usage !== null && (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new CredentialError(
      `Cannot use CA certificate "${certPath}": its keyUsage does not allow keyCertSign`,
    );
  }
  if (cert.notAfter.getTime() <= now.getTime()) {
    throw new CredentialError(
      `Cannot use CA certificate "${certPath}": it expired on ${cert.notAfter.toISOString()}; create a new CA with --force`,
    );
  }
  const key = await loadSigningKey(await readPem(keyPath, 'CA key', dir), keyPath);
  if (!equalBytes(key.spki, cert.publicKey.rawData)) {
    throw new CredentialError(
      `Cannot use CA key "${keyPath}": it does not belong to the CA certificate "${certPath}"`,
    );
  }
  return { certPath, keyPath, cert, key, cn: commonName(cert) };
}
