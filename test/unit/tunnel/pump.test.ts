import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { Duplex, PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SstTimeoutError } from '../../../src/errors.js';
import { isRoutineClose, pump } from '../../../src/tunnel/pump.js';
import { RateLimiter } from '../../../src/tunnel/rateLimit.js';
import { sendUntilHeard } from '../../helpers/streams.js';

/** A stream that never yields data and swallows whatever is written to it: a peer that has gone quiet. */
const sink = (): Duplex =>
  new Duplex({
    read() {},
    write(_c, _e, cb) {
      cb();
    },
  });

/** A connected pair of real TCP sockets on 127.0.0.1 (allowHalfOpen, as the tunnel uses them). */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer({ allowHalfOpen: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const serverSide = await accepted;
  server.close();
  return [client, serverSide];
}

function sha(chunks: Buffer[]): string {
  return createHash('sha256').update(Buffer.concat(chunks)).digest('hex');
}

function collect(stream: Readable): Promise<Buffer[]> {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(chunks));
    stream.once('error', reject);
  });
}

describe('pump()', () => {
  it('moves data both ways at once, byte for byte, and half-closes each direction', async () => {
    const [outerA, innerA] = await socketPair();
    const [innerB, outerB] = await socketPair();
    const p = pump(
      { readable: innerA, writable: innerA },
      { readable: innerB, writable: innerB },
      { idleTimeoutMs: 5000 },
    );
    const up = randomBytes(8 << 20);
    const down = randomBytes(3 << 20);
    const gotUp = collect(outerB);
    const gotDown = collect(outerA);
    outerA.end(up);
    // The other direction keeps working after the first one is half-closed.
    await new Promise((r) => setTimeout(r, 50));
    outerB.end(down);
    expect(sha(await gotUp)).toBe(sha([up]));
    expect(sha(await gotDown)).toBe(sha([down]));
    const result = await p.done;
    expect(result).toMatchObject({
      aToB: up.length,
      bToA: down.length,
      timedOut: false,
      closeDeadline: false,
    });
    expect(result.error).toBeUndefined();
    outerA.destroy();
    outerB.destroy();
  });

  it('keeps memory bounded with a slow reader: the source is paused, never buffered whole', async () => {
    let produced = 0;
    let consumed = 0;
    let maxInFlight = 0;
    const chunk = Buffer.alloc(64 * 1024);
    const total = 64 << 20;
    const source = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (produced >= total) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    const slowSink = new Writable({
      highWaterMark: 16 * 1024,
      write(data: Buffer, _enc, callback) {
        consumed += data.length;
        maxInFlight = Math.max(maxInFlight, produced - consumed);
        setTimeout(callback, 1);
      },
    });
    const idle = new PassThrough();
    const p = pump(
      { readable: source, writable: new PassThrough() },
      { readable: idle, writable: slowSink },
      { idleTimeoutMs: 0, bufferLimit: 1 << 20 },
    );
    // Stop early: 64 MiB at 64 KiB per ms would take a second; a few hundred writes prove the bound.
    await new Promise((r) => setTimeout(r, 400));
    expect(consumed).toBeGreaterThan(1 << 20);
    expect(produced).toBeLessThan(total);
    // In flight = the 1 MiB allowance + one chunk + the source's own 64 KiB buffer.
    expect(maxInFlight).toBeLessThanOrEqual((1 << 20) + 3 * chunk.length);
    p.abort();
    await p.done;
  });

  it('ends both sides after the idle timeout with SstTimeoutError', async () => {
    const a = sink();
    const b = sink();
    const p = pump({ readable: a, writable: a }, { readable: b, writable: b }, { idleTimeoutMs: 150 });
    const result = await p.done;
    expect(result.timedOut).toBe(true);
    expect(result.error).toBeInstanceOf(SstTimeoutError);
    expect(result.error?.message).toMatch(/No data moved through the tunnel/);
    expect(a.destroyed && b.destroyed).toBe(true);
  });

  it('with idleOn, keep-alives in the other direction do not hide a stalled payload', async () => {
    const a = sink();
    const b = sink();
    // b keeps sending tiny keep-alives towards a (bToA), as rsync's receiver does to a stopped sender.
    const keepalive = setInterval(() => b.push(Buffer.from('ka')), 20);
    try {
      const p = pump(
        { readable: a, writable: a },
        { readable: b, writable: b },
        { idleTimeoutMs: 200, idleOn: 'aToB' },
      );
      const started = Date.now();
      const result = await p.done;
      expect(result.timedOut).toBe(true);
      expect(result.bToA).toBeGreaterThan(0);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      clearInterval(keepalive);
    }
  });

  it('reaps a silent peer with the close deadline once one direction ended', async () => {
    const a = sink();
    const b = sink();
    const p = pump(
      { readable: a, writable: a },
      { readable: b, writable: b },
      { idleTimeoutMs: 10_000, closeTimeoutMs: 150 },
    );
    a.push('hello');
    a.push(null);
    const result = await p.done;
    expect(result).toMatchObject({ aToB: 5, closeDeadline: true, timedOut: false });
    expect(result.error).toBeUndefined();
  });

  it('treats ECONNRESET as a routine close and reports other errors', async () => {
    for (const [code, routine] of [
      ['ECONNRESET', true],
      ['EIO', false],
    ] as const) {
      const a = sink();
      const b = sink();
      const p = pump({ readable: a, writable: a }, { readable: b, writable: b }, { idleTimeoutMs: 0 });
      a.destroy(Object.assign(new Error(code), { code }));
      const result = await p.done;
      expect(b.destroyed).toBe(true);
      expect(result.error === undefined).toBe(routine);
    }
    expect(isRoutineClose(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe(true);
  });

  it('coalesces the chunks of one read burst into one writev, byte for byte, in order', async () => {
    const writes: number[] = [];
    const received: Buffer[] = [];
    const sink = new Writable({
      highWaterMark: 1 << 20,
      writev(chunks, callback) {
        writes.push(chunks.length);
        for (const { chunk } of chunks) received.push(chunk as Buffer);
        setImmediate(callback);
      },
      write(chunk: Buffer, _enc, callback) {
        writes.push(1);
        received.push(chunk);
        setImmediate(callback);
      },
    });
    const source = new PassThrough();
    const other = new PassThrough();
    const p = pump(
      { readable: source, writable: new PassThrough() },
      { readable: other, writable: sink },
      { idleTimeoutMs: 5000, closeTimeoutMs: 200, coalesce: 'aToB' },
    );
    // Four 16 KiB records decrypted from one socket read arrive in one tick, as TLS emits them.
    const records = Array.from({ length: 4 }, () => randomBytes(16 * 1024));
    for (const r of records) source.write(r);
    await new Promise((r) => setTimeout(r, 20));
    const more = randomBytes(5000);
    source.end(more);
    other.end();
    await p.done;
    expect(sha(received)).toBe(sha([...records, more]));
    expect(writes[0]).toBe(4); // one writev for the burst, not four writes
    expect(writes.length).toBeLessThanOrEqual(2);
  });

  it('with drainAfterEpipe, a child that exits mid-stream still gets its last words to the peer', async () => {
    // The joiner's rsync daemon on a full disk: it reads a little, writes its error, exits; the donor keeps
    // sending. The peer must read the message and see a clean end, not a reset.
    const [outer, inner] = await socketPair();
    const child = spawn(
      'sh',
      ['-c', 'head -c 65536 >/dev/null; echo "write failed: No space left on device"; exit 11'],
      {
        stdio: ['pipe', 'pipe', 'ignore'],
      },
    );
    const stdin = child.stdin;
    const stdout = child.stdout;
    const p = pump(
      { readable: inner, writable: inner },
      { readable: stdout, writable: stdin },
      { idleTimeoutMs: 10_000, closeTimeoutMs: 2000, drainAfterEpipe: 'aToB' },
    );
    const outcome = await sendUntilHeard(outer, 'No space left');
    const result = await p.done;
    expect(outcome.heard).toBe('write failed: No space left on device\n');
    expect(outcome.error).toBeUndefined();
    expect(result.error).toBeUndefined();
    outer.destroy();
  });

  it("with a throttle, holds the direction to the limiter's rate and still moves every byte", async () => {
    const [outerA, innerA] = await socketPair();
    const [innerB, outerB] = await socketPair();
    const rate = 2 * 1024 * 1024;
    const p = pump(
      { readable: innerA, writable: innerA },
      { readable: innerB, writable: innerB },
      { idleTimeoutMs: 10_000, throttle: { direction: 'aToB', limiter: new RateLimiter(rate) } },
    );
    const data = randomBytes(3 * 1024 * 1024);
    const received = collect(outerB);
    const started = performance.now();
    outerA.end(data);
    const chunks = await received;
    const seconds = (performance.now() - started) / 1000;
    expect(sha(chunks)).toBe(sha([data]));
    // 3 MiB at 2 MiB/s with one burst of 0.2 MiB allowed: at least 1.4 s, on any machine.
    expect(seconds).toBeGreaterThanOrEqual((data.length - rate / 10) / rate - 0.05);
    outerB.end();
    await p.done;
    outerA.destroy();
  });
});
