/**
 * The donor's long-lived relay: one process per SST holds every TLS connection to the joiner, instead of one
 * Node process per rsync connection (BENCHMARKS.md: a Node start-up costs ~0.3 CPU-s and 0.2-0.3 s of wall
 * time per connection, the largest share of the SST gap to plain rsync). rsync's remote shell becomes a tiny
 * byte forwarder into a Unix socket inside the SST's private 0700 directory, so no other local user can reach
 * it and nothing listens on TCP (the original opened a plaintext localhost port). Each accepted connection is
 * then exactly what `sst-tunnel connect` does: TLS to the joiner, chain and name verified, bytes pumped.
 */
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { logger } from '../log.js';
import { runConnector } from './connector.js';
import type { ConnectorSpec } from './connectorRsh.js';
import type { SessionInfo } from './listener.js';

const log = logger('relay');

/** A running relay: the `--rsh` command for rsync, live figures, and close(). */
export interface DonorRelay {
  /** What rsync gets as `--rsh`. */
  rsh: string;
  socketPath: string;
  /** Finished connections. */
  sessions(): SessionInfo[];
  /** Bytes moved so far in both directions, open connections included (for progress). */
  bytes(): number;
  /** The error of the most recent failed connection, to explain a failed rsync pass. */
  lastError(): string | undefined;
  /** How many connections have failed so far. */
  failures(): number;
  /** Stops accepting, ends open connections, removes the socket. */
  close(): Promise<void>;
}

/**
 * The forwarder rsync runs: socat from the PATH when present (Debian's mariadb-server depends on it).
 * `SST_TUNNEL_FORWARDER=none` turns the relay off (one `sst-tunnel connect` per connection); a path selects one.
 */
export function findForwarder(
  path = process.env.PATH ?? '',
  choice = process.env.SST_TUNNEL_FORWARDER,
): string | undefined {
  if (choice === 'none') return undefined;
  if (choice !== undefined && choice !== '')
    return spawnSync(choice, ['-V'], { stdio: 'ignore' }).status === 0 ? choice : undefined;
  for (const dir of path.split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, 'socat');
    const probe = spawnSync(candidate, ['-V'], { stdio: 'ignore' });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/**
 * The remote-shell command: `sh -c 'exec socat ...' sst` swallows the host and remote command rsync appends
 * (they become the shell's positional parameters). `-t 0`: once the joiner side ends, end at once, as ssh does;
 * rsync only closes its own side after the remote shell exited. Undefined when the path cannot be quoted safely.
 */
export function forwarderRsh(socat: string, socketPath: string): string | undefined {
  if (!/^[\w./-]+$/.test(socketPath) || !/^[\w./-]+$/.test(socat)) return undefined;
  return `sh -c 'exec ${socat} -b 131072 -t 0 - UNIX-CONNECT:${socketPath}' sst-forwarder`;
}

/** Starts the relay in `dir` (private, 0700); undefined when no forwarder is available (use the connector). */
export async function startDonorRelay(spec: ConnectorSpec, dir: string): Promise<DonorRelay | undefined> {
  const socat = findForwarder();
  const socketPath = join(dir, 'relay.sock');
  const rsh = socat === undefined ? undefined : forwarderRsh(socat, socketPath);
  if (rsh === undefined) {
    log.info(
      'No relay (no socat on PATH, SST_TUNNEL_FORWARDER=none, or an unquotable temp path): each rsync connection starts its own connector',
    );
    return undefined;
  }
  const finished: SessionInfo[] = [];
  const open = new Set<Socket>();
  let failure: string | undefined;
  let failures = 0;
  let closedBytes = 0;
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket);
    socket.setNoDelay?.(true);
    runConnector(spec, { stdin: socket, stdout: socket })
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
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    rsh,
    socketPath,
    sessions: () => [...finished],
    bytes: () => closedBytes + [...open].reduce((sum, s) => sum + s.bytesRead + s.bytesWritten, 0),
    lastError: () => failure,
    failures: () => failures,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
