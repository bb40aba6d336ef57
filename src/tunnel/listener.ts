/**
 * The joiner's TLS listener (design.md "The flow"): it binds the port and hands every accepted connection to a
 * TLS service, in this process (tlsService.ts) or in worker processes (listenerPool.ts). Every connection that
 * passes verifyPeer gets its own `rsync --server --daemon` on its stdio (rsyncSession.ts), inetd style, so nothing
 * ever listens in plaintext. close() leaves no child and no bound port behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logger } from '../log.js';
import { listenError } from './listenError.js';
import { startWorkerPool } from './listenerPool.js';
import type { Listener, ListenerOptions, ListenerStats, LivenessEnd } from './listenerTypes.js';
import { createTlsService } from './tlsService.js';

const log = logger('listener');

/** Binds `server` (plain or TLS) exclusively; PortBusyError and friends when it cannot. */
async function bind(server: NetServer, host: string, port: number): Promise<number> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw listenError(error as NodeJS.ErrnoException, host, port);
  }
  server.on('error', (error) => log.error(`Listener error: ${error.message}`));
  const bound = server.address();
  return typeof bound === 'object' && bound !== null ? bound.port : port;
}

/** Starts the listener; PortBusyError (exit 16) when the port is taken, naming the holder when visible. */
export async function startListener(opts: ListenerOptions): Promise<Listener> {
  if (!opts.policy.verify)
    log.warn(
      'Peer verification is off (sockopt verify=0): any client that speaks TLS can write into the datadir',
    );
  const logDir = mkdtempSync(join(opts.tmpdir ?? tmpdir(), 'sst-rsyncd-'));
  const workers = opts.workers ?? 0;
  let port: number;
  let counters: () => ListenerStats;
  let endLiveness: (end: LivenessEnd) => void;
  let stop: () => Promise<void>;
  try {
    if (workers > 0) {
      const pool = await startWorkerPool(opts, logDir, workers);
      const server = createNetServer({ pauseOnConnect: true }, (socket) => pool.dispatch(socket));
      port = await bind(server, opts.host, opts.port).catch(async (error: unknown) => {
        await pool.close();
        throw error;
      });
      counters = pool.stats;
      endLiveness = pool.endLiveness;
      stop = async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await pool.close();
        await closed;
      };
    } else {
      const service = createTlsService({ ...opts, logDir });
      port = await bind(service.server, opts.host, opts.port);
      counters = service.stats;
      endLiveness = service.endLiveness;
      stop = async () => {
        const closed = new Promise<void>((resolve) => service.server.close(() => resolve()));
        await service.close();
        await closed;
      };
    }
  } catch (error) {
    rmSync(logDir, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    address: { host: opts.host, port },
    stats: () => counters(),
    endLiveness: (end) => endLiveness(end),
    close() {
      closing ??= stop().finally(() => rmSync(logDir, { recursive: true, force: true }));
      return closing;
    },
  };
}
