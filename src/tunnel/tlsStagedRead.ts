/**
 * Decrypted TLS data read straight into reusable staging buffers, for the joiner's payload direction
 * (TLS → rsync). By default node:tls hands over every 16 KiB TLS record as a freshly allocated Buffer pushed
 * through the Readable machinery, one JS event each: in a full SST the joiner spent about 30% of its CPU in V8,
 * allocation and stream bookkeeping, more than in AES (perf, BENCHMARKS.md).
 *
 * net.Socket's `onread` option (a buffer generator plus a callback) is the documented way to read into memory of
 * one's own, but node:tls only offers it to client sockets it creates, not to sockets a server accepts. The same
 * machinery exists on every socket, though: each Socket owns the `kBuffer`, `kBufferCb` and `kBufferGen` slots
 * (as symbols, set to null), and the native handle, TLSWrap included, has `useUserBuffer()`. This module fills
 * those slots on an accepted TLSSocket, so TLSWrap copies each decrypted record directly behind the previous
 * one in a staging buffer, and hands the filled region on once per event-loop turn: one copy as before, no
 * allocation per record, one write to rsync per burst. The TLS socket object itself is unchanged (handshake,
 * alerts and errors keep their handlers). Where the slots are not found (another Node), the caller keeps the
 * ordinary path.
 */
import type { TLSSocket } from 'node:tls';
import { BufferPool } from './bufferPool.js';

/** Receives a filled region; `release` must be called once the region was written (the buffer is reused then). */
export type StagedSink = (chunk: Buffer, release: () => void) => boolean;

/** Control of a staged reader: resume after the sink returned false and its destination drained. */
export interface StagedReader {
  resume(): void;
}

/** Staging buffers of every accepted connection in this process: 256 KiB each, up to 8 MiB kept spare. */
export const stagingPool = new BufferPool(256 * 1024, 32);

/** A TLS record is at most 16 KiB of plaintext: a region smaller than this splits it (allowed, only slower). */
const RECORD = 16 * 1024;

interface Slots {
  buffer: symbol;
  callback: symbol;
  generator: symbol;
}

/** The onread slots of a socket, by their descriptions; undefined when this Node does not have them. */
function slotsOf(socket: TLSSocket): Slots | undefined {
  const byName = new Map<string, symbol>();
  for (const s of Object.getOwnPropertySymbols(socket))
    if (s.description !== undefined) byName.set(s.description, s);
  const buffer = byName.get('kBuffer');
  const callback = byName.get('kBufferCb');
  const generator = byName.get('kBufferGen');
  if (buffer === undefined || callback === undefined || generator === undefined) return undefined;
  const slots = socket as unknown as Record<symbol, unknown>;
  // Untouched slots are null on every socket; anything else means someone already uses them.
  if (slots[buffer] !== null || slots[callback] !== null || slots[generator] !== null) return undefined;
  return { buffer, callback, generator };
}

/**
 * Switches `socket` to staged reads delivered to `sink`, after handing it what the socket had already buffered.
 * Returns undefined (nothing changed) when this Node's sockets do not have the onread slots.
 */
export function stageTlsReads(
  socket: TLSSocket,
  sink: StagedSink,
  opts: { pool?: BufferPool } = {},
): StagedReader | undefined {
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } | null })._handle;
  if (handle === null || handle === undefined || typeof handle.useUserBuffer !== 'function') return undefined;
  const slots = slotsOf(socket);
  if (slots === undefined) return undefined;
  const pool = opts.pool ?? stagingPool;
  const size = pool.size;
  if (size < 2 * RECORD)
    throw new RangeError(`staging buffers of ${size} bytes are smaller than two TLS records`);

  // A staging buffer goes back to the pool once it is no longer the current one and every region handed out of
  // it was released (written by the destination), and when the socket closes. The pool is shared by all
  // connections (bufferPool.ts), so the process holds as many as were ever in flight at once, which the sink's
  // backpressure bounds (the pump's 1 MiB allowance: about six per connection).
  interface Stage {
    buf: Buffer;
    pending: number;
    retired: boolean;
  }
  const fresh = (): Stage => ({ buf: pool.take(), pending: 0, retired: false });
  const recycle = (stage: Stage): void => pool.give(stage.buf);
  let current = fresh();
  let start = 0; // first byte of `current` not handed to the sink yet
  let end = 0; // first byte of `current` TLS has not written yet
  const ready: { region: Buffer; stage: Stage }[] = []; // regions of stages left behind, already counted
  let staged = 0; // bytes written by TLS and not yet handed to the sink
  let blocked = false; // the sink said stop
  let capped = false; // a staging buffer's worth waits for the next flush: reading stopped until then
  let scheduled = false;
  let closed = false;

  const hand = (region: Buffer, stage: Stage): void => {
    let released = false;
    const ok = sink(region, () => {
      if (released) return;
      released = true;
      if (--stage.pending === 0 && stage.retired) recycle(stage);
    });
    if (!ok) blocked = true;
  };
  const flush = (): void => {
    scheduled = false;
    if (closed) return;
    for (const { region, stage } of ready.splice(0)) hand(region, stage);
    if (end > start) {
      const region = current.buf.subarray(start, end);
      start = end;
      current.pending++;
      hand(region, current);
    }
    staged = 0;
    if (capped && !blocked) {
      capped = false;
      socket.resume();
    }
  };
  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };
  // Where TLS writes the next record: right behind the last one, or at the start of another staging buffer.
  const nextRegion = (): Buffer => {
    if (size - end < RECORD) {
      const old = current;
      if (end > start) {
        old.pending++;
        ready.push({ region: old.buf.subarray(start, end), stage: old });
      }
      old.retired = true;
      if (old.pending === 0) recycle(old);
      current = fresh();
      start = 0;
      end = 0;
    }
    return current.buf.subarray(end);
  };

  // What arrived before the switch sits in the Readable buffer as ordinary Buffers: it goes first.
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
    if (!sink(chunk, () => undefined)) blocked = true;
  }

  const target = socket as unknown as Record<symbol, unknown>;
  const first = nextRegion();
  target[slots.callback] = (n: number): boolean => {
    end += n;
    staged += n;
    schedule();
    // libuv reads a busy socket up to 32 times per turn of the event loop: stop once a staging buffer's worth
    // waits, so what is read per turn stays bounded. TLS may still deliver the rest of the records it already
    // decrypted after a false: they are kept, not lost.
    if (staged >= size) capped = true;
    return !blocked && !capped;
  };
  target[slots.generator] = nextRegion;
  target[slots.buffer] = first;
  handle.useUserBuffer(first);
  // The pump ends the destination on 'end': what is staged must be handed on before that.
  socket.prependListener('end', flush);
  socket.resume();
  // Closed: the handle reads no more. What was never handed on is dropped, and buffers nobody writes from go back.
  // A flush still scheduled must not hand on a region of a buffer that is back in the pool.
  socket.once('close', () => {
    closed = true;
    for (const { stage } of ready.splice(0)) if (--stage.pending === 0) recycle(stage);
    current.retired = true;
    if (current.pending === 0) recycle(current);
  });
  return {
    resume() {
      blocked = false;
      // Still capped only while a full buffer waits for its flush, which resumes reading itself.
      if (staged >= size) return;
      capped = false;
      socket.resume();
    },
  };
}
