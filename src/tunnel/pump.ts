/**
 * The byte pump between two duplex ends (TLS socket ⇄ rsync's stdio, or rsync's pipe ⇄ TLS socket), in the
 * manner of ghostunnel's proxy.fuse (style.md habit 5): each direction half-closes its destination when its
 * source ends (for TLS: close_notify, with `allowHalfOpen`); once one direction is done, a close deadline reaps
 * a silent peer; an idle timeout counts bytes actually moved; ECONNRESET/EPIPE are routine closes; any other
 * error ends both sides. Backpressure is end to end, with a 1 MiB allowance per direction: waiting for Node's
 * 16 KiB default highWaterMark paused and resumed the source once per 64 KiB read (tunnel-performance.md 3).
 */
import type { Readable, Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { SstTimeoutError } from '../errors.js';
import { BufferPool } from './bufferPool.js';
import { staticSource } from './staticRead.js';
import { stageTlsReads } from './tlsStagedRead.js';

/** One side: where its bytes come from and where bytes for it go (the same object for a socket). */
export interface PumpEnd {
  readable: Readable;
  writable: Writable;
}

/** Limits; the clock is injectable. */
export interface PumpOptions {
  /** End both sides when no byte moved for this long; 0 = never. */
  idleTimeoutMs: number;
  /** After one direction ended, end both when the other moved nothing for this long. */
  closeTimeoutMs?: number;
  /**
   * When this direction has delivered everything, end the other one at once (its source is dropped, its
   * destination half-closed). rsync waits for its remote shell to exit before it closes the shell's stdin, as
   * ssh exits when the remote command is done; the connector sets 'aToB' (joiner to rsync) for that.
   */
  endAfter?: 'aToB' | 'bToA';
  /**
   * Batch this direction's writes until the event loop's check phase: the 16 KiB chunks TLS decrypts from one
   * socket read then leave in one writev instead of one write each, and the reader is woken once.
   */
  coalesce?: 'aToB' | 'bToA';
  /**
   * When this direction's destination is a stream of its own (not the other side's socket: rsync's stdin pipe or
   * loopback socket) and fails with EPIPE or ECONNRESET, keep reading the source and drop its bytes until it
   * ends, instead of ending both sides at once. The
   * joiner's rsync daemon exits after a failed write (disk full) with its error message still on its way to the
   * donor: destroying the TLS socket over the donor's unread data resets the connection, and the donor's rsync
   * then loses that message and logs only "Connection reset by peer". Dropped bytes are not activity: the close
   * deadline still bounds a donor that keeps sending.
   */
  drainAfterEpipe?: 'aToB' | 'bToA';
  /**
   * Cap this direction's rate ([sst] rlimit on the donor's payload): after each chunk the source pauses for as
   * long as the limiter says. One limiter may be shared by many pumps (the relay's connections).
   */
  throttle?: { direction: 'aToB' | 'bToA'; limiter: { take(bytes: number): number } };
  /** Bytes a destination may buffer before its source is paused. */
  bufferLimit?: number;
  /**
   * Only bytes in this direction count as activity for the idle timeout. rsync's receiver keeps sending tiny
   * keep-alive messages to a sender that has stopped, so counting both directions would never see a stall;
   * the donor's payload direction is what must keep moving.
   */
  idleOn?: 'aToB' | 'bToA';
  now?: () => number;
}

/** What moved and how it ended; `error` is absent for a clean or routine close. */
export interface PumpResult {
  aToB: number;
  bToA: number;
  durationMs: number;
  timedOut: boolean;
  /** The close deadline ended a direction that was still open. */
  closeDeadline: boolean;
  error?: Error;
}

/** A running pump. */
export interface Pump {
  done: Promise<PumpResult>;
  /** Live counters, cheap enough to poll. */
  counters(): { aToB: number; bToA: number; lastActivityMs: number };
  /** Ends both sides now (listener shutdown); the error, if any, is reported in the result. */
  abort(error?: Error): void;
}

/** Closes that are the normal end of a connection, not failures (ghostunnel proxy.go isClosedConnectionError). */
const ROUTINE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

/** True for an error that only says the other side went away. */
export function isRoutineClose(error: unknown): boolean {
  return ROUTINE.has(String((error as NodeJS.ErrnoException | undefined)?.code ?? ''));
}

const MiB = 1 << 20;

/**
 * Copies of large static-read chunks waiting in a destination's queue (the relay's reads are 1 MiB at most). A
 * few spares cover one busy connection; small chunks (many small files) are copied into Node's own slab as
 * before, where a 1 MiB pooled buffer would hold a few KiB.
 */
const copyPool = new BufferPool(MiB, 3);
const POOLED_COPY = 256 * 1024;

/** Pumps a ⇄ b until both directions are done or the connection is ended; resolves once every stream closed. */
export function pump(a: PumpEnd, b: PumpEnd, opts: PumpOptions): Pump {
  const now = opts.now ?? Date.now;
  const limit = opts.bufferLimit ?? MiB;
  const closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
  const started = now();
  const streams = [...new Set([a.readable, a.writable, b.readable, b.writable])];
  const state = {
    aToB: 0,
    bToA: 0,
    last: started,
    ended: 0,
    timedOut: false,
    closeDeadline: false,
    finished: false,
  };
  let error: Error | undefined;
  let timer: NodeJS.Timeout | undefined;
  let resolveDone: (result: PumpResult) => void = () => undefined;
  const done = new Promise<PumpResult>((resolve) => (resolveDone = resolve));

  const teardown = (reason?: Error): void => {
    if (reason !== undefined && error === undefined && !isRoutineClose(reason)) error = reason;
    for (const stream of streams) if (!stream.destroyed) stream.destroy();
  };

  // A direction whose destination pipe broke (drainAfterEpipe): its source is read and dropped.
  const draining = { aToB: false, bToA: false };
  const resumeSource = { aToB: (): void => undefined, bToA: (): void => undefined };
  // A direction the rate limit holds: its source stays paused until the timer, whatever 'drain' says.
  const held = { aToB: false, bToA: false };
  const holdTimers = new Set<NodeJS.Timeout>();
  /** After `bytes` went out in direction `key`: true when the rate limit paused its source for a while. */
  const throttled = (key: 'aToB' | 'bToA', bytes: number, dst: Writable): boolean => {
    if (opts.throttle?.direction !== key) return false;
    const waitMs = opts.throttle.limiter.take(bytes);
    if (waitMs <= 0) return false;
    held[key] = true;
    const timer = setTimeout(() => {
      holdTimers.delete(timer);
      held[key] = false;
      // A destination still over its allowance resumes the source itself, on 'drain'.
      if (!state.finished && dst.writableLength < limit) resumeSource[key]();
    }, waitMs);
    holdTimers.add(timer);
    return true;
  };

  const direction = (src: Readable, dst: Writable, key: 'aToB' | 'bToA'): void => {
    const moved = (chunk: Buffer): void => {
      state[key] += chunk.length;
      if (draining[key]) return;
      if (opts.idleOn === undefined || opts.idleOn === key) state.last = now();
    };
    const hook = staticSource(src);
    // Coalesced TLS payload: decrypted records land back to back in staging buffers (tlsStagedRead.ts).
    const staged =
      opts.coalesce === key && src instanceof TLSSocket
        ? stageTlsReads(src, (chunk, release) => {
            moved(chunk);
            if (draining[key]) {
              release();
              return true;
            }
            // The region stays untouched until the write is done; then its buffer is reused.
            const ok = dst.write(chunk, release);
            if (throttled(key, chunk.length, dst)) return false;
            return ok || dst.writableLength < limit;
          })
        : undefined;
    if (staged === undefined && hook !== undefined) {
      hook((chunk) => {
        moved(chunk);
        if (draining[key]) return true;
        // The chunk lives in the source's reused buffer. A TLS socket encrypts (or copies) what reaches its
        // _write before write() returns, so the chunk may be passed as it is when nothing waits in the queue;
        // any other destination (a plain socket keeps a reference until the kernel took it) gets a copy, into
        // a pooled buffer given back once written: fresh 1 MiB copies left to the GC put the relay's RSS past
        // 80 MB in busy runs.
        const inPlace = dst instanceof TLSSocket && dst.writableLength === 0;
        let ok: boolean;
        if (inPlace) ok = dst.write(chunk);
        else if (chunk.length >= POOLED_COPY && chunk.length <= copyPool.size) {
          const copy = copyPool.take();
          chunk.copy(copy);
          ok = dst.write(copy.subarray(0, chunk.length), () => copyPool.give(copy));
        } else ok = dst.write(Buffer.from(chunk));
        if (throttled(key, chunk.length, dst)) return false;
        return ok || dst.writableLength < limit;
      });
    } else if (staged === undefined) {
      let corked = false;
      const uncork = (): void => {
        corked = false;
        dst.uncork();
      };
      src.on('data', (chunk: Buffer) => {
        moved(chunk);
        if (draining[key]) return;
        if (opts.coalesce === key && !corked) {
          corked = true;
          dst.cork();
          setImmediate(uncork);
        }
        // Keep writing past write() === false up to `limit`; 'drain' only fires after write() returned false.
        const ok = dst.write(chunk);
        if (throttled(key, chunk.length, dst) || (!ok && dst.writableLength >= limit)) src.pause();
      });
    }
    resumeSource[key] = staged !== undefined ? () => staged.resume() : () => void src.resume();
    // A source the rate limit holds is resumed by its timer, not by 'drain'.
    dst.on('drain', () => {
      if (!held[key]) resumeSource[key]();
    });
    src.once('end', () => {
      if (!dst.destroyed && !dst.writableEnded) dst.end();
      if (++state.ended === 1) armTimer();
    });
    if (opts.endAfter === key) {
      dst.once('finish', () => {
        const [otherSrc, otherDst] = key === 'aToB' ? [b.readable, a.writable] : [a.readable, b.writable];
        if ((otherSrc as unknown) !== dst && (otherSrc as unknown) !== otherDst) otherSrc.destroy();
        if (!otherDst.destroyed && !otherDst.writableEnded) otherDst.end();
      });
    }
  };

  const armTimer = (): void => {
    clearTimeout(timer);
    if (state.finished) return;
    const idle = opts.idleTimeoutMs > 0 ? opts.idleTimeoutMs : Infinity;
    const deadline = state.ended > 0 ? Math.min(idle, closeTimeoutMs) : idle;
    if (deadline === Infinity) return;
    const wait = Math.max(10, state.last + deadline - now());
    timer = setTimeout(() => {
      if (now() - state.last < deadline) return armTimer();
      if (state.ended > 0 && deadline === closeTimeoutMs) {
        state.closeDeadline = true;
        teardown();
      } else {
        state.timedOut = true;
        teardown(
          new SstTimeoutError(`No data moved through the tunnel for ${Math.round(deadline / 1000)} s`),
        );
      }
    }, wait);
    // Kept ref'd: when both sockets of a stuck connection have stopped reading, this timer is all that still
    // waits; unref'd, the process ran out of work and exited (code 13) with the connection never reaped.
  };

  let open = streams.length;
  // The direction that may drain when `stream` breaks: its destination, when that is a stream of its own.
  const drainsOn = (stream: Readable | Writable): 'aToB' | 'bToA' | undefined => {
    const key = opts.drainAfterEpipe;
    if (key === undefined) return undefined;
    const [dst, sameSide] = key === 'aToB' ? [b.writable, b.readable] : [a.writable, a.readable];
    return stream === dst && (dst as unknown) !== sameSide ? key : undefined;
  };
  for (const stream of streams) {
    stream.on('error', (err: Error) => {
      const key = drainsOn(stream);
      // EPIPE from a pipe; ECONNRESET from a socket whose reader exited with our bytes unread.
      const code = (err as NodeJS.ErrnoException).code;
      if (key !== undefined && (code === 'EPIPE' || code === 'ECONNRESET')) {
        if (!draining[key]) {
          draining[key] = true;
          resumeSource[key]();
        }
        return;
      }
      teardown(err);
    });
    const onClose = (): void => {
      // A source that closes without 'end' (destroyed underneath us) ends the connection.
      if (!state.finished && (stream === a.readable || stream === b.readable) && !stream.readableEnded)
        teardown();
      if (--open > 0) return;
      state.finished = true;
      clearTimeout(timer);
      for (const t of holdTimers) clearTimeout(t);
      resolveDone({
        aToB: state.aToB,
        bToA: state.bToA,
        durationMs: now() - started,
        timedOut: state.timedOut,
        closeDeadline: state.closeDeadline,
        ...(error !== undefined && { error }),
      });
    };
    if (stream.closed || stream.destroyed) queueMicrotask(onClose);
    else stream.once('close', onClose);
  }
  direction(a.readable, b.writable, 'aToB');
  direction(b.readable, a.writable, 'bToA');
  armTimer();

  return {
    done,
    counters: () => ({ aToB: state.aToB, bToA: state.bToA, lastActivityMs: state.last }),
    abort: (reason?: Error) => teardown(reason),
  };
}
