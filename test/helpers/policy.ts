/** The baseline TLS policy of the tunnel tests: verification on, no allow-list, TLS 1.2+, a 5 s handshake. */
import type { TlsPolicy } from '../../src/tls/context.js';

/** Tests that need a variant spread it and change one field (baseline-and-toggle). */
export const TEST_POLICY: Readonly<TlsPolicy> = {
  verify: true,
  allowedPeers: [],
  strictIdentity: false,
  minVersion: 'TLSv1.2',
  handshakeTimeoutMs: 5000,
};
