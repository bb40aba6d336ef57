/**
 * What the joiner's listener takes and reports, shared by the in-process listener (listener.ts), its TLS service
 * (tlsService.ts), the worker pool and the workers: a module below all of them, so none imports another for a type.
 */
import type { LivenessEvent } from './liveness.js';
import type { JoinerBinding } from './sstBinding.js';
import type { Credentials } from '../tls/credentials.js';
import type { TlsPolicy } from '../tls/context.js';
import type { IdentityMatch, PeerIdentity } from '../tls/identity.js';

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
  /**
   * Accept our donor's liveness link (liveness.ts) with this bound; needs `binding` (the link proves the token).
   * Without it the listener offers no ALPN and a liveness connection is refused like any stranger.
   */
  liveness?: LivenessOptions;
}

/** The joiner's side of the liveness link: the bound, and where its events go. */
export interface LivenessOptions {
  boundMs: number;
  onEvent: (event: LivenessEvent) => void;
}

/** How the joiner ends its liveness links: its part is done (the marker arrived), or it gives the SST up. */
export type LivenessEnd = { how: 'done' } | { how: 'fail'; reason: string };

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
  /** Tells the donor over the liveness link (if one is up) that this side is done or gives up. */
  endLiveness(end: LivenessEnd): void;
  /** Stops accepting, ends rsync children (TERM, then KILL), resolves when all are gone and the port is free. */
  close(): Promise<void>;
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
export type ServiceOptions = Omit<
  ListenerOptions,
  'host' | 'port' | 'workers' | 'workerEntry' | 'liveness'
> & {
  liveness?: LivenessOptions;
  /** The rsync daemons' private log directory. */
  logDir: string;
};

/** `SST_TUNNEL_RSYNC_INPUT=pipe`: feed rsync through Node's socketpair as before (an escape hatch, and the bench's A/B). */
export const RSYNC_INPUT_ENV = 'SST_TUNNEL_RSYNC_INPUT';
