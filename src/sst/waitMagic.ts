/**
 * The joiner's wait for the donor's completion marker, bounded by the connect and idle timeouts (design.md
 * "Bounded everything"). Pure of sockets: it only reads the listener's counters and the filesystem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { SstTimeoutError } from '../errors.js';

/** The listener counters the wait reads. */
export interface ListenerCounters {
  stats(): { sessions: number; active: number; bytesIn: number; bytesOut: number };
}

/** Timeouts of the wait for the donor; the clock is injectable for tests. */
export interface WaitLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  pollMs: number;
  now?: () => number;
}

/**
 * Waits for the magic file. Between connections the connect timeout bounds the wait (the donor may be waiting
 * for FLUSH TABLES WITH READ LOCK); while a connection is open the idle timeout bounds time without bytes.
 */
export async function waitForMagic(
  magicPath: string,
  listener: ListenerCounters,
  limits: WaitLimits,
  signal: AbortSignal,
): Promise<string> {
  const now = limits.now ?? Date.now;
  const readyAt = now();
  let lastChange = readyAt;
  let lastSeen = '';
  for (;;) {
    if (existsSync(magicPath)) return readFileSync(magicPath, 'utf8');
    const stats = listener.stats();
    const seen = `${stats.sessions}/${stats.active}/${stats.bytesIn}/${stats.bytesOut}`;
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastChange = now();
    }
    const quiet = now() - lastChange;
    if (stats.active === 0 && limits.connectTimeoutMs > 0 && quiet > limits.connectTimeoutMs) {
      throw new SstTimeoutError(
        stats.sessions === 0
          ? `No donor connected within ${limits.connectTimeoutMs / 1000} s ([sst] connect-timeout)`
          : `The donor opened no new connection for ${limits.connectTimeoutMs / 1000} s and never sent the completion marker ([sst] connect-timeout)`,
      );
    }
    if (stats.active > 0 && limits.idleTimeoutMs > 0 && quiet > limits.idleTimeoutMs) {
      throw new SstTimeoutError(`No data moved for ${limits.idleTimeoutMs / 1000} s ([sst] idle-timeout)`);
    }
    await sleep(limits.pollMs, undefined, { signal });
  }
}

