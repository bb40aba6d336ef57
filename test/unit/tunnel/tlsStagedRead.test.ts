import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pump } from '../../../src/tunnel/pump.js';
import { BufferPool } from '../../../src/tunnel/bufferPool.js';
import { stageTlsReads } from '../../../src/tunnel/tlsStagedRead.js';
import { createCa, issueCert, tempDir } from '../../helpers/pki.js';
import { sendUntilHeard } from '../../helpers/streams.js';

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

let dir: ReturnType<typeof tempDir>;
let creds: { ca: Buffer; cert: Buffer; key: Buffer };

beforeAll(() => {
  dir = tempDir('staged-');
  const ca = createCa(dir.path, 'ca');
  const node = issueCert(ca, 'node', { ips: ['127.0.0.1'] });
  creds = { ca: readFileSync(ca.cert), cert: readFileSync(node.cert), key: readFileSync(node.key) };
});
afterAll(() => dir.cleanup());

/** A real TLS connection on loopback; `server` is the accepted TLSSocket, as the joiner's listener has it. */
async function tlsPair(): Promise<{ client: TLSSocket; server: TLSSocket; close: () => void }> {
  const srv = createServer({ ...creds, allowHalfOpen: true });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as { port: number }).port;
  const accepted = new Promise<TLSSocket>((resolve) => srv.once('secureConnection', resolve));
  const client = connect({ port, host: '127.0.0.1', ca: creds.ca });
  const server = await accepted;
  return { client, server, close: () => srv.close() };
}

/**
 * A destination that completes each write only after `delayMs`, and only then copies what it was given: a
 * staging buffer reused before its write completed shows up as corrupted output.
 */
function slowSink(delayMs: number, highWaterMark = 64 * 1024): { stream: Writable; data: () => Buffer } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, callback) {
      setTimeout(() => {
        parts.push(Buffer.from(chunk));
        callback();
      }, delayMs);
    },
  });
  return { stream, data: () => Buffer.concat(parts) };
}

/**
 * Sends `bytes` random bytes over a real TLS connection whose accepted side is read through stageTlsReads into
 * a slowSink with a `queue`-byte highWaterMark; `onRegion` writes each region (and decides backpressure). Checks
 * the bytes arrived intact and returns once the accepted socket has closed.
 */
async function stagedTransfer(
  bytes: number,
  queue: number,
  pool: BufferPool,
  onRegion: (chunk: Buffer, release: () => void, sink: Writable) => boolean,
): Promise<void> {
  const { client, server, close } = await tlsPair();
  const data = randomBytes(bytes);
  const sink = slowSink(1, queue);
  const ended = new Promise<void>((resolve) => sink.stream.once('finish', resolve));
  const reader = stageTlsReads(server, (chunk, release) => onRegion(chunk, release, sink.stream), { pool });
  expect(reader).toBeDefined();
  sink.stream.on('drain', () => reader?.resume());
  server.once('end', () => sink.stream.end());
  client.end(data);
  await ended;
  expect(sha(sink.data())).toBe(sha(data));
  const closed = new Promise((resolve) => server.once('close', resolve));
  server.destroy();
  await closed;
  close();
}

describe('stageTlsReads()', () => {
  it('is available on this Node: the accepted TLS socket has the onread slots', async () => {
    const { client, server, close } = await tlsPair();
    const reader = stageTlsReads(server, () => true);
    expect(reader).toBeDefined();
    client.destroy();
    server.destroy();
    close();
  });

  it('delivers every byte in order, in regions of several records, each released after its write', async () => {
    const sizes: number[] = [];
    const buffers = new Set<ArrayBufferLike>();
    let pending = 0;
    let maxPending = 0;
    // A queue far larger than the staging buffers: a buffer reused before its writes completed would corrupt.
    await stagedTransfer(8 << 20, 2 << 20, new BufferPool(128 * 1024, 64), (chunk, release, sink) => {
      sizes.push(chunk.length);
      buffers.add(chunk.buffer);
      pending++;
      maxPending = Math.max(maxPending, pending);
      return sink.write(chunk, () => {
        pending--;
        release();
      });
    });
    // Records are 16 KiB: a region larger than that means records were put back to back.
    expect(Math.max(...sizes)).toBeGreaterThan(16 * 1024);
    expect(pending).toBe(0);
    expect(maxPending).toBeGreaterThan(4); // the queue held regions of several staging buffers at once
    expect(buffers.size).toBeGreaterThan(1);
  });

  it('reuses a few staging buffers under ordinary backpressure instead of allocating per region', async () => {
    const buffers = new Set<ArrayBufferLike>();
    let regions = 0;
    await stagedTransfer(8 << 20, 64 * 1024, new BufferPool(128 * 1024, 64), (chunk, release, sink) => {
      regions++;
      buffers.add(chunk.buffer);
      return sink.write(chunk, release);
    });
    // 8 MiB is 64 staging buffers' worth: a handful were recycled over and over.
    expect(regions).toBeGreaterThan(64);
    expect(buffers.size).toBeLessThanOrEqual(6);
  });

  it('keeps every staging buffer for reuse: as many as were ever in flight at once, however much moves', async () => {
    const pool = new BufferPool(128 * 1024, 64);
    const seen = new Set<ArrayBufferLike>();
    const inFlight = new Map<ArrayBufferLike, number>();
    let peak = 0;
    // The pump's shape: keep writing until 1 MiB waits in the destination, so the number of regions in flight
    // swings between a few and about ten. Spares dropped to the GC at the low point had to be made anew at the
    // high one: garbage that showed as the joiner's RSS.
    await stagedTransfer(24 << 20, 16 * 1024, pool, (chunk, release, sink) => {
      seen.add(chunk.buffer);
      inFlight.set(chunk.buffer, (inFlight.get(chunk.buffer) ?? 0) + 1);
      peak = Math.max(peak, inFlight.size);
      const ok = sink.write(chunk, () => {
        const left = (inFlight.get(chunk.buffer) ?? 1) - 1;
        if (left === 0) inFlight.delete(chunk.buffer);
        else inFlight.set(chunk.buffer, left);
        release();
      });
      return ok || sink.writableLength < 1 << 20;
    });
    expect(peak).toBeGreaterThan(4);
    // The buffer being filled is not in flight yet: at most one more than the peak, and never one per region.
    expect(seen.size).toBeLessThanOrEqual(peak + 1);
    expect(pool.stats().made).toBe(seen.size);
  });

  it('gives its buffers back when the connection closes: the next connections make none', async () => {
    // The listener serves a dozen connections per SST: buffers made per connection and left to the GC piled up.
    const pool = new BufferPool(128 * 1024, 64);
    const transfer = (): Promise<void> =>
      stagedTransfer(
        4 << 20,
        16 * 1024,
        pool,
        (chunk, release, sink) => sink.write(chunk, release) || sink.writableLength < 1 << 20,
      );
    await transfer();
    const afterOne = pool.stats();
    expect(afterOne.made).toBeGreaterThan(1);
    expect(afterOne.spare).toBe(afterOne.made); // every one is back
    await transfer();
    await transfer();
    // A later connection may need one more at its busiest moment, never a whole new set.
    expect(pool.stats().made).toBeLessThanOrEqual(afterOne.made + 1);
    expect(pool.stats().spare).toBe(pool.stats().made);
  });

  it('hands on what the socket buffered before the switch, then what came after, and flushes before end', async () => {
    const { client, server, close } = await tlsPair();
    const early = randomBytes(100 * 1024);
    const late = randomBytes(3 << 20);
    client.write(early);
    // Let the early bytes arrive and sit in the socket's Readable buffer (nobody reads yet).
    await new Promise((r) => setTimeout(r, 150));
    expect(server.readableLength).toBeGreaterThan(0);
    const parts: Buffer[] = [];
    const reader = stageTlsReads(server, (chunk, release) => {
      parts.push(Buffer.from(chunk));
      release();
      return true;
    });
    expect(reader).toBeDefined();
    let atEnd = -1;
    server.once('end', () => (atEnd = Buffer.concat(parts).length));
    client.end(late);
    await new Promise<void>((resolve) => server.once('close', () => resolve()).once('end', () => resolve()));
    await new Promise((r) => setImmediate(r));
    expect(sha(Buffer.concat(parts))).toBe(sha(Buffer.concat([early, late])));
    // Everything staged was handed on before 'end' reached the listeners after it (the pump ends rsync's input).
    expect(atEnd).toBe(early.length + late.length);
    server.destroy();
    close();
  });

  it('stops reading while the sink is blocked and loses nothing when resumed', async () => {
    const { client, server, close } = await tlsPair();
    const data = randomBytes(4 << 20);
    const parts: Buffer[] = [];
    let calls = 0;
    const reader = stageTlsReads(server, (chunk, release) => {
      parts.push(Buffer.from(chunk));
      release();
      calls++;
      setTimeout(() => reader?.resume(), 3);
      return false;
    });
    const ended = new Promise((resolve) => server.once('end', resolve));
    client.end(data);
    await ended;
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    expect(calls).toBeGreaterThan(4);
    server.destroy();
    close();
  });
});

describe('pump() with a TLS source and coalescing', () => {
  it('moves a payload byte for byte into a slow destination through staged reads', async () => {
    const { client, server, close } = await tlsPair();
    const data = randomBytes(6 << 20);
    const sink = slowSink(1, 16 * 1024);
    // rsync's output towards the donor: silent here.
    const quiet = new Readable({ read() {} });
    const p = pump(
      { readable: server, writable: server },
      { readable: quiet, writable: sink.stream },
      // An allowance far above the staging buffers (256 KiB): only the write callbacks keep them from reuse.
      { idleTimeoutMs: 0, coalesce: 'aToB', idleOn: 'aToB', bufferLimit: 4 << 20 },
    );
    client.end(data);
    await new Promise<void>((resolve) => sink.stream.once('finish', resolve));
    expect(sha(sink.data())).toBe(sha(data));
    expect(p.counters().aToB).toBe(data.length);
    p.abort();
    await p.done;
    client.destroy();
    close();
  });

  it("drains after rsync exits mid-stream: the donor reads the daemon's last words, then ends cleanly", async () => {
    // The listener's exact options. The daemon (here sh) reads a little, writes its error and exits while the
    // donor is still sending; with the TLS socket destroyed over unread data the donor got a reset instead.
    const { client, server, close } = await tlsPair();
    const child = spawn(
      'sh',
      ['-c', 'head -c 65536 >/dev/null; echo "write failed: No space left on device (28)"; exit 11'],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    const p = pump(
      { readable: server, writable: server },
      { readable: child.stdout, writable: child.stdin },
      { idleTimeoutMs: 10_000, coalesce: 'aToB', idleOn: 'aToB', drainAfterEpipe: 'aToB' },
    );
    const outcome = await sendUntilHeard(client, 'No space left');
    const result = await p.done;
    expect(outcome.heard).toBe('write failed: No space left on device (28)\n');
    expect(outcome.error).toBeUndefined();
    expect(result.error).toBeUndefined();
    expect(result.closeDeadline).toBe(false);
    client.destroy();
    close();
  });
});
