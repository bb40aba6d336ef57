/**
 * Key pairs: generation with WebCrypto, PKCS#8 PEM export, and loading an existing private key (the CA's)
 * back into a WebCrypto signing key. Node's KeyObject does the format work, so a CA key made elsewhere
 * ("EC PRIVATE KEY", "RSA PRIVATE KEY" PEM) loads too; nothing here parses ASN.1 by hand.
 */
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { PemConverter } from './x509lib.js';
import { CredentialError } from '../errors.js';

type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;
type EcdsaParams = webcrypto.EcdsaParams;
import { generationParams, type KeyType } from './keyType.js';

/** A private key ready to sign certificates, with the signature algorithm to use with it. */
export interface SigningKey {
  key: CryptoKey;
  signingAlgorithm: Algorithm | EcdsaParams;
  /** DER SubjectPublicKeyInfo of the matching public key, to compare with a certificate's. */
  spki: ArrayBuffer;
}

/** Generates an extractable key pair of the given type. */
export async function generateKeyPair(type: KeyType): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(generationParams(type), true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
}

/** The private key as unencrypted PKCS#8 PEM ("PRIVATE KEY"), the one form Node, OpenSSL, socat and MariaDB all read. */
export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return `${PemConverter.encode(der, 'PRIVATE KEY')}\n`;
}

/** The signature algorithm a CA key signs with: SHA-256 for P-256 and RSA, SHA-384 for P-384, SHA-512 for P-521. */
function importParams(
  keyObject: KeyObject,
  file: string,
): {
  importAlg: webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams;
  sign: Algorithm | EcdsaParams;
} {
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = keyObject.asymmetricKeyDetails?.namedCurve;
    const named =
      curve === 'prime256v1'
        ? 'P-256'
        : curve === 'secp384r1'
          ? 'P-384'
          : curve === 'secp521r1'
            ? 'P-521'
            : undefined;
    if (named === undefined) {
      throw new CredentialError(
        `Cannot use CA key "${file}": unsupported elliptic curve "${String(curve)}", expected P-256, P-384 or P-521`,
      );
    }
    const hash = named === 'P-256' ? 'SHA-256' : named === 'P-384' ? 'SHA-384' : 'SHA-512';
    return { importAlg: { name: 'ECDSA', namedCurve: named }, sign: { name: 'ECDSA', hash } as EcdsaParams };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    return {
      importAlg: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      sign: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  throw new CredentialError(
    `Cannot use CA key "${file}": unsupported key type "${String(keyObject.asymmetricKeyType)}", expected an EC or RSA key`,
  );
}

/** Loads a PEM private key (any of the usual PEM forms, unencrypted) as a signing key; `file` names it in errors. */
export async function loadSigningKey(pem: string, file: string): Promise<SigningKey> {
  let keyObject: KeyObject;
  try {
    keyObject = createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    throw new CredentialError(`Cannot load CA key "${file}": not an unencrypted PEM private key`, {
      cause: error,
    });
  }
  const { importAlg, sign } = importParams(keyObject, file);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  const key = await webcrypto.subtle.importKey('pkcs8', der, importAlg, false, ['sign']);
  const spki = createPublicKey(keyObject).export({ type: 'spki', format: 'der' });
  return { key, signingAlgorithm: sign, spki: new Uint8Array(spki).buffer };
}

/** The signature algorithm for a freshly generated key of the given type (used when the CA signs itself). */
export function signingAlgorithmFor(type: KeyType): Algorithm | EcdsaParams {
  return type === 'ecdsa'
    ? ({ name: 'ECDSA', hash: 'SHA-256' } as EcdsaParams)
    : { name: 'RSASSA-PKCS1-v1_5' };
}
