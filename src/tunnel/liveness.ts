/**
 * The liveness link (issue #21 "Silence is not death"): one extra TLS connection that our donor and our joiner
 * hold open for the whole SST and exchange small heartbeats on, so that a dead link or a frozen peer is known
 * within `[sst] liveness-timeout` (default 20 s) while a live but quiet peer is never cut off.
 *
 * Why a heartbeat of our own and not TCP keepalive: Node 20's socket.setKeepAlive sets only TCP_KEEPIDLE;
 * TCP_KEEPINTVL and TCP_KEEPCNT stay at the kernel's 75 s x 9, so a dropped link would be found after minutes,
 * not seconds, and keepalive says nothing of a peer whose kernel answers but whose process is frozen (SIGSTOP,
 * a hung VM). Why not silence on the data connections: rsync is legitimately silent for minutes while it
 * checksums a huge file (delta transfers), so "no bytes" cannot tell quiet from dead; only a beat that does not
 * depend on rsync can. Why a separate connection rather than frames inside the rsync connections: those carry the
 * plain rsync daemon protocol, byte for byte what an original (socat) peer speaks, and must stay so.
 *
 * Who holds one: only two sst-tunnel ends. The donor opens it only to a joiner that advertised SST binding in its
 * ready line (sstBinding.ts: an original joiner never does), offering the ALPN protocol LIVENESS_ALPN; our joiner's
 * TLS server accepts that ALPN, an original socat peer never sees the connection at all, and an older sst-tunnel
 * joiner (binding, no liveness) does not select the ALPN, so the donor closes that connection at once and goes on
 * without a link. The link starts with the binding proof like every donor connection, so only this SST's donor
 * can hold it. Without a link `idle-timeout` stays the bound (RT/socat peers, older sst-tunnel peers).
 *
 * On the wire, after the proof: text lines, each way. `beat` every bound/4; `done` when this side has finished its
 * part (the donor: the completion marker is across; the joiner: the marker has arrived), after which the other side
 * stops judging the link; `fail <reason>` when this side gives the SST up, so the other side logs the real cause.
 * A side ends the SST when nothing arrived for the bound (silence: exit 110, as the original's timeouts) or when
 * the link closes without `done` (the peer died or gave up: after a short grace in which the data connections
 * usually report rsync's own words first).
 */
import type { TLSSocket } from 'node:tls';

/** The ALPN protocol id of the liveness link; never offered on a data connection. */
export const LIVENESS_ALPN = 'sst-tunnel-live/1';

/** What a link reports to its role. */
export type LivenessEvent =
  /** The link is up: the peer holds one too. */
  | { kind: 'up' }
  /** The peer finished its part (`done`): the link is no longer judged. */
  | { kind: 'peer-done' }
  /**
   * The link is lost: `silent` when nothing arrived for the bound (link down, peer frozen or gone), else the
   * peer closed without `done` or sent `fail` (its reason in `peerReason`).
   */
  | { kind: 'lost'; silent: boolean; reason: string; peerReason?: string };

/** One parsed line of the link. */
export type LivenessFrame = { t: 'beat' } | { t: 'done' } | { t: 'fail'; reason: string } | { t: 'unknown' };

/** Parses one line (pure). Unknown lines are ignored by the link: a later version may say more. */
export function parseFrame(line: string): LivenessFrame {
  if (line === 'beat') return { t: 'beat' };
  if (line === 'done') return { t: 'done' };
  if (line.startsWith('fail ')) return { t: 'fail', reason: line.slice(5) };
  return { t: 'unknown' };
}

/** A reason fit for one line of the link: no line breaks, at most 1000 characters. */
export function failFrame(reason: string): string {
  return `fail ${reason.replace(/[\r\n]+/g, ' ').slice(0, 1000)}\n`;
}

/** How often a side beats: four beats per bound, so one or two lost or late ones never end an SST. */
export function beatInterval(boundMs: number): number {
  return Math.max(50, Math.min(5000, Math.floor(boundMs / 4)));
}

/** Options of one link end. */
export interface LinkOptions {
  /** Silence longer than this ends the SST. */
  boundMs: number;
  /** Who is at the other end, for messages: "donor" or "joiner". */
  peerRole: 'donor' | 'joiner';
  /** The peer's address, for messages. */
  peer: string;
  onEvent: (event: LivenessEvent) => void;
  now?: () => number;
}

/** One end of the liveness link on an established (and, on the joiner, bound) TLS socket. */
export class LivenessLink {
  private lastHeard: number;
  private lastTick: number;
  private buffered = '';
  private judging = true;
  private ended = false;
  private readonly timer: NodeJS.Timeout;
  private readonly now: () => number;

  constructor(
    private readonly socket: TLSSocket,
    private readonly opts: LinkOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.lastHeard = this.now();
    this.lastTick = this.lastHeard;
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    // A write to a reset socket errors; the close that follows says what matters.
    socket.on('error', () => undefined);
    socket.once('close', () => this.onClose());
    const interval = beatInterval(opts.boundMs);
    this.timer = setInterval(() => this.tick(interval), interval);
    this.send('beat\n');
    socket.resume();
  }

  /** This side has finished its part: says `done`, stops judging, and ends the connection. */
  finish(): void {
    this.stop('done\n');
  }

  /** This side gives the SST up: tells the peer why (one line) and ends the connection. */
  fail(reason: string): void {
    this.stop(failFrame(reason));
  }

  /** Drops the connection without a word (the listener closing, a test). */
  destroy(): void {
    this.judging = false;
    this.ended = true;
    clearInterval(this.timer);
    this.socket.destroy();
  }

  private stop(last: string): void {
    this.judging = false;
    clearInterval(this.timer);
    if (this.ended) return;
    this.ended = true;
    this.socket.end(last);
    // A peer that never reads (frozen, link down) must not hold the socket: the line is a courtesy.
    setTimeout(() => this.socket.destroy(), 2000).unref();
  }

  private send(line: string): void {
    if (!this.ended && this.socket.writable) this.socket.write(line);
  }

  private tick(interval: number): void {
    const now = this.now();
    const late = now - this.lastTick;
    this.lastTick = now;
    this.send('beat\n');
    if (!this.judging) return;
    // Our own event loop stood still (a long synchronous scan, or this process was frozen): the peer's beats may
    // be waiting unread in the socket. Judge on the next tick, after they have been read.
    if (late > interval * 2) {
      this.lastHeard = Math.max(this.lastHeard, now - interval);
      return;
    }
    const quiet = now - this.lastHeard;
    if (quiet > this.opts.boundMs) {
      this.lost({
        kind: 'lost',
        silent: true,
        reason: `Nothing heard from the ${this.opts.peerRole} ${this.opts.peer} for ${(quiet / 1000).toFixed(1)} s on the liveness link ([sst] liveness-timeout ${this.opts.boundMs / 1000} s): the link is down, or the ${this.opts.peerRole}'s host or process is gone or frozen`,
      });
    }
  }

  private onData(chunk: string): void {
    this.lastHeard = this.now();
    this.buffered += chunk;
    // A peer that sends no line break must not grow the buffer without end.
    if (this.buffered.length > 64 * 1024) this.buffered = this.buffered.slice(-4096);
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const frame = parseFrame(line);
      if (frame.t === 'done') {
        if (this.judging) {
          this.judging = false;
          this.opts.onEvent({ kind: 'peer-done' });
        }
      } else if (frame.t === 'fail') {
        this.lost({
          kind: 'lost',
          silent: false,
          reason: `The ${this.opts.peerRole} ${this.opts.peer} gave the SST up: ${frame.reason}`,
          peerReason: frame.reason,
        });
      }
    }
  }

  private onClose(): void {
    clearInterval(this.timer);
    this.lost({
      kind: 'lost',
      silent: false,
      reason: `The ${this.opts.peerRole} ${this.opts.peer} closed the liveness link without finishing: it stopped or died (its log says why)`,
    });
    this.ended = true;
  }

  private lost(event: LivenessEvent & { kind: 'lost' }): void {
    if (!this.judging) return;
    this.judging = false;
    clearInterval(this.timer);
    this.opts.onEvent(event);
    if (event.silent) this.socket.destroy();
  }
}
