/** `createNodeCert`: a node certificate and key signed by the CA of a directory. */
import { describeCertificate, type CertificateInfo } from './inspect.js';
import { exportPrivateKeyPem, generateKeyPair } from './keys.js';
import { DEFAULT_KEY_TYPE, parseKeyType, type KeyType } from './keyType.js';
import { loadCa, type LoadedCa } from './loadCa.js';
import { parseDays, sameCommonName, subjectAltNames, type SubjectAltNames } from './names.js';
import {
  CERT_MODE,
  KEY_MODE,
  ensureDirectory,
  nodePaths,
  refuseOverwrite,
  writeFilesAtomically,
} from './store.js';
import { ConfigError } from '../errors.js';
import { logger } from '../log.js';
import {
  CLOCK_SKEW_MS,
  DEFAULT_NODE_DAYS,
  buildNodeCertificate,
  validityFor,
  type Validity,
} from './x509.js';

/** Options of `createNodeCert`. `notBefore`/`notAfter` override `days` (tests make expired certificates with them). */
export interface CreateNodeCertOptions {
  dir: string;
  name: string;
  dns?: string[];
  ips?: string[];
  days?: number;
  keyType?: KeyType;
  /** Replace existing `<name>-cert.pem` / `<name>-key.pem`. */
  force?: boolean;
  notBefore?: Date;
  notAfter?: Date;
  now?: Date;
}

/** What `createNodeCert` wrote: absolute paths (the CA's too, for `tca`), the SANs and the new certificate. */
export interface CreatedNodeCert {
  certPath: string;
  keyPath: string;
  caPath: string;
  sans: SubjectAltNames;
  certificate: CertificateInfo;
}

/**
 * The validity window. Without `--days` the default lifetime is cut to the CA's own end (with a warning): a leaf
 * that outlives its CA stops verifying anyway. An explicit `--days` or `notAfter` past the CA is refused instead,
 * because the operator asked for something the CA cannot give.
 */
function nodeValidity(opts: CreateNodeCertOptions, ca: LoadedCa, now: Date): Validity {
  const days = opts.days === undefined ? undefined : parseDays(opts.days);
  const base = validityFor(days ?? DEFAULT_NODE_DAYS, now);
  const validity: Validity = {
    notBefore: opts.notBefore ?? base.notBefore,
    notAfter: opts.notAfter ?? base.notAfter,
  };
  if (validity.notAfter.getTime() <= validity.notBefore.getTime()) {
    throw new ConfigError(
      `Cannot create node certificate "${opts.name}": notAfter "${validity.notAfter.toISOString()}" is not after notBefore "${validity.notBefore.toISOString()}"`,
    );
  }
  const caEnd = ca.cert.notAfter;
  if (validity.notAfter.getTime() > caEnd.getTime()) {
    if (days !== undefined || opts.notAfter !== undefined) {
      const asked = days !== undefined ? `--days "${days}"` : `notAfter "${validity.notAfter.toISOString()}"`;
      throw new ConfigError(
        `Cannot use ${asked}: the node certificate would outlive the CA "${ca.certPath}", which expires on ${caEnd.toISOString()}`,
      );
    }
    logger('certs').warn(
      { ca: ca.certPath, caExpires: caEnd.toISOString() },
      `Node certificate "${opts.name}" ends when its CA does, sooner than the default ${DEFAULT_NODE_DAYS} days`,
    );
    validity.notAfter = caEnd;
  }
  if (validity.notAfter.getTime() <= now.getTime() - CLOCK_SKEW_MS && opts.notAfter === undefined) {
    throw new ConfigError(`Cannot create node certificate "${opts.name}": it would already be expired`);
  }
  return validity;
}

/** Creates `<name>-cert.pem` and `<name>-key.pem` (0600) in `dir`, signed by the CA there. */
export async function createNodeCert(opts: CreateNodeCertOptions): Promise<CreatedNodeCert> {
  const now = opts.now ?? new Date();
  const sans = subjectAltNames(opts.name, opts.dns ?? [], opts.ips ?? []);
  const keyType = parseKeyType(opts.keyType ?? DEFAULT_KEY_TYPE);
  if (opts.days !== undefined) parseDays(opts.days);
  const { certPath, keyPath } = nodePaths(opts.dir, opts.name);

  const ca = await loadCa(opts.dir, now);
  if (sameCommonName(ca.cn, opts.name)) {
    throw new ConfigError(
      `Cannot create node certificate "${opts.name}": the CA's common name is also "${ca.cn}"`,
    );
  }
  for (const path of [certPath, keyPath]) {
    // Name "ca" would give "ca-key.pem": never let a node replace the CA key, --force or not.
    if ([ca.certPath, ca.keyPath].some((caPath) => caPath.toLowerCase() === path.toLowerCase())) {
      throw new ConfigError(`Cannot create node certificate "${opts.name}": "${path}" is the CA's own file`);
    }
  }
  const validity = nodeValidity(opts, ca, now);
  await ensureDirectory(opts.dir);
  await refuseOverwrite([certPath, keyPath], `node certificate "${opts.name}"`, opts.force ?? false);

  const keys = await generateKeyPair(keyType);
  const cert = await buildNodeCertificate({
    name: opts.name,
    sans,
    publicKey: keys.publicKey,
    keyType,
    ca: ca.cert,
    caKey: ca.key,
    validity,
  });
  await writeFilesAtomically([
    { path: keyPath, contents: await exportPrivateKeyPem(keys.privateKey), mode: KEY_MODE },
    { path: certPath, contents: `${cert.toString('pem')}\n`, mode: CERT_MODE },
  ]);
  return { certPath, keyPath, caPath: ca.certPath, sans, certificate: await describeCertificate(cert) };
}
