/**
 * The joiner's TLS listener (design.md "The flow"): every connection that passes verifyPeer gets its own
 * `rsync --server --daemon` on its stdio, inetd style, so nothing ever listens in plaintext. One log line per
 * connection; refusals say why; close() leaves no child and no bound port behind.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { logger } from '../log.js';
import { startChild } from '../rsync/child.js';
import type { Credentials } from '../tls/credentials.js';
import {
  closedBeforeHandshake,
  describeHandshakeError,
  serverOptions,
  verifyPeer,
  type TlsPolicy,
} from '../tls/context.js';
import type { IdentityMatch, PeerIdentity } from '../tls/identity.js';
import { listenError } from './listenError.js';
import { loopbackPair } from './loopbackPair.js';
import { pump, type Pump } from './pump.js';
import { checkBinding, type JoinerBinding } from './sstBinding.js';

/** What the listener needs. */
export interface ListenerOptions {
  /** Literal address to bind; IPv6 without brackets. */
  host: string;
  port: number;
  credentials: Credentials;
  policy: TlsPolicy;
  rsync: { binary: string; configPath: string };
  idleTimeoutMs: number;
  onSession?: (s: SessionInfo) => void;
  /** Time between SIGTERM and SIGKILL for rsync children; time rsync gets to exit after its input ended. */
  killAfterMs?: number;
  /** Where the rsync daemons' private log directory goes ([sst] tmpdir; default the system temp dir). */
  tmpdir?: string;
  /**
   * Worker processes that do the TLS and rsync work of connections (0: all in this process). One Node thread
   * decrypts at about 0.5 GiB/s; with workers, parallel rsync connections spread over cores.
   */
  workers?: number;
  /** The CLI script a worker runs (`<entry> listener-worker`); default this process's own script. */
  workerEntry?: string;
  /** This SST's token (sstBinding.ts): each connection must prove it before rsync starts. */
  binding?: JoinerBinding;
}

/** One connection, as logged at its end. */
export interface SessionInfo {
  peer: string;
  identity?: PeerIdentity;
  match?: IdentityMatch;
  protocol: string;
  cipher: string;
  /** From the peer (the donor's data on the joiner). */
  bytesIn: number;
  bytesOut: number;
  durationMs: number;
  rsyncExit: number | null;
  /** rsync's first error line on this connection, e.g. `rsync: [receiver] write failed on "..." ...: No space left on device (28)`. */
  rsyncMessage?: string;
  error?: string;
  /** With a binding: whether the donor proved this SST's token, or sent plain rsync (an original donor). */
  binding?: 'bound' | 'unbound';
}

/** A running listener. */
export interface Listener {
  address: { host: string; port: number };
  stats(): ListenerStats;
  /** Stops accepting, ends rsync children (TERM, then KILL), resolves when all are gone and the port is free. */
  close(): Promise<void>;
}

const log = logger('listener');

/** rsync's daemon log prefix: `2026/11/22 07:09:27 [9529] `. */
const RSYNC_LOG_PREFIX = /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d \[\d+\] /;

/**
 * Logs the rsync daemon's own log file for one connection. Lines the daemon already wrote to stderr (logged as they
 * came) go to debug: rsync writes its errors to both, and each should be read once.
 */
function forwardRsyncLog(path: string, peer: string, alreadyLogged: ReadonlySet<string>): string[] {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
    rmSync(path, { force: true });
  } catch {
    return [];
  }
  const lines = text
    .split('\n')
    .map((l) => l.replace(RSYNC_LOG_PREFIX, ''))
    .filter(Boolean);
  for (const line of lines) {
    if (!alreadyLogged.has(line) && /error|fail|refus|denied|unknown module|warning/i.test(line))
      log.warn(`rsync daemon (${peer}): ${line}`);
    else log.debug(`rsync daemon (${peer}): ${line}`);
  }
  return lines;
}

/**
 * rsync's own words for what went wrong: the first `rsync: ...` line (the cause), else the first
 * `rsync error: ... (code N)` summary. The daemon writes its errors to stderr, or only to its log file and the
 * donor when the donor asked for them in the protocol stream (--no-msgs2stderr).
 */
export function rsyncCause(lines: readonly string[]): string | undefined {
  return lines.find((l) => l.startsWith('rsync: ')) ?? lines.find((l) => l.startsWith('rsync error: '));
}

function peerOf(socket: Socket): string {
  const host = socket.remoteAddress ?? 'unknown';
  return `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
}

/** The counters a listener reports (summed over workers when it has them). */
export interface ListenerStats {
  sessions: number;
  active: number;
  /** TCP connections not closed yet: handshakes, live sessions, and ended sessions whose peer has not closed. */
  open: number;
  bytesIn: number;
  bytesOut: number;
  lastActivityMs: number;
  lastSession?: SessionInfo;
  failures: number;
}

/** What a TLS service needs: the listener's options without where it listens. */
export type ServiceOptions = Omit<ListenerOptions, 'host' | 'port' | 'workers' | 'workerEntry'> & {
  /** The rsync daemons' private log directory. */
  logDir: string;
};

/**
 * The TLS side of the listener, not bound to any port: a tls.Server whose 'connection' event takes accepted
 * sockets (from its own listen(), or handed over by the listener process to a worker), verifies the peer, runs
 * rsync per connection and keeps the counters.
 */
export interface TlsService {
  server: Server;
  stats(): ListenerStats;
  /** Ends every connection (rsync children TERM, then KILL) and resolves when all are gone. */
  close(): Promise<void>;
}

/** `SST_TUNNEL_RSYNC_INPUT=pipe`: feed rsync through Node's socketpair as before (an escape hatch, and the bench's A/B). */
export const RSYNC_INPUT_ENV = 'SST_TUNNEL_RSYNC_INPUT';

/** Builds the TLS service; sockets are fed to `service.server` by emitting 'connection' or by listening. */
export function createTlsService(opts: ServiceOptions): TlsService {
  const { policy, logDir } = opts;
  const pipeInput = process.env[RSYNC_INPUT_ENV] === 'pipe';
  const killAfterMs = opts.killAfterMs ?? 3000;
  const live = new Map<TLSSocket, { pump?: Pump; end?: () => void; done: Promise<void> }>();
  const raw = new Set<Socket>();
  const totals = { sessions: 0, failures: 0, bytesIn: 0, bytesOut: 0, lastActivityMs: 0, counter: 0 };
  let lastSession: SessionInfo | undefined;
  const peers = new WeakMap<object, string>();

  const report = (info: SessionInfo): void => {
    lastSession = info;
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
  });
  server.on('connection', (socket: Socket) => {
    // Handed-over sockets skip net.Server's own option handling: set what createServer would have.
    socket.setNoDelay(true);
    socket.setKeepAlive(true, 30_000);
    raw.add(socket);
    peers.set(socket, peerOf(socket));
    socket.once('close', () => raw.delete(socket));
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
    if (closedBeforeHandshake(error)) {
      log.info(
        `Connection from ${peer} closed before the TLS handshake: a port check, or a client that gave up`,
      );
      return;
    }
    totals.failures++;
    log.warn(`Refused connection from ${peer}: ${describeHandshakeError(error)}`);
  });
  server.on('secureConnection', (socket: TLSSocket) => {
    // Read by net and stream code when the end comes, so it holds from here (see allowHalfOpen above).
    socket.allowHalfOpen = true;
    const peer = peers.get(socket) ?? peerOf(socket);
    const started = Date.now();
    const refuse = (message: string, who = ''): void => {
      totals.failures++;
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
    const admit = (binding?: SessionInfo['binding']): void => {
      totals.sessions++;
      const entry: { pump?: Pump; end?: () => void; done: Promise<void> } = { done: Promise.resolve() };
      live.set(socket, entry);
      entry.done = serve(socket, peer, check, started, entry, binding).finally(() => live.delete(socket));
    };
    if (opts.binding === undefined) return admit();
    // Before rsync starts: a donor of another SST attempt never reaches a daemon, let alone the datadir.
    void checkBinding(socket, opts.binding, policy.handshakeTimeoutMs).then((verdict) => {
      if (verdict.kind !== 'refused') admit(verdict.kind);
      else refuse(verdict.reason, ` (donor ${check.identity?.subject ?? 'without a certificate'})`);
    });
  });

  const serve = async (
    socket: TLSSocket,
    peer: string,
    check: ReturnType<typeof verifyPeer>,
    started: number,
    entry: { pump?: Pump; end?: () => void },
    binding?: SessionInfo['binding'],
  ): Promise<void> => {
    const logFile = join(logDir, `${++totals.counter}.log`);
    const info: SessionInfo = {
      peer,
      protocol: check.protocol,
      cipher: check.cipher,
      bytesIn: 0,
      bytesOut: 0,
      durationMs: 0,
      rsyncExit: null,
    };
    if (check.identity !== undefined) info.identity = check.identity;
    if (check.match !== undefined) info.match = check.match;
    if (binding !== undefined) info.binding = binding;
    const stderrLines: string[] = [];
    let logLines: string[] = [];
    // rsync's stdin: one end of a loopback TCP pair (deep kernel buffers, loopbackPair.ts), else a pipe.
    const pair = !pipeInput
      ? await loopbackPair().catch((error: unknown) => {
          log.debug(`No loopback pair for rsync's input (${(error as Error).message}): using a pipe`);
          return undefined;
        })
      : undefined;
    try {
      const child = await startChild(
        opts.rsync.binary,
        ['--server', '--daemon', `--config=${opts.rsync.configPath}`, `--dparam=log file=${logFile}`, '.'],
        {
          stdio: [pair?.theirs ?? 'pipe', 'pipe', 'pipe'],
          killAfterMs,
          onStderrLine: (line) => {
            log.warn(`rsync (${peer}): ${line}`);
            stderrLines.push(line);
          },
        },
      );
      // rsync holds its own copy of that end now.
      pair?.theirs.destroy();
      const stdout = child.process.stdout;
      const stdin = pair?.ours ?? child.process.stdin;
      if (stdout === null || stdin === null) throw new Error('rsync was started without pipes');
      // Nothing comes back on rsync's stdin but its end: read it, so that the end (or a reset) is seen.
      if (pair !== undefined) pair.ours.resume();
      const p = pump(
        { readable: socket, writable: socket },
        { readable: stdout, writable: stdin },
        // aToB is the donor's payload (TLS → rsync): only it proves the transfer is alive. Node hands decrypted
        // data over one 16 KiB TLS record at a time: coalesced, rsync gets them in fewer, larger writes.
        {
          idleTimeoutMs: opts.idleTimeoutMs,
          idleOn: 'aToB',
          coalesce: 'aToB',
          drainAfterEpipe: 'aToB',
        },
      );
      entry.pump = p;
      entry.end = () => {
        p.abort();
        void child.terminate();
      };
      const moved = await p.done;
      // rsync's input has ended: it exits on its own; the deadline covers one that does not.
      const timer = setTimeout(() => void child.terminate(), killAfterMs);
      const exit = await child.result;
      clearTimeout(timer);
      Object.assign(info, { bytesIn: moved.aToB, bytesOut: moved.bToA, rsyncExit: exit.exitCode });
      totals.bytesIn += moved.aToB;
      totals.bytesOut += moved.bToA;
      totals.lastActivityMs = Math.max(totals.lastActivityMs, p.counters().lastActivityMs);
      // rsync's own exit code is logged, not judged: the daemon exits 255 after a plain module listing, and a
      // failed transfer is reported (and mapped to an exit code) by the donor's rsync.
      if (moved.error !== undefined) info.error = moved.error.message;
    } catch (error) {
      info.error = (error as Error).message;
      socket.destroy();
      pair?.ours.destroy();
      pair?.theirs.destroy();
    } finally {
      logLines = forwardRsyncLog(logFile, peer, new Set(stderrLines));
    }
    const rsyncMessage = rsyncCause([...stderrLines, ...logLines]);
    if (rsyncMessage !== undefined) info.rsyncMessage = rsyncMessage;
    info.durationMs = Date.now() - started;
    const verified =
      info.match !== undefined
        ? `verified by ${info.match.field} "${info.match.value}"`
        : policy.verify
          ? 'chain verified'
          : 'NOT verified';
    // rsync's daemon exits 255 after serving a module listing (the donor's first connection of every SST): said
    // as what it is, so that a routine listing does not read like a failure in the joiner's log.
    const listing = info.rsyncExit === 255 && logLines.some((l) => l.startsWith('module-list request'));
    const rsyncEnd = listing ? 'module listing' : `rsync exit ${info.rsyncExit ?? 'none'}`;
    const line = `Connection from ${peer} (${verified}) closed: ${info.protocol} ${info.cipher}, in ${info.bytesIn} B, out ${info.bytesOut} B, ${(info.durationMs / 1000).toFixed(2)} s, ${rsyncEnd}`;
    if (info.error === undefined) log.info(line);
    else log.warn(`${line}: ${info.error}`);
    report(info);
  };

  return {
    server,
    stats() {
      let bytesIn = totals.bytesIn;
      let bytesOut = totals.bytesOut;
      let lastActivityMs = totals.lastActivityMs;
      for (const { pump: p } of live.values()) {
        if (p === undefined) continue;
        const c = p.counters();
        bytesIn += c.aToB;
        bytesOut += c.bToA;
        lastActivityMs = Math.max(lastActivityMs, c.lastActivityMs);
      }
      return {
        sessions: totals.sessions,
        active: live.size,
        open: raw.size,
        bytesIn,
        bytesOut,
        lastActivityMs,
        failures: totals.failures,
        ...(lastSession !== undefined && { lastSession }),
      };
    },
    async close() {
      for (const entry of live.values()) entry.end?.();
      for (const socket of raw) socket.destroy();
      await Promise.all([...live.values()].map((entry) => entry.done));
    },
  };
}

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
  let stop: () => Promise<void>;
  try {
    if (workers > 0) {
      const { startWorkerPool } = await import('./listenerPool.js');
      const pool = await startWorkerPool(opts, logDir, workers);
      const server = createNetServer({ pauseOnConnect: true }, (socket) => pool.dispatch(socket));
      port = await bind(server, opts.host, opts.port).catch(async (error: unknown) => {
        await pool.close();
        throw error;
      });
      counters = pool.stats;
      stop = async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        await pool.close();
        await closed;
      };
    } else {
      const service = createTlsService({ ...opts, logDir });
      port = await bind(service.server, opts.host, opts.port);
      counters = service.stats;
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
    close() {
      closing ??= stop().finally(() => rmSync(logDir, { recursive: true, force: true }));
      return closing;
    },
  };
}
