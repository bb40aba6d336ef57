/**
 * TLS settings for both ends and the post-handshake peer check. Chain and name are checked by verifyPeer, not by
 * node:tls (`rejectUnauthorized: false`): Node would drop a bad peer silently on the server side
 * (lib/_tls_wrap.js onServerSocketSecure destroys without an event), and every refusal must be logged with why.
 * No application byte is read or written before verifyPeer has passed.
 */
import { constants } from 'node:crypto';
import type { ConnectionOptions, SecureContextOptions, TLSSocket, TlsOptions } from 'node:tls';
import { PeerVerificationError } from '../errors.js';
import type { Credentials } from './credentials.js';
import {
  describeIdentity,
  matchAny,
  matchIdentity,
  peerIdentity,
  type IdentityMatch,
  type PeerIdentity,
} from './identity.js';
import { ipFamily } from './ipAddress.js';

/** How strict a connection is; built from [sst] settings and socat-style sockopt tokens. */
export interface TlsPolicy {
  /** false = sockopt verify=0: no client certificate request, no chain or name check (logged as a warning). */
  verify: boolean;
  /** Donor: the joiner's advertised host or sockopt commonname. Joiner: sockopt commonname, when set. */
  expectedName?: string;
  /** Joiner: acceptable donor identities; empty = any certificate with a valid chain. */
  allowedPeers: string[];
  /** Ignore the CN when the certificate has SANs. */
  strictIdentity: boolean;
  /** sockopt cipher=: an OpenSSL cipher list for TLS 1.2. */
  ciphers?: string;
  minVersion: 'TLSv1.2' | 'TLSv1.3';
  /** SNI: default the expected name when it is a DNS name; false = no SNI. */
  servername?: string | false;
  handshakeTimeoutMs: number;
  family?: 4 | 6;
}

/** TLS 1.3 suites, AES-128-GCM first (tunnel-performance.md 3: cheapest on AES-NI, ChaCha20 costs 5-8% more). */
export const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256';
/** TLS 1.2: ECDHE key exchange with AEAD ciphers only; no static RSA, no DHE (no dhparam files). */
export const TLS12_CIPHERS =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305';
/** Appended to a sockopt cipher list: whatever the operator asks for, never a non-ECDHE or unauthenticated suite. */
const CIPHER_FLOOR = '!kRSA:!kDHE:!kPSK:!aNULL:!eNULL';

/**
 * The cipher string for node:tls. Node routes `TLS_*` names to TLS 1.3 and caps the maximum version at 1.2 when
 * there are none (lib/internal/tls/secure-context.js), so our TLS 1.3 suites stay in front of a sockopt list.
 */
export function cipherString(policy: Pick<TlsPolicy, 'ciphers'>): string {
  if (policy.ciphers === undefined || policy.ciphers.trim() === '') return `${TLS13_SUITES}:${TLS12_CIPHERS}`;
  const own = policy.ciphers.split(':').filter((c) => c !== '');
  const suites = own.some((c) => c.startsWith('TLS_')) ? [] : [TLS13_SUITES];
  return [...suites, ...own, CIPHER_FLOOR].join(':');
}

/** Options shared by both ends; renegotiation is off (TLS 1.2 only; TLS 1.3 has none). */
function common(creds: Credentials, policy: TlsPolicy): SecureContextOptions {
  return {
    key: creds.key,
    cert: creds.cert,
    ...(creds.ca !== undefined && { ca: creds.ca }),
    minVersion: policy.minVersion,
    ciphers: cipherString(policy),
    secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
  };
}

/** The joiner's server options: client certificate requested whenever verify is on. */
export function serverOptions(creds: Credentials, policy: TlsPolicy): TlsOptions {
  return {
    ...common(creds, policy),
    requestCert: policy.verify,
    rejectUnauthorized: false,
    honorCipherOrder: true,
    handshakeTimeout: policy.handshakeTimeoutMs,
  };
}

/** The donor's client options for `host:port`; SNI is the expected name when that is a DNS name (never an IP). */
export function clientOptions(
  creds: Credentials,
  policy: TlsPolicy,
  host: string,
  port: number,
): ConnectionOptions {
  const sniName = policy.servername === undefined ? (policy.expectedName ?? host) : policy.servername;
  return {
    ...common(creds, policy),
    host,
    port,
    rejectUnauthorized: false,
    // The name is checked by verifyPeer with socat semantics; `authorized` then reflects the chain alone.
    checkServerIdentity: () => undefined,
    ...(sniName !== false && ipFamily(sniName) === 0 && { servername: sniName }),
    ...(policy.family !== undefined && { family: policy.family }),
  };
}

const CHAIN_REASONS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'it was not issued by a CA in tca',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'it was not issued by a CA in tca',
  UNABLE_TO_GET_ISSUER_CERT: 'it was not issued by a CA in tca',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed and not in tca',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in a self-signed certificate that is not in tca',
  CERT_SIGNATURE_FAILURE: 'its signature does not verify',
  INVALID_PURPOSE: 'its extended key usage does not allow this role',
};

/** The outcome of a passed check; identity is absent only when verify is off and the peer sent no certificate. */
export interface PeerCheck {
  identity?: PeerIdentity;
  match?: IdentityMatch;
  protocol: string;
  cipher: string;
}

/** Checks an established connection's peer against the policy; throws PeerVerificationError saying why not. */
export function verifyPeer(socket: TLSSocket, policy: TlsPolicy, role: 'donor' | 'joiner'): PeerCheck {
  const protocol = socket.getProtocol() ?? 'unknown';
  const cipherInfo = socket.getCipher();
  const result: PeerCheck = { protocol, cipher: cipherInfo.standardName ?? cipherInfo.name };
  const cert = socket.getPeerCertificate();
  // An absent certificate is an empty object (doc/api/tls.md tlsSocket.getPeerCertificate).
  if (cert !== null && cert.raw !== undefined) result.identity = peerIdentity(cert);
  if (!policy.verify) return result;
  const peer = role === 'donor' ? 'the joiner' : 'the donor';
  const identity = result.identity;
  if (identity === undefined) {
    throw new PeerVerificationError(
      `${peer === 'the joiner' ? 'The joiner' : 'The donor'} presented no certificate (mutual TLS requires one)`,
    );
  }
  if (!socket.authorized) {
    const code = String(socket.authorizationError ?? 'unknown error');
    const reason = CHAIN_REASONS[code] ?? 'its chain does not verify';
    throw new PeerVerificationError(
      `Cannot verify the certificate of ${peer}: ${reason} (${code}); it presented ${describeIdentity(identity)}`,
    );
  }
  const options = { strict: policy.strictIdentity };
  if (role === 'donor' && policy.expectedName === undefined) {
    throw new PeerVerificationError('Cannot verify the joiner: no expected name was given (internal error)');
  }
  if (policy.expectedName !== undefined) {
    const match = matchIdentity(identity, policy.expectedName, options);
    if (match === undefined) {
      const fields = policy.strictIdentity
        ? 'a SAN DNS or SAN IP entry (CN only without SANs)'
        : 'a SAN DNS, SAN IP or CN';
      throw new PeerVerificationError(
        `The certificate of ${peer} does not match "${policy.expectedName}": expected ${fields} equal to "${policy.expectedName}"; it presented ${describeIdentity(identity)}`,
      );
    }
    result.match = match;
  }
  if (role === 'joiner' && policy.allowedPeers.length > 0) {
    const match = matchAny(identity, policy.allowedPeers, options);
    if (match === undefined) {
      throw new PeerVerificationError(
        `The certificate of ${peer} matches none of the allowed donors ${policy.allowedPeers.map((n) => `"${n}"`).join(', ')}; it presented ${describeIdentity(identity)}`,
      );
    }
    result.match = match;
  }
  return result;
}

/** A readable reason for a failed handshake on the listener ('tlsClientError'), for the refusal log line. */
/**
 * node's "socket hang up": the client closed before finishing its side of the handshake. Mostly a port check (a
 * load balancer, `doctor`, a donor asking whether this joiner still listens), not a refusal on our side.
 */
export function closedBeforeHandshake(error: Error & { code?: string }): boolean {
  return error.code === 'ECONNRESET' && /socket hang up/i.test(error.message);
}

export function describeHandshakeError(error: Error & { code?: string }): string {
  const code = error.code ?? '';
  if (code === 'ERR_TLS_HANDSHAKE_TIMEOUT') return 'the TLS handshake did not finish in time';
  if (closedBeforeHandshake(error)) return 'the client closed the connection before the TLS handshake';
  if (code === 'ERR_SSL_UNSUPPORTED_PROTOCOL' || /unsupported protocol/i.test(error.message)) {
    return 'the client offered only TLS versions below the minimum';
  }
  if (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_HTTP_REQUEST' ||
    /wrong version number|http request/i.test(error.message)
  ) {
    return 'the client did not speak TLS (plaintext connection?)';
  }
  if (/no shared cipher/i.test(error.message)) return 'no cipher suite in common with the client';
  if (/peer did not return a certificate/i.test(error.message)) return 'the client presented no certificate';
  return error.message.split('\n')[0] ?? code;
}
