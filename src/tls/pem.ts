/**
 * PEM block splitting, pure: text in, typed blocks out. Node's TLS options want PEM strings, and the
 * credential checks need to know which blocks a file holds (a combined key+cert file is allowed, contract 4.2.4).
 */

/** One `-----BEGIN <label>-----` ... `-----END <label>-----` block, re-serialised with `\n` line ends. */
export interface PemBlock {
  label: string;
  /** The whole block, BEGIN and END lines included. */
  text: string;
  /** RFC 1421 headers (`Proc-Type: 4,ENCRYPTED`), present in legacy encrypted keys. */
  headers: string[];
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in `text`, in file order; text outside blocks (comments, `Bag Attributes`) is ignored. */
export function splitPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const label = match[1] ?? '';
    const body = (match[2] ?? '').replace(/\r/g, '');
    const headers = body
      .split('\n')
      .filter((line) => /^[A-Za-z-]+:/.test(line))
      .map((line) => line.trim());
    blocks.push({ label, text: `-----BEGIN ${label}-----\n${body}-----END ${label}-----\n`, headers });
  }
  return blocks;
}

/** Labels that hold a certificate Node can parse. */
export function isCertificateLabel(label: string): boolean {
  return label === 'CERTIFICATE' || label === 'X509 CERTIFICATE';
}

/** Labels that hold a private key (PKCS#8, PKCS#1, SEC1, encrypted PKCS#8). */
export function isKeyLabel(label: string): boolean {
  return (
    label === 'PRIVATE KEY' || label === 'ENCRYPTED PRIVATE KEY' || /^(RSA|EC|DSA) PRIVATE KEY$/.test(label)
  );
}

/** True for a key Node could only read with a passphrase, which an SST has no way to ask for. */
export function isEncryptedKey(block: PemBlock): boolean {
  return (
    block.label === 'ENCRYPTED PRIVATE KEY' || block.headers.some((h) => /^Proc-Type:\s*4,ENCRYPTED/i.test(h))
  );
}
