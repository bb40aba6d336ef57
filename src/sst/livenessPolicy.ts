/**
 * How the SST roles answer their liveness link (src/tunnel/liveness.ts), one rule for both.
 */
import { SstTimeoutError, TransferError } from '../errors.js';
import { logger } from '../log.js';
import type { LivenessEvent } from '../tunnel/liveness.js';

const log = logger('liveness');

/**
 * What a liveness event does to a role (both roles share it): silence ends the SST at once (exit 110, as the
 * original's timeouts); a peer that closed the link or gave up is named at once, and ends this side after
 * `graceMs` unless the data connections have ended it first with rsync's own words. `moot` says when the event
 * no longer matters (the joiner has the completion marker).
 */
export function livenessHandler(
  abort: (error: Error) => void,
  graceMs = 1000,
  moot: () => boolean = () => false,
): (event: LivenessEvent) => void {
  return (event) => {
    if (event.kind !== 'lost' || moot()) return;
    if (event.silent) {
      abort(new SstTimeoutError(event.reason));
      return;
    }
    log.warn(event.reason);
    setTimeout(() => {
      if (!moot()) abort(new TransferError(event.reason));
    }, graceMs).unref();
  };
}
