/**
 * Reads tcert, tkey and tca without stopping at the first problem, unlike tls loadCredentials (which the SST
 * uses and which throws on a key mismatch or an expired certificate). Each file yields one parse result; the
 * material comes back as Credentials whenever a certificate and a key were found, so credentialChecks can
 * report everything else (a mismatched key included) in the same run.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { CredentialPaths, Credentials } from '../tls/credentials.js';
import { isCertificateLabel, isEncryptedKey, isKeyLabel, splitPem, type PemBlock } from '../tls/pem.js';
import { fail, ok, type CheckResult } from '../preflight/result.js';

/** c_rehash names in a CA directory, as tls/credentials accepts them. */
const HASHED_NAME = /^[0-9a-f]{8}\.\d+$/;

type Read = { blocks: PemBlock[] } | { problem: string };

function readBlocks(path: string): Read {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return {
      problem:
        code === 'ENOENT'
          ? 'file not found'
          : code === 'EISDIR'
            ? 'it is a directory'
            : (error as Error).message,
    };
  }
  const blocks = splitPem(text);
  return blocks.length === 0 ? { problem: 'no PEM block found' } : { blocks };
}

function certificates(blocks: PemBlock[]): X509Certificate[] | string {
  const certs: X509Certificate[] = [];
  for (const [index, block] of blocks.filter((b) => isCertificateLabel(b.label)).entries()) {
    try {
      certs.push(new X509Certificate(block.text));
    } catch (error) {
      return `certificate ${index + 1} cannot be parsed: ${(error as Error).message}`;
    }
  }
  return certs;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function caFiles(path: string): string[] {
  try {
    if (!statSync(path).isDirectory()) return [path];
  } catch {
    return [path];
  }
  return readdirSync(path)
    .filter((name) => /\.(pem|crt)$/i.test(name) || HASHED_NAME.test(name))
    .sort()
    .map((name) => join(path, name));
}

function loadCa(path: string, results: CheckResult[]): X509Certificate[] | undefined {
  const certs: X509Certificate[] = [];
  for (const file of caFiles(path)) {
    const read = readBlocks(file);
    const parsed = 'problem' in read ? read.problem : certificates(read.blocks);
    if (typeof parsed === 'string') {
      results.push(fail('pem.tca', `Cannot load CA certificates "${file}": ${parsed}`));
      return undefined;
    }
    certs.push(...parsed);
  }
  if (certs.length === 0) {
    results.push(fail('pem.tca', `Cannot load CA certificates "${path}": no certificate found`));
    return undefined;
  }
  results.push(ok('pem.tca', `tca "${path}" holds ${plural(certs.length, 'certificate')}`));
  return certs;
}

function findKey(
  paths: CredentialPaths,
  certBlocks: PemBlock[],
  results: CheckResult[],
): PemBlock | undefined {
  const keyPath = paths.tkey ?? paths.tcert;
  let blocks = certBlocks;
  if (paths.tkey !== undefined) {
    const read = readBlocks(paths.tkey);
    if ('problem' in read) {
      results.push(fail('pem.tkey', `Cannot load key "${paths.tkey}": ${read.problem}`));
      return undefined;
    }
    blocks = read.blocks;
  }
  const key = blocks.find((b) => isKeyLabel(b.label));
  if (key === undefined) {
    results.push(
      fail(
        'pem.tkey',
        paths.tkey === undefined
          ? `Cannot load key: "${paths.tcert}" holds no private key and [sst] tkey is not set`
          : `Cannot load key "${paths.tkey}": no private key found`,
        paths.tkey === undefined ? 'set [sst] tkey to the key file' : undefined,
      ),
    );
    return undefined;
  }
  if (isEncryptedKey(key)) {
    results.push(
      fail(
        'pem.tkey',
        `Cannot load key "${keyPath}": the key is encrypted and an SST cannot ask for a passphrase`,
        `decrypt it: openssl pkey -in ${keyPath} -out <new file>`,
      ),
    );
    return undefined;
  }
  if (paths.tkey !== undefined) results.push(ok('pem.tkey', `tkey "${paths.tkey}" holds a private key`));
  return key;
}

/** Parse results for each file, and the material when a certificate and a key were found. */
export function loadMaterial(paths: CredentialPaths): { results: CheckResult[]; creds?: Credentials } {
  const results: CheckResult[] = [];
  const read = readBlocks(paths.tcert);
  if ('problem' in read) {
    results.push(fail('pem.tcert', `Cannot load certificate "${paths.tcert}": ${read.problem}`));
    return { results };
  }
  const certs = certificates(read.blocks);
  if (typeof certs === 'string' || certs[0] === undefined) {
    const why =
      typeof certs === 'string'
        ? certs
        : `no certificate in it (found ${read.blocks.map((b) => b.label).join(', ')})`;
    results.push(fail('pem.tcert', `Cannot load certificate "${paths.tcert}": ${why}`));
    return { results };
  }
  const withKey =
    paths.tkey === undefined && read.blocks.some((b) => isKeyLabel(b.label)) ? ' and a private key' : '';
  results.push(
    ok('pem.tcert', `tcert "${paths.tcert}" holds ${plural(certs.length, 'certificate')}${withKey}`),
  );
  const key = findKey(paths, read.blocks, results);
  const caCerts = paths.tca === undefined ? [] : loadCa(paths.tca, results);
  if (key === undefined || caCerts === undefined) return { results };
  const [leaf, ...chain] = certs;
  return {
    results,
    creds: {
      paths,
      ca: paths.tca === undefined ? undefined : caCerts.map((c) => c.toString()),
      cert: certs.map((c) => c.toString()).join(''),
      key: key.text,
      leaf,
      chain,
      caCerts,
    },
  };
}
