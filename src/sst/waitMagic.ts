/**
 * The joiner's wait for the donor's completion marker, bounded by the connect and idle timeouts (design.md
 * "Bounded everything"). Pure of sockets: it only reads the listener's counters and the filesystem.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SstTimeoutError, TransferError } from '../errors.js';
import { Wakeup } from './wakeup.js';

/** The listener counters the wait reads. */
export interface ListenerCounters {
  stats(): {
    sessions: number;
    active: number;
    bytesIn: number;
    bytesOut: number;
    lastSession?: { error?: string; rsyncExit: number | null };
  };
}

/** Bytes towards the donor below which a quiet period stays quiet (rsync keep-alives are 4-byte messages). */
const KEEPALIVE_NOISE = 1024;

/** rsync's exit code for "timeout in data send/receive" (the daemon's own `timeout`). */
const RSYNC_TIMEOUT_EXIT = 30;

/** True when a connection was ended because nothing moved: the donor's pass has failed, nothing will follow. */
function endedIdle(session: { error?: string; rsyncExit: number | null } | undefined): boolean {
  if (session === undefined) return false;
  return session.rsyncExit === RSYNC_TIMEOUT_EXIT || /No data moved/.test(session.error ?? '');
}

/**
 * rsync exit codes of a joiner daemon whose transfer failed: 11 (file I/O: disk full, I/O error, read-only
 * filesystem), 23 (partial transfer: a file could not be created, written or read) and 12 (the protocol stream
 * broke: the donor's rsync, relay or node died mid-pass). Either the donor's rsync gets the same code or it is
 * gone, so its pass has failed and no completion marker will come: any donor, ours or the original, ends the SST
 * on a failed pass. (The module listing ends with 255, a finished pass with 0, a stalled one with 30.)
 */
const NAMED_FAILURES: ReadonlyMap<number, string> = new Map([
  [11, 'error in file I/O'],
  [12, "the protocol stream broke: the donor's side went away"],
  [23, 'partial transfer'],
]);

/**
 * The error that ends the joiner at once when a connection's rsync daemon ended with one of those codes;
 * undefined for any other ending (those are judged by the wait's timeouts). Without it a full disk here kept
 * the joiner waiting out the connect timeout, which then blamed the donor, and a donor killed mid-pass kept it
 * waiting 300 s (the connect timeout) for a connection that could not come.
 */
export function writeFailure(session: {
  peer: string;
  rsyncExit: number | null;
  rsyncMessage?: string;
}): TransferError | undefined {
  const meaning = session.rsyncExit === null ? undefined : NAMED_FAILURES.get(session.rsyncExit);
  if (meaning === undefined) return undefined;
  const why = session.rsyncMessage ?? 'its log lines above say why';
  return new TransferError(
    `rsync on this node ended with exit ${session.rsyncExit} (${meaning}) on the connection from the donor ${session.peer}: ${why}. The donor's pass has failed with it: no completion marker will come`,
  );
}

/** Timeouts of the wait for the donor; the clock is injectable for tests. */
export interface WaitLimits {
  connectTimeoutMs: number;
  idleTimeoutMs: number;
  /** The idle timeout that holds now (0 = none), when it can change during the wait; default idleTimeoutMs. */
  idleNow?: () => number;
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
  // Nobody wakes a default one: then it is a plain sleep of pollMs.
  wakeup: Wakeup = new Wakeup(),
): Promise<string> {
  const now = limits.now ?? Date.now;
  const readyAt = now();
  let lastChange = readyAt;
  let lastSeen = '';
  let outMark = 0;
  for (;;) {
    if (existsSync(magicPath)) return readFileSync(magicPath, 'utf8');
    const stats = listener.stats();
    // Progress is the donor's bytes (and connections opening or closing). The joiner's rsync daemon sends a few
    // bytes of keep-alive every second or so while it waits: those alone must not hide a stalled donor, so bytes
    // towards the donor count only in amounts larger than keep-alive noise.
    if (stats.bytesOut < outMark || stats.bytesOut - outMark >= KEEPALIVE_NOISE) outMark = stats.bytesOut;
    const seen = `${stats.sessions}/${stats.active}/${stats.bytesIn}/${outMark}`;
    if (seen !== lastSeen) {
      lastSeen = seen;
      lastChange = now();
    }
    const quiet = now() - lastChange;
    const idleMs = limits.idleNow?.() ?? limits.idleTimeoutMs;
    // Name the real cause at once: waiting out the connect timeout would report a missing donor instead.
    if (stats.active === 0 && limits.idleTimeoutMs > 0 && endedIdle(stats.lastSession)) {
      throw new SstTimeoutError(`No data moved for ${limits.idleTimeoutMs / 1000} s ([sst] idle-timeout)`);
    }
    if (stats.active === 0 && limits.connectTimeoutMs > 0 && quiet > limits.connectTimeoutMs) {
      throw new SstTimeoutError(
        stats.sessions === 0
          ? `No donor connected within ${limits.connectTimeoutMs / 1000} s ([sst] connect-timeout)`
          : `The donor opened no new connection for ${limits.connectTimeoutMs / 1000} s and never sent the completion marker ([sst] connect-timeout)`,
      );
    }
    if (stats.active > 0 && idleMs > 0 && quiet > idleMs) {
      throw new SstTimeoutError(`No data moved for ${idleMs / 1000} s ([sst] idle-timeout)`);
    }
    // Woken when a connection ends: the daemon has renamed the marker into place by then.
    await wakeup.sleep(limits.pollMs, signal);
  }
}

/**
 * After the marker arrived, lets the connections still open finish (at most `limitMs`): the daemon renames the
 * marker into place before it sends rsync's closing messages, and cutting that connection made the donor's last
 * pass fail ("connection unexpectedly closed") although the joiner had everything.
 *
 * Every open connection counts, not only the sessions (`active`): with SST binding a connection becomes a
 * session only after its proof was read, and a listener worker reports that at its next tick (250 ms). The
 * marker's whole pass fits in that window on a loaded machine: counted by `active` alone, the listener closed
 * under the marker connection's last rsync messages and the donor failed with exit 12 after the joiner had
 * reported success (seen in CI). `open` counts a socket from its dispatch to its close.
 */
export function waitForSessionsToEnd(
  listener: { stats(): { active: number; open: number } },
  limitMs: number,
  signal: AbortSignal,
  pollMs = 50,
  wakeup: Wakeup = new Wakeup(),
): Promise<boolean> {
  return pollUntil(
    () => {
      const { active, open } = listener.stats();
      return active === 0 && open === 0;
    },
    limitMs,
    signal,
    pollMs,
    wakeup,
  );
}

/**
 * After a failure, lets the donor close its connections (at most `limitMs`) before the listener closes them:
 * closing a socket with the donor's data unread resets the connection, and the donor's rsync then loses the
 * daemon's error message ("No space left on device") and logs only "Connection reset by peer".
 */
export function waitForConnectionsToClose(
  listener: { stats(): { open: number } },
  limitMs: number,
  signal: AbortSignal,
  pollMs = 50,
): Promise<boolean> {
  return pollUntil(() => listener.stats().open === 0, limitMs, signal, pollMs, new Wakeup());
}

/** True once `done()` holds, false when `limitMs` passed first; polls, and wakes early through `wakeup`. */
async function pollUntil(
  done: () => boolean,
  limitMs: number,
  signal: AbortSignal,
  pollMs: number,
  wakeup: Wakeup,
): Promise<boolean> {
  const deadline = Date.now() + limitMs;
  while (!done()) {
    if (Date.now() >= deadline) return false;
    await wakeup.sleep(pollMs, signal);
  }
  return true;
}
