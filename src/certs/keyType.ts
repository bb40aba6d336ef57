/** The key algorithms `certs` can generate, and their WebCrypto parameters. */
import type { webcrypto } from 'node:crypto';
import { ConfigError } from '../errors.js';

/** `ecdsa` is P-256: small, fast handshakes, accepted by every OpenSSL, socat and MariaDB build we target. */
export type KeyType = 'ecdsa' | 'rsa2048' | 'rsa3072';

/** Every accepted `--key-type` value, in the order the help text lists them. */
export const KEY_TYPES: readonly KeyType[] = ['ecdsa', 'rsa2048', 'rsa3072'];

/** The default for both the CA and node keys. */
export const DEFAULT_KEY_TYPE: KeyType = 'ecdsa';

/** Checks a `--key-type` value; `option` names the flag in the message. */
export function parseKeyType(value: string, option = '--key-type'): KeyType {
  const found = KEY_TYPES.find((type) => type === value);
  if (found === undefined) {
    throw new ConfigError(
      `Cannot use ${option} "${value}": expected one of ${KEY_TYPES.map((t) => `"${t}"`).join(', ')}`,
    );
  }
  return found;
}

/** WebCrypto generation parameters. RSA keys are generated for PKCS#1 v1.5 signing, which TLS 1.2 and 1.3 accept. */
export function generationParams(type: KeyType): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  switch (type) {
    case 'ecdsa':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'rsa2048':
    case 'rsa3072':
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: type === 'rsa2048' ? 2048 : 3072,
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      };
  }
}

/** A human label ("ECDSA P-256", "RSA 3072"), as `certs show` prints it. */
export function keyTypeLabel(type: KeyType): string {
  return type === 'ecdsa' ? 'ECDSA P-256' : `RSA ${type.slice(3)}`;
}
