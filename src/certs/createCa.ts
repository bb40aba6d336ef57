/** `createCa`: a new cluster CA in a directory (`ca.pem`, `ca-key.pem` 0600). */
import { randomBytes } from 'node:crypto';
import { describeCertificate, type CertificateInfo } from './inspect.js';
import { exportPrivateKeyPem, generateKeyPair, signingAlgorithmFor } from './keys.js';
import { DEFAULT_KEY_TYPE, parseKeyType, type KeyType } from './keyType.js';
import { checkCommonName, parseDays } from './names.js';
import {
  CERT_MODE,
  KEY_MODE,
  caPaths,
  ensureDirectory,
  refuseOverwrite,
  writeFilesAtomically,
} from './store.js';
import { DEFAULT_CA_DAYS, buildCaCertificate, validityFor } from './x509.js';

/** Options of `createCa`; `now` is for tests. */
export interface CreateCaOptions {
  dir: string;
  cn?: string;
  days?: number;
  keyType?: KeyType;
  force?: boolean;
  now?: Date;
}

/** What `createCa` wrote: absolute paths and a description of the new certificate. */
export interface CreatedCa {
  certPath: string;
  keyPath: string;
  certificate: CertificateInfo;
}

/**
 * The default CA name: "sst-tunnel CA <date> <random>". It has a space, so it can never equal a node name (a DNS
 * name or an IP), and the random part keeps two CAs apart when both sit in one `tca` bundle during a rotation.
 */
export function defaultCaName(now: Date = new Date()): string {
  return `sst-tunnel CA ${now.toISOString().slice(0, 10)} ${randomBytes(3).toString('hex')}`;
}

/** Creates a cluster CA in `dir`; refuses to replace an existing `ca.pem` or `ca-key.pem` unless `force`. */
export async function createCa(opts: CreateCaOptions): Promise<CreatedCa> {
  const now = opts.now ?? new Date();
  const keyType = parseKeyType(opts.keyType ?? DEFAULT_KEY_TYPE);
  const days = parseDays(opts.days ?? DEFAULT_CA_DAYS);
  const cn = checkCommonName(opts.cn ?? defaultCaName(now), '--cn');
  const { certPath, keyPath } = caPaths(opts.dir);
  await ensureDirectory(opts.dir);
  await refuseOverwrite([certPath, keyPath], `a CA in "${opts.dir}"`, opts.force ?? false);

  const keys = await generateKeyPair(keyType);
  const cert = await buildCaCertificate({
    cn,
    keys,
    signingAlgorithm: signingAlgorithmFor(keyType),
    validity: validityFor(days, now),
  });
  await writeFilesAtomically([
    { path: keyPath, contents: await exportPrivateKeyPem(keys.privateKey), mode: KEY_MODE },
    { path: certPath, contents: `${cert.toString('pem')}\n`, mode: CERT_MODE },
  ]);
  return { certPath, keyPath, certificate: await describeCertificate(cert) };
}
