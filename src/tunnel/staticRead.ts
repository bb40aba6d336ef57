/**
 * A plaintext socket read through one static 1 MiB buffer (net.Socket `onread`), for the donor relay's side
 * that carries the payload into TLS. With the default reads every chunk is a fresh allocation; reusing one
 * buffer removed the page faults and the TLS layer's coalescing copy and took the donor side's CPU down by
 * 20-28% (tunnel-performance.md 3, "Best Node relay configuration").
 *
 * node:net only offers `onread` to sockets it creates, not to those a server accepts, so the accepted handle is
 * moved into a new Socket: `pauseOnConnect` keeps it from reading, and `_handle` (unchanged since Node 0.x) is
 * the one private field touched. Where that does not work, the accepted socket is used as it is.
 */
import { Socket, type SocketConstructorOpts } from 'node:net';
import type { Readable } from 'node:stream';
import { BufferPool } from './bufferPool.js';

/** Receives each chunk; the chunk is only valid during the call. Returns false to pause reading. */
export type ChunkSink = (chunk: Buffer) => boolean;

const sinks = new WeakMap<Readable, (sink: ChunkSink) => void>();

/** The read buffers of the relay's connections, 1 MiB each, shared (bufferPool.ts): up to 8 kept spare. */
export const readPool = new BufferPool(1 << 20, 8);

/** The hook of a socket made by adoptWithStaticBuffer: set the sink, then reading starts. */
export function staticSource(stream: Readable): ((sink: ChunkSink) => void) | undefined {
  return sinks.get(stream);
}

/**
 * Moves the handle of `accepted` (from a server with `pauseOnConnect`) into a socket that reads into one
 * buffer taken from `pool`, given back when the socket closes. Nothing is read before a sink is set. Returns
 * `accepted` itself, still paused and with ordinary 'data' reads, when the handle cannot be moved.
 */
export function adoptWithStaticBuffer(accepted: Socket, pool: BufferPool = readPool): Socket {
  const holder = accepted as unknown as { _handle?: unknown };
  const handle = holder._handle;
  if (handle === null || typeof handle !== 'object') return accepted;
  let sink: ChunkSink | undefined;
  const buffer = pool.take();
  let socket: Socket;
  try {
    socket = new Socket({
      handle,
      allowHalfOpen: true,
      pauseOnCreate: true,
      onread: {
        buffer,
        // Never called before a sink is set: the socket starts paused and resume() comes with the sink.
        callback: (n: number) => (sink === undefined ? false : sink(buffer.subarray(0, n))),
      },
    } as SocketConstructorOpts);
  } catch {
    pool.give(buffer);
    return accepted;
  }
  // Closed: no read lands in the buffer any more. What the sink passed on was copied or encrypted by then.
  socket.once('close', () => pool.give(buffer));
  // The old wrapper lets go of the handle; destroying it settles the server's connection count.
  holder._handle = null;
  accepted.destroy();
  sinks.set(socket, (next) => {
    sink = next;
    socket.resume();
  });
  return socket;
}
