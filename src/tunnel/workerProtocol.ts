/**
 * The IPC messages between the listener process (listenerPool.ts) and its workers (listenerWorker.ts): one module
 * both import, so neither imports the other.
 */
import type { JoinerBinding } from './sstBinding.js';
import type { TlsPolicy } from '../tls/context.js';
import type { CredentialPaths } from '../tls/credentials.js';
import type { LivenessEvent } from './liveness.js';
import type { ListenerStats, LivenessEnd, SessionInfo } from './listenerTypes.js';

/** What the parent sends first. */
export interface WorkerInit {
  paths: CredentialPaths;
  policy: TlsPolicy;
  rsync: { binary: string; configPath: string };
  idleTimeoutMs: number;
  killAfterMs?: number;
  logDir: string;
  binding?: JoinerBinding;
  /** The liveness bound, when the listener accepts our donor's liveness link. */
  livenessMs?: number;
}

/** A worker's counters, plus how many handed-over sockets it has received (the parent counts what it sent). */
export type WorkerStats = ListenerStats & { received: number };

/** Parent to worker. */
export type ParentMessage =
  { t: 'init'; init: WorkerInit } | { t: 'conn' } | { t: 'close' } | { t: 'liveness-end'; end: LivenessEnd };

/** Worker to parent. */
export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'stats'; stats: WorkerStats }
  | { t: 'session'; info: SessionInfo; stats: WorkerStats }
  | { t: 'liveness'; event: LivenessEvent };
