/**
 * The TLS policy an SST would use, built from the settings exactly as src/sst/prepare.ts policyFrom builds it,
 * minus its log lines (the doctor reports sockopt notices as checks instead). Pure.
 */
import type { SstSettings } from '../config/settings.js';
import type { TlsPolicy } from '../tls/context.js';

/** The policy of `settings`; the donor side adds the expected name. */
export function doctorPolicy(settings: SstSettings): TlsPolicy {
  const { sockopt } = settings;
  const policy: TlsPolicy = {
    verify: sockopt.verify ?? true,
    allowedPeers: [...settings.allowedDonors],
    strictIdentity: settings.strictIdentity,
    minVersion: sockopt.minVersion ?? 'TLSv1.2',
    handshakeTimeoutMs: settings.handshakeTimeoutMs,
  };
  if (sockopt.cipher !== undefined) policy.ciphers = sockopt.cipher;
  if (sockopt.noSni === true) policy.servername = false;
  else if (sockopt.snihost !== undefined) policy.servername = sockopt.snihost;
  if (sockopt.family !== undefined) policy.family = sockopt.family;
  return policy;
}

/** The first line a `doctor --listen` sends after checking the client: accepted, or refused with the reason. */
export const ANSWER_ACCEPTED = 'SST-TUNNEL-DOCTOR ACCEPTED';
export const ANSWER_REFUSED = 'SST-TUNNEL-DOCTOR REFUSED';
