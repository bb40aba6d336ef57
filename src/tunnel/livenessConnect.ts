/**
 * The donor's end of the liveness link (liveness.ts): one TLS connection to the joiner's SST port offering
 * LIVENESS_ALPN, proving this SST's binding token first, then beating until the donor has finished or failed.
 * Opened only towards a joiner that advertised binding (an sst-tunnel joiner): an original socat joiner never
 * sees it.
 */
import { connect, type TLSSocket } from 'node:tls';
import { SstTimeoutError } from '../errors.js';
import { logger } from '../log.js';
import { verifyPeer } from '../tls/context.js';
import type { ConnectorTls } from './connector.js';
import type { ConnectorSpec } from './connectorRsh.js';
import { LIVENESS_ALPN, LivenessLink, type LivenessEvent } from './liveness.js';
import { donorPreamble } from './sstBinding.js';

const log = logger('liveness');

/** What opening the link gave: a link, or why there is none (the SST then goes on with idle-timeout). */
export type DonorLiveness = { link: LivenessLink } | { link: undefined; why: string };

/**
 * Opens the link. A joiner that completes no TLS handshake within the bound is taken as frozen or gone
 * (SstTimeoutError, exit 110): it advertised binding, so it is ours and answers at once when alive. Any other
 * failure to connect is left to the first rsync connection, which says it in detail.
 */
export async function openDonorLiveness(
  spec: ConnectorSpec & { binding: string },
  tls: ConnectorTls,
  boundMs: number,
  onEvent: (event: LivenessEvent) => void,
): Promise<DonorLiveness> {
  const where = `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
  let socket: TLSSocket;
  try {
    socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({ ...tls.options, ALPNProtocols: [LIVENESS_ALPN] });
      const timer = setTimeout(() => {
        s.destroy();
        reject(
          new SstTimeoutError(
            `The joiner ${where} completed no TLS handshake on the liveness link within ${boundMs / 1000} s ([sst] liveness-timeout): it is frozen, overloaded or unreachable`,
          ),
        );
      }, boundMs);
      s.once('secureConnect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  } catch (error) {
    if (error instanceof SstTimeoutError) throw error;
    return { link: undefined, why: `cannot open it (${(error as Error).message.split('\n')[0] ?? ''})` };
  }
  try {
    verifyPeer(socket, tls.policy, 'donor');
  } catch (error) {
    socket.destroy();
    return { link: undefined, why: `the joiner failed the peer check (${(error as Error).message})` };
  }
  if (socket.alpnProtocol !== LIVENESS_ALPN) {
    // An sst-tunnel joiner from before the liveness link: it logs this connection as closed before a proof.
    socket.destroy();
    return { link: undefined, why: 'the joiner does not offer it (an older sst-tunnel)' };
  }
  socket.write(donorPreamble(socket, spec.binding));
  log.debug(`Liveness link to the joiner ${where} is up`);
  const link = new LivenessLink(socket, { boundMs, peerRole: 'joiner', peer: where, onEvent });
  return { link };
}
