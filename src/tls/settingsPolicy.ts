/**
 * The TLS policy an SST uses, from the typed settings (sockopt compatibility included). Pure: the SST preflight
 * logs the notices around it, the doctor reports them as checks; both build the policy here so they cannot drift.
 */
import type { SstSettings } from '../config/settings.js';
import type { TlsPolicy } from './context.js';

/** The policy of `settings`; the donor adds the expected name. */
export function tlsPolicy(settings: SstSettings): TlsPolicy {
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
