/**
 * The TLS side of the joiner's listener, not bound to any port: a tls.Server whose 'connection' event takes
 * accepted sockets (from its own listen(), or handed over by the listener process to a worker). It refuses what
 * fails the handshake or the peer check (saying why), and gives every verified connection to serveSession.
 */
import type { Socket } from 'node:net';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { logger } from '../log.js';
import { closedBeforeHandshake, describeHandshakeError, serverOptions, verifyPeer } from '../tls/context.js';
import { LIVENESS_ALPN, LivenessLink } from './liveness.js';
import {
  RSYNC_INPUT_ENV,
  type ListenerStats,
  type LivenessEnd,
  type ServiceOptions,
  type SessionInfo,
} from './listenerTypes.js';
import { serveSession } from './rsyncSession.js';
import { checkBinding } from './sstBinding.js';
import { sessionCounters } from './sessionCounters.js';

const log = logger('listener');

/** A TLS service: sockets go in through `server`'s 'connection' event (emitted, or by listening). */
export interface TlsService {
  server: Server;
  stats(): ListenerStats;
  /** Says `done` or `fail` on every liveness link and ends it. */
  endLiveness(end: LivenessEnd): void;
  /** Ends every connection (rsync children TERM, then KILL) and resolves when all are gone. */
  close(): Promise<void>;
}

function endLink(link: LivenessLink, end: LivenessEnd): void {
  if (end.how === 'done') link.finish();
  else link.fail(end.reason);
}

function peerOf(socket: Socket): string {
  const host = socket.remoteAddress ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}

/** Builds the TLS service; sockets are fed to `service.server` by emitting 'connection' or by listening. */
export function createTlsService(opts: ServiceOptions): TlsService {
  const { policy, logDir } = opts;
  const counters = sessionCounters();
  const ctx = {
    rsync: opts.rsync,
    idleTimeoutMs: opts.idleTimeoutMs,
    killAfterMs: opts.killAfterMs ?? 3000,
    verify: policy.verify,
    pipeInput: process.env[RSYNC_INPUT_ENV] === 'pipe',
    counters,
  };
  let logFiles = 0;
  const peers = new WeakMap<object, string>();
  const links = new Set<LivenessLink>();
  let livenessEnd: LivenessEnd | undefined;

  const report = (info: SessionInfo): void => {
    counters.reported(info);
    try {
      opts.onSession?.(info);
    } catch (error) {
      log.error(`onSession callback failed: ${(error as Error).message}`);
    }
  };

  const server = createServer({
    ...serverOptions(opts.credentials, policy),
    // Not half-open until the handshake is done: a half-open TLS socket ignores a FIN that comes before the
    // handshake, so a port check or a donor that gave up held its connection until the handshake timeout and was
    // then logged as a stalled handshake. Each session turns half-open in 'secureConnection' (the donor may end
    // its direction while rsync's replies still flow). Handed-over sockets (workers) come closed-on-FIN anyway.
    allowHalfOpen: false,
    noDelay: true,
    keepAlive: true,
    keepAliveInitialDelay: 30_000,
    // Selected only when a client offers it (our donor's liveness link); a client that offers no ALPN, as socat
    // and our own data connections, sees no ALPN extension in the answer: the wire stays the original's.
    ...(opts.liveness !== undefined && opts.binding !== undefined && { ALPNProtocols: [LIVENESS_ALPN] }),
  });
  server.on('connection', (socket: Socket) => {
    // Handed-over sockets skip net.Server's own option handling: set what createServer would have.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    counters.opened(socket);
    peers.set(socket, peerOf(socket));
  });
  server.on('tlsClientError', (error: Error & { code?: string }, socket: TLSSocket) => {
    // The TCP socket under the TLS one (node keeps it as _parent) knew its peer; by now both may be destroyed.
    const under = (socket as unknown as { _parent?: object })._parent;
    const peer =
      (under !== undefined ? peers.get(under) : undefined) ??
      (socket.remoteAddress === undefined ? 'unknown peer' : peerOf(socket));
    // node:tls leaves the socket open after 'tlsClientError' (a handshake timeout among others): drop it, or a
    // client that stalls its handshake holds a connection and a file descriptor until the listener closes.
    socket.destroy();
    // A client that sent its hello and then hung up, or answered with an alert, was a TLS peer that gave up on
    // us: from a donor that is nearly always our certificate refused (another CA in its tca, or not the name it
    // checks). Say so: "a port check" sent operators looking at load balancers (issue #14).
    const helloRead = ((under as { bytesRead?: number } | undefined)?.bytesRead ?? 0) > 0;
    if (helloRead && (closedBeforeHandshake(error) || /alert/i.test(error.message))) {
      log.warn(
        `Connection from ${peer} ended during the TLS handshake, after its hello: the donor most likely refused ` +
          `this joiner's certificate (is the CA that issued this node's tcert in the donor's tca? does the ` +
          `certificate hold the name the donor checks?) (${error.message})`,
      );
      return;
    }
    if (closedBeforeHandshake(error)) {
      log.info(
        `Connection from ${peer} closed before the TLS handshake: a port check, or a client that gave up`,
      );
      return;
    }
    counters.refused();
    log.warn(`Refused connection from ${peer}: ${describeHandshakeError(error)}`);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    // Read by net and stream code when the end comes, so it holds from here (see allowHalfOpen above).
    socket.allowHalfOpen = true;
    const peer = peers.get(socket) ?? peerOf(socket);
    const started = Date.now();
    const refuse = (message: string, who = ''): void => {
      counters.refused();
      log.warn(`Refused connection from ${peer}${who}: ${message}`);
      report({
        peer,
        protocol: socket.getProtocol() ?? 'unknown',
        cipher: socket.getCipher().standardName,
        bytesIn: 0,
        bytesOut: 0,
        durationMs: Date.now() - started,
        rsyncExit: null,
        error: message,
      });
      socket.destroy();
    };
    let check: ReturnType<typeof verifyPeer>;
    try {
      check = verifyPeer(socket, policy, 'joiner');
    } catch (error) {
      refuse((error as Error).message);
      return;
    }
    if (socket.alpnProtocol === LIVENESS_ALPN && opts.liveness !== undefined && opts.binding !== undefined) {
      // Not a session: the SST's waits count data connections only.
      counters.forget(((socket as unknown as { _parent?: Socket })._parent ?? socket) as Socket);
      counters.forget(socket);
      const liveness = opts.liveness;
      // Always bound: only this SST's donor may tell this joiner it is alive.
      void checkBinding(socket, { ...opts.binding, required: true }, policy.handshakeTimeoutMs).then(
        (verdict) => {
          if (verdict.kind !== 'bound') {
            refuse(
              verdict.kind === 'refused' ? verdict.reason : 'a liveness link needs a binding proof',
              ` (liveness link)`,
            );
            return;
          }
          const link = new LivenessLink(socket, {
            boundMs: liveness.boundMs,
            peerRole: 'donor',
            peer,
            onEvent: liveness.onEvent,
          });
          links.add(link);
          socket.once('close', () => links.delete(link));
          if (livenessEnd !== undefined) endLink(link, livenessEnd);
          else liveness.onEvent({ kind: 'up' });
        },
      );
      return;
    }
    const admit = (binding?: SessionInfo['binding']): void => {
      counters.begin(socket, async (session) => {
        const logFile = join(logDir, `${++logFiles}.log`);
        report(await serveSession({ socket, peer, check, started, logFile, binding }, ctx, session));
      });
    };
    if (opts.binding === undefined) return admit();
    // Before rsync starts: a donor of another SST attempt never reaches a daemon, let alone the datadir.
    void checkBinding(socket, opts.binding, policy.handshakeTimeoutMs).then((verdict) => {
      if (verdict.kind !== 'refused') admit(verdict.kind);
      else refuse(verdict.reason, ` (donor ${check.identity?.subject ?? 'without a certificate'})`);
    });
  });

  return {
    server,
    stats: () => counters.stats(),
    endLiveness(end) {
      livenessEnd ??= end;
      for (const link of links) endLink(link, end);
    },
    close: () => {
      for (const link of links) link.destroy();
      return counters.endAll();
    },
  };
}
