/**
 * The donor's connector: rsync's remote shell. It opens TLS to the joiner, verifies chain and name with socat's
 * semantics before a single byte of rsync's flows, then pumps its stdin/stdout ⇄ TLS. No local TCP port exists
 * (the original opened a plaintext listener on localhost that any local user could use, peers.md "Local plaintext").
 */
import { fstatSync, mkdirSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { dirname } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { connect, createSecureContext, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { PeerVerificationError, SstTimeoutError, TransferError } from '../errors.js';
import { logger } from '../log.js';
import { clientOptions, verifyPeer, type TlsPolicy } from '../tls/context.js';
import { loadCredentials } from '../tls/credentials.js';
import type { ConnectorSpec } from './connectorRsh.js';
import type { SessionInfo } from './listenerTypes.js';
import { RateLimiter } from './rateLimit.js';
import { pump } from './pump.js';
import { donorPreamble } from './sstBinding.js';

export { connectorRsh, CONNECTOR_SPEC_ENV, specFromEnv, type ConnectorSpec } from './connectorRsh.js';

const log = logger('connector');

/**
 * Our own sockets on fd 0 and 1 when they are pipes or sockets (rsync uses a socketpair): process.stdout writes
 * synchronously to pipes on Linux (doc/api/process.md "A note on process I/O"), which would block the event loop
 * and with it the idle timeout whenever rsync stops reading.
 */
function ownStdio(): { stdin: Readable; stdout: Writable } {
  const streamy = (fd: number): boolean => {
    const stat = fstatSync(fd);
    return stat.isSocket() || stat.isFIFO();
  };
  return {
    stdin: streamy(0)
      ? new Socket({ fd: 0, readable: true, writable: false, allowHalfOpen: true })
      : process.stdin,
    stdout: streamy(1)
      ? new Socket({ fd: 1, readable: false, writable: true, allowHalfOpen: true })
      : process.stdout,
  };
}

/** `host:port` of the joiner, an IPv6 host in brackets. */
function joinerAddress(spec: ConnectorSpec): string {
  return `${spec.host.includes(':') ? `[${spec.host}]` : spec.host}:${spec.port}`;
}

/** The error of a connection given up because its SST is ending (the relay closing after an abort). */
function abandoned(spec: ConnectorSpec): TransferError {
  return new TransferError(`Connection to the joiner "${joinerAddress(spec)}" abandoned: the SST is ending`);
}

function connectTls(spec: ConnectorSpec, options: ConnectionOptions, stop?: AbortSignal): Promise<TLSSocket> {
  if (stop?.aborted === true) return Promise.reject(abandoned(spec));
  return new Promise((resolve, reject) => {
    const where = `"${joinerAddress(spec)}"`;
    // allowHalfOpen is honoured by tls.connect (lib/_tls_wrap.js passes it to the TLSSocket) but missing from its types.
    const full: ConnectionOptions & {
      allowHalfOpen: boolean;
      noDelay: boolean;
      keepAlive: boolean;
      keepAliveInitialDelay: number;
    } = { ...options, allowHalfOpen: true, noDelay: true, keepAlive: true, keepAliveInitialDelay: 30_000 };
    const socket = connect(full);
    // A handshake towards a frozen or unreachable joiner would hold the ending SST for handshake-timeout.
    const onStop = (): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(abandoned(spec));
    };
    stop?.addEventListener('abort', onStop, { once: true });
    socket.once('close', () => stop?.removeEventListener('abort', onStop));
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new SstTimeoutError(
          `Cannot connect to the joiner ${where}: no TLS handshake within ${spec.policy.handshakeTimeoutMs / 1000} s`,
        ),
      );
    }, spec.policy.handshakeTimeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const alert = /alert|handshake|certificate|wrong version/i.test(error.message);
      const text = `Cannot connect to the joiner ${where}: ${error.message.split('\n')[0] ?? error.code}`;
      reject(
        alert ? new PeerVerificationError(text, { cause: error }) : new TransferError(text, { cause: error }),
      );
    });
  });
}

/** Network errors worth another try: nothing of rsync's stream has been read yet, so a retry is invisible to it. */
const RETRYABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

/** Attempts per connection, a second apart: a network blip at the start of a pass no longer fails the SST. */
export const CONNECT_ATTEMPTS = 4;

/**
 * connectTls, tried again on a network error (a refused or reset connection, an unreachable host) up to
 * CONNECT_ATTEMPTS times in all, as PXC's donor does with socat `retry=`. Never on a certificate or identity
 * refusal, nor on a handshake timeout (that already waited handshake-timeout): those would fail the same way.
 */
async function connectWithRetry(
  spec: ConnectorSpec,
  options: ConnectionOptions,
  stop?: AbortSignal,
  retryDelayMs = 1000,
): Promise<TLSSocket> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await connectTls(spec, options, stop);
    } catch (error) {
      const code = ((error as { cause?: NodeJS.ErrnoException }).cause ?? {}).code ?? '';
      if (
        attempt >= CONNECT_ATTEMPTS ||
        error instanceof PeerVerificationError ||
        !RETRYABLE.has(code) ||
        stop?.aborted === true
      )
        throw error;
      log.warn(
        `${(error as Error).message}: trying again in ${retryDelayMs / 1000} s (attempt ${attempt + 1} of ${CONNECT_ATTEMPTS})`,
      );
      await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
    }
  }
}

/**
 * Whether something accepts TCP connections on host:port: false on "connection refused", undefined when the
 * answer is unclear (a timeout, any other error). The probe closes at once and sends no byte; our listener logs
 * such a connection as a port check.
 */
export function listens(host: string, port: number, timeoutMs: number): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    const probe = new Socket();
    const done = (answer: boolean | undefined): void => {
      clearTimeout(timer);
      probe.destroy();
      resolve(answer);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    probe.once('connect', () => done(true));
    probe.once('error', (error: NodeJS.ErrnoException) =>
      done(error.code === 'ECONNREFUSED' ? false : undefined),
    );
    probe.connect(port, host);
  });
}

function writeReport(path: string | undefined, info: SessionInfo): void {
  if (path === undefined) return;
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    writeFileSync(path, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  } catch (error) {
    log.warn(`Cannot write the connection report "${path}": ${(error as Error).message}`);
  }
}

/** The TLS side of a connection to the joiner, made from the credential files: policy and connect options. */
export interface ConnectorTls {
  policy: TlsPolicy;
  options: ConnectionOptions;
}

/**
 * Reads the credentials and builds one SecureContext for connections to the joiner. The relay makes this once
 * per SST and every connection shares it: made per connection it cost each one a read of three files and a
 * parse of the key, certificates and CA store (~1.5 ms of CPU, a fifth of a small connection's setup on the
 * donor), and a file replaced mid-SST could fail one pass while the others went through.
 */
export function prepareConnectorTls(spec: ConnectorSpec): ConnectorTls {
  const creds = loadCredentials(spec.paths);
  const policy = { ...spec.policy, expectedName: spec.policy.expectedName ?? spec.host };
  if (!policy.verify)
    log.warn(
      `Peer verification is off (sockopt verify=0): the joiner ${joinerAddress(spec)} is not authenticated`,
    );
  const options = clientOptions(creds, policy, spec.host, spec.port);
  // With secureContext set, tls.connect ignores the context fields (key, cert, ca, ciphers, versions).
  return { policy, options: { ...options, secureContext: createSecureContext(options) } };
}

/** Runs one connection to the end; resolves with its figures, rejects (after writing the report) on any failure. */
export async function runConnector(
  spec: ConnectorSpec,
  io?: { stdin: NodeJS.ReadableStream; stdout: NodeJS.WritableStream },
  // The relay passes the one limiter all its connections share; a lone connector makes its own.
  limiter: RateLimiter | undefined = spec.rateLimit === undefined
    ? undefined
    : new RateLimiter(spec.rateLimit),
  // The relay passes its once-per-SST TLS setup; a lone connector makes its own.
  tls: () => ConnectorTls = () => prepareConnectorTls(spec),
  // The relay's close: ends a connection still being made, or still open, at once.
  stop?: AbortSignal,
): Promise<SessionInfo> {
  const started = Date.now();
  const peer = joinerAddress(spec);
  const info: SessionInfo = {
    peer,
    protocol: 'none',
    cipher: 'none',
    bytesIn: 0,
    bytesOut: 0,
    durationMs: 0,
    rsyncExit: null,
  };
  try {
    const { policy, options } = tls();
    const socket = await connectWithRetry(spec, options, stop);
    if (stop !== undefined) {
      const onStop = (): void => void socket.destroy();
      stop.addEventListener('abort', onStop, { once: true });
      socket.once('close', () => stop.removeEventListener('abort', onStop));
    }
    socket.disableRenegotiation();
    let check: ReturnType<typeof verifyPeer>;
    try {
      check = verifyPeer(socket, policy, 'donor');
    } catch (error) {
      socket.destroy();
      throw error;
    }
    // Before any byte of rsync's: the joiner starts rsync only for a connection of its own SST.
    if (spec.binding !== undefined) socket.write(donorPreamble(socket, spec.binding));
    Object.assign(info, { protocol: check.protocol, cipher: check.cipher });
    if (check.identity !== undefined) info.identity = check.identity;
    if (check.match !== undefined) info.match = check.match;
    log.debug(
      `Connected to the joiner ${peer}: ${check.protocol} ${check.cipher}${check.match ? `, verified by ${check.match.field} "${check.match.value}"` : ''}`,
    );
    const { stdin, stdout } =
      io === undefined ? ownStdio() : { stdin: io.stdin as Readable, stdout: io.stdout as Writable };
    const p = pump(
      { readable: socket, writable: socket },
      { readable: stdin, writable: stdout },
      // bToA is the donor's payload (rsync → joiner): only it proves the transfer is alive.
      {
        idleTimeoutMs: spec.idleTimeoutMs,
        endAfter: 'aToB',
        idleOn: 'bToA',
        ...(limiter !== undefined && { throttle: { direction: 'bToA' as const, limiter } }),
      },
    );
    const moved = await p.done;
    Object.assign(info, { bytesIn: moved.aToB, bytesOut: moved.bToA });
    if (moved.error !== undefined) throw moved.error;
    if (moved.aToB === 0) {
      // An rsync daemon always greets first. Under TLS 1.3 the joiner checks our certificate after the handshake
      // and drops the connection without an alert, so silence then a close means it refused us, unless the joiner
      // died in that instant: then nothing listens on its port any more, and blaming our certificate would send
      // the operator the wrong way.
      if ((await listens(spec.host, spec.port, 1000)) === false) {
        throw new TransferError(
          `The joiner ${peer} accepted this donor's TLS connection, then closed it and no longer listens: it stopped or died (its log says why)`,
        );
      }
      throw new PeerVerificationError(
        `The joiner ${peer} closed the connection without a byte after the TLS handshake: it most likely refused this donor's certificate${spec.binding !== undefined ? " or its proof of this SST's token" : ''} (its log says why: chain, allowed-donors${spec.binding !== undefined ? ', SST binding' : ''})`,
      );
    }
    return info;
  } catch (error) {
    info.error = (error as Error).message;
    throw error;
  } finally {
    info.durationMs = Date.now() - started;
    writeReport(spec.reportFile, info);
  }
}
