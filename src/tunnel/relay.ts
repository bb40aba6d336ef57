/**
 * The donor's long-lived relay: one process per SST holds every TLS connection to the joiner, instead of one
 * Node process per rsync connection (a Node start-up costs ~0.3 CPU-s and 0.2-0.3 s of wall time per
 * connection). rsync reaches it as an rsync daemon client over TCP on 127.0.0.1 (`--port`), so no forwarder
 * process copies the payload once more on the way in (the socat forwarder into a Unix socket it replaces cost
 * a third of the donor side's CPU). The port is ephemeral, exists only while the SST runs, and takes a
 * connection only from a socket owned by the SST's own user (or root), checked in /proc/net/tcp; anything else
 * is dropped before a byte is read and logged. Each accepted connection is then exactly what
 * `sst-tunnel connect` does: TLS to the joiner, chain and name verified, bytes pumped, with the payload read
 * through one static buffer.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { logger } from '../log.js';
import { prepareConnectorTls, runConnector, type ConnectorTls } from './connector.js';
import type { ConnectorSpec } from './connectorRsh.js';
import type { SessionInfo } from './listenerTypes.js';
import { loopbackClientUid } from './loopbackOwner.js';
import { RateLimiter } from './rateLimit.js';
import { adoptWithStaticBuffer } from './staticRead.js';

const log = logger('relay');

/** Where the relay listens: loopback only (the uid check reads the IPv4 table). */
export const RELAY_HOST = '127.0.0.1';

/** A running relay: where rsync connects, live figures, and close(). */
export interface DonorRelay {
  host: string;
  port: number;
  /** Finished connections. */
  sessions(): SessionInfo[];
  /** Bytes moved so far in both directions, open connections included (for progress). */
  bytes(): number;
  /** The error of the most recent failed connection, to explain a failed rsync pass. */
  lastError(): string | undefined;
  /** How many connections have failed so far. */
  failures(): number;
  /** How many connections have ended so far, finished or failed. */
  closed(): number;
  /** Connections dropped because another user's process made them. */
  refused(): number;
  /**
   * Stops accepting, lets open connections finish (a grace, then they are ended), frees the port. `graceMs` 0:
   * end them at once (the SST was aborted: a dead or silent joiner will not wind them down).
   */
  close(graceMs?: number): Promise<void>;
}

/** Options of the relay; the defaults are the SST's. */
export interface RelayOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Users whose processes may connect; default this process's uid and root. */
  uids?: number[];
  /** The SST's TLS setup, when the donor made it already (for its liveness link): made once, warned about once. */
  tls?: ConnectorTls;
  /** How long close() lets open connections finish before ending them. */
  closeGraceMs?: number;
  /** Where the owner of a client socket is looked up (tests). */
  ownerOf?: (
    client: { address: string; port: number },
    server: { address: string; port: number },
  ) => number | undefined;
}

/** True unless the operator turned the relay off (`SST_TUNNEL_RELAY=none`: one `sst-tunnel connect` per connection). */
export function relayWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.SST_TUNNEL_RELAY !== 'none';
}

/** Starts the relay; undefined (the caller falls back to one connector per connection) when it cannot listen. */
export async function startDonorRelay(
  spec: ConnectorSpec,
  opts: RelayOptions = {},
): Promise<DonorRelay | undefined> {
  const ownUid = process.getuid?.() ?? 0;
  const allowed = new Set(opts.uids ?? [ownUid, 0]);
  const ownerOf = opts.ownerOf ?? loopbackClientUid;
  const finished: SessionInfo[] = [];
  const open = new Map<Socket, Promise<unknown>>();
  // [sst] rlimit holds for all connections together.
  const limiter = spec.rateLimit === undefined ? undefined : new RateLimiter(spec.rateLimit);
  // Credentials and SecureContext, made at the first connection and shared by all (a failure is retried next time).
  let tls: ConnectorTls | undefined = opts.tls;
  const sharedTls = (): ConnectorTls => (tls ??= prepareConnectorTls(spec));
  let failure: string | undefined;
  let failures = 0;
  let refused = 0;
  let closedBytes = 0;
  let port = 0;
  // Aborted when close() gives up on the open connections: a handshake in progress ends too.
  const stopping = new AbortController();
  const server: Server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (accepted) => {
    const client = { address: accepted.remoteAddress ?? '', port: accepted.remotePort ?? 0 };
    const uid = ownerOf(client, { address: RELAY_HOST, port });
    if (uid === undefined || !allowed.has(uid)) {
      refused++;
      log.warn(
        `Refused a local connection from ${client.address}:${client.port}: ${uid === undefined ? 'its owner cannot be told' : `it belongs to uid ${uid}, not to this SST's user`}`,
      );
      accepted.destroy();
      return;
    }
    const socket = adoptWithStaticBuffer(accepted);
    socket.setNoDelay(true);
    const done = runConnector(spec, { stdin: socket, stdout: socket }, limiter, sharedTls, stopping.signal)
      .then(
        (info) => finished.push(info),
        (error: unknown) => {
          failure = (error as Error).message;
          failures++;
          log.error(`Connection to the joiner failed: ${failure}`);
          socket.destroy();
        },
      )
      .finally(() => {
        closedBytes += socket.bytesRead + socket.bytesWritten;
        open.delete(socket);
      });
    open.set(socket, done);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: RELAY_HOST, port: opts.port ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    log.warn(
      `No relay (cannot listen on ${RELAY_HOST}: ${(error as Error).message}): each rsync connection starts its own connector`,
    );
    return undefined;
  }
  server.on('error', (error) => log.error(`Relay error: ${error.message}`));
  const bound = server.address();
  port = typeof bound === 'object' && bound !== null ? bound.port : 0;
  log.info(`Relay listening on ${RELAY_HOST}:${port} for uid ${[...allowed].join(', ')}`);
  return {
    host: RELAY_HOST,
    port,
    sessions: () => [...finished],
    bytes: () => closedBytes + [...open.keys()].reduce((sum, s) => sum + s.bytesRead + s.bytesWritten, 0),
    lastError: () => failure,
    failures: () => failures,
    closed: () => finished.length + failures,
    refused: () => refused,
    close: async (graceMs?: number) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // rsync exits once the joiner acknowledged its data, a moment before the TLS connection has wound down:
      // let open connections finish (their figures belong in the summary) before ending what is left.
      // Not unref'd: a connection stuck with no socket reading would otherwise let the process exit mid-close.
      let graceTimer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>(
        (resolve) => (graceTimer = setTimeout(resolve, graceMs ?? opts.closeGraceMs ?? 5000)),
      );
      await Promise.race([Promise.allSettled(open.values()), grace]);
      clearTimeout(graceTimer);
      stopping.abort();
      for (const socket of open.keys()) socket.destroy();
      await Promise.allSettled(open.values());
      await closed;
    },
  };
}
