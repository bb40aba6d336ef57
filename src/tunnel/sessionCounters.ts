/**
 * The counters of a TLS service (tlsService.ts): TCP connections still open, sessions live and done, refusals,
 * bytes both ways and the last activity, summed over ended sessions and the live pumps. The SST's progress line
 * and its idle and end-of-transfer timeouts read these (through Listener.stats), so they must count each byte
 * once: a session's bytes move from its live pump to the totals in one step (settle).
 */
import type { Socket } from 'node:net';
import type { ListenerStats, SessionInfo } from './listenerTypes.js';
import type { Pump } from './pump.js';

/** One verified connection while it is served. */
export interface LiveSession {
  /** Set once rsync runs and bytes flow; cleared when its counts have gone to the totals. */
  pump?: Pump;
  /** Ends the session early (close()): aborts the pump and terminates rsync. */
  end?: () => void;
}

/** The counters and the set of live sessions of one TLS service. */
export interface SessionCounters {
  /** Counts a TCP connection as open until it closes. */
  opened(socket: Socket): void;
  /** Stops counting a connection that is no session (the liveness link): the SST's waits must not wait on it. */
  forget(socket: Socket): void;
  /** Counts a refused connection (handshake or peer check). */
  refused(): void;
  /** Counts a verified session and keeps it live until `serve` settles. */
  begin(key: object, serve: (session: LiveSession) => Promise<void>): void;
  /** Moves an ended session's byte counts from its pump to the totals. */
  settle(session: LiveSession, moved: { aToB: number; bToA: number }): void;
  /** Remembers the last session reported. */
  reported(info: SessionInfo): void;
  stats(): ListenerStats;
  /** Ends every live session, drops every open connection, and resolves when every session has settled. */
  endAll(): Promise<void>;
}

/** Fresh counters, all zero. */
export function sessionCounters(): SessionCounters {
  const live = new Map<object, LiveSession & { done: Promise<void> }>();
  const open = new Set<Socket>();
  const totals = { sessions: 0, failures: 0, bytesIn: 0, bytesOut: 0, lastActivityMs: 0 };
  let lastSession: SessionInfo | undefined;
  return {
    opened(socket) {
      open.add(socket);
      socket.once('close', () => open.delete(socket));
    },
    forget(socket) {
      open.delete(socket);
    },
    refused() {
      totals.failures++;
    },
    begin(key, serve) {
      totals.sessions++;
      const session: LiveSession & { done: Promise<void> } = { done: Promise.resolve() };
      live.set(key, session);
      session.done = serve(session).finally(() => live.delete(key));
    },
    settle(session, moved) {
      totals.bytesIn += moved.aToB;
      totals.bytesOut += moved.bToA;
      if (session.pump !== undefined)
        totals.lastActivityMs = Math.max(totals.lastActivityMs, session.pump.counters().lastActivityMs);
      delete session.pump;
    },
    reported(info) {
      lastSession = info;
    },
    stats() {
      let { bytesIn, bytesOut, lastActivityMs } = totals;
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
        open: open.size,
        bytesIn,
        bytesOut,
        lastActivityMs,
        failures: totals.failures,
        ...(lastSession !== undefined && { lastSession }),
      };
    },
    async endAll() {
      for (const session of live.values()) session.end?.();
      for (const socket of open) socket.destroy();
      await Promise.all([...live.values()].map((session) => session.done));
    },
  };
}
