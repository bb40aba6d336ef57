/**
 * Loads and checks the node's TLS material ([sst] tca, tcert, tkey) before anything listens or connects
 * (design.md "Fail before ready"): every problem is one CredentialError that names the file and what is wrong.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CredentialError, ExitCode } from '../errors.js';
import { isCertificateLabel, isEncryptedKey, isKeyLabel, splitPem, type PemBlock } from './pem.js';

/** Where the material lives: `tca` is a bundle file or a CA directory; `tcert` may also hold the key. */
export interface CredentialPaths {
  tca?: string;
  tcert: string;
  tkey?: string;
}

/** The loaded material, ready for node:tls, plus parsed certificates for checks and messages. */
export interface Credentials {
  paths: CredentialPaths;
  /** PEM certificates from tca; undefined means the system/Node default roots. */
  ca: string[] | undefined;
  /** PEM chain, leaf first. */
  cert: string;
  /** PEM private key. */
  key: string;
  leaf: X509Certificate;
  /** Intermediates found in tcert after the leaf. */
  chain: X509Certificate[];
  caCerts: X509Certificate[];
}

/** c_rehash / `openssl rehash` names in a CA directory: 8 hex digits, a dot, a sequence number. */
const HASHED_NAME = /^[0-9a-f]{8}\.\d+$/;

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'file not found'
        : code === 'EACCES' || code === 'EPERM'
          ? `permission denied for user id ${process.getuid?.() ?? '?'}`
          : code === 'EISDIR'
            ? 'it is a directory'
            : (error as Error).message;
    throw new CredentialError(`Cannot load ${what} "${path}": ${reason}`, {
      exitCode: code === 'ENOENT' ? ExitCode.ENOENT : ExitCode.EINVAL,
      cause: error,
    });
  }
}

function blocksOf(path: string, what: string): PemBlock[] {
  const blocks = splitPem(readText(path, what));
  if (blocks.length === 0) throw new CredentialError(`Cannot load ${what} "${path}": no PEM block found`);
  return blocks;
}

function parseCertificates(blocks: PemBlock[], path: string, what: string): X509Certificate[] {
  return blocks
    .filter((block) => isCertificateLabel(block.label))
    .map((block, index) => {
      try {
        return new X509Certificate(block.text);
      } catch (error) {
        throw new CredentialError(
          `Cannot load ${what} "${path}": certificate ${index + 1} cannot be parsed: ${(error as Error).message}`,
          { cause: error },
        );
      }
    });
}

function loadCa(path: string): X509Certificate[] {
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // readText below reports the precise problem
  }
  const files = isDir
    ? readdirSync(path)
        .filter((name) => /\.(pem|crt)$/i.test(name) || HASHED_NAME.test(name))
        .sort()
        .map((name) => join(path, name))
    : [path];
  const certs = files.flatMap((file) =>
    parseCertificates(splitPem(readText(file, 'CA certificates')), file, 'CA certificates'),
  );
  if (certs.length === 0) {
    throw new CredentialError(
      `Cannot load CA certificates "${path}": no certificate found${isDir ? ' in the directory' : ''}`,
    );
  }
  return certs;
}

function parseKey(block: PemBlock, path: string): KeyObject {
  if (isEncryptedKey(block)) {
    throw new CredentialError(
      `Cannot load key "${path}": the key is encrypted and an SST cannot ask for a passphrase (decrypt it with "openssl pkey -in ${path} -out <new file>")`,
    );
  }
  try {
    return createPrivateKey(block.text);
  } catch (error) {
    throw new CredentialError(`Cannot load key "${path}": ${(error as Error).message}`, { cause: error });
  }
}

function checkValidity(leaf: X509Certificate, path: string, now: Date): void {
  if (now < new Date(leaf.validFrom)) {
    throw new CredentialError(`Cannot use certificate "${path}": it is not valid before ${leaf.validFrom}`);
  }
  if (now > new Date(leaf.validTo)) {
    throw new CredentialError(`Cannot use certificate "${path}": it expired on ${leaf.validTo}`);
  }
}

/**
 * Reads tcert (chain, leaf first, optionally with the key), tkey and tca; checks that the key is plain and matches
 * the leaf and that the leaf is inside its validity window. Synchronous: it runs once, before the SST starts.
 */
export function loadCredentials(paths: CredentialPaths, options: { now?: Date } = {}): Credentials {
  const certBlocks = blocksOf(paths.tcert, 'certificate');
  const certs = parseCertificates(certBlocks, paths.tcert, 'certificate');
  const leaf = certs[0];
  if (leaf === undefined) {
    throw new CredentialError(
      `Cannot load certificate "${paths.tcert}": no certificate in it (found ${certBlocks.map((b) => b.label).join(', ')})`,
    );
  }
  const keyPath = paths.tkey ?? paths.tcert;
  const keyBlocks = (paths.tkey === undefined ? certBlocks : blocksOf(paths.tkey, 'key')).filter((b) =>
    isKeyLabel(b.label),
  );
  const keyBlock = keyBlocks[0];
  if (keyBlock === undefined) {
    throw new CredentialError(
      paths.tkey === undefined
        ? `Cannot load key: "${paths.tcert}" holds no private key and [sst] tkey is not set`
        : `Cannot load key "${paths.tkey}": no private key found`,
    );
  }
  const key = parseKey(keyBlock, keyPath);
  if (!leaf.checkPrivateKey(key)) {
    throw new CredentialError(
      `Cannot use certificate "${paths.tcert}" with key "${keyPath}": the key does not match the certificate`,
    );
  }
  checkValidity(leaf, paths.tcert, options.now ?? new Date());
  const caCerts = paths.tca === undefined ? [] : loadCa(paths.tca);
  return {
    paths,
    ca: paths.tca === undefined ? undefined : caCerts.map((c) => c.toString()),
    cert: certs.map((c) => c.toString()).join(''),
    key: keyBlock.text,
    leaf,
    chain: certs.slice(1),
    caCerts,
  };
}

/**
 * Why the node's own chain would not verify against its own tca, or undefined when it does. Peers usually share
 * the tca, so a failure here predicts that they will refuse this node; callers decide whether to warn or fail.
 */
export function ownChainProblem(creds: Credentials): string | undefined {
  if (creds.caCerts.length === 0) return undefined;
  let current = creds.leaf;
  const pool = [...creds.chain, ...creds.caCerts];
  for (let depth = 0; depth < 10; depth++) {
    if (creds.caCerts.some((ca) => ca.fingerprint256 === current.fingerprint256)) return undefined;
    const issuer = pool.find((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (issuer === undefined) {
      return `certificate "${current.subject.replace(/\n/g, ', ')}" was not issued by any certificate in "${creds.paths.tca ?? ''}" or in the chain of "${creds.paths.tcert}"`;
    }
    if (creds.caCerts.includes(issuer)) return undefined;
    current = issuer;
  }
  return 'the chain is longer than 10 certificates';
}
