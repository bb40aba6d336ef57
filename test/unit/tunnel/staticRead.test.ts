import { createHash, randomBytes } from 'node:crypto';
import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { pump } from '../../../src/tunnel/pump.js';
import { BufferPool } from '../../../src/tunnel/bufferPool.js';
import { adoptWithStaticBuffer, staticSource } from '../../../src/tunnel/staticRead.js';

/** A connection whose server side is adopted into a static-buffer socket, as the donor relay does it. */
async function adoptedPair(
  pool?: BufferPool,
): Promise<{ client: Socket; adopted: Socket; close: () => void }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const adopted = adoptWithStaticBuffer(await accepted, pool);
  return { client, adopted, close: () => server.close() };
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

describe('adoptWithStaticBuffer()', () => {
  it('reads nothing before a sink is set, then every byte through one reused buffer', async () => {
    const { client, adopted, close } = await adoptedPair(new BufferPool(64 * 1024, 4));
    const hook = staticSource(adopted);
    expect(hook).toBeDefined(); // this Node lets the accepted handle move: the fast path is live
    const data = randomBytes(3 << 20);
    client.end(data);
    await new Promise((r) => setTimeout(r, 100));
    const views = new Set<ArrayBufferLike>();
    const parts: Buffer[] = [];
    const ended = new Promise((resolve) => adopted.once('end', resolve));
    hook?.((chunk) => {
      views.add(chunk.buffer);
      parts.push(Buffer.from(chunk));
      return true;
    });
    await ended;
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    expect(parts.length).toBeGreaterThan(1);
    expect(views.size).toBe(1); // one backing buffer for every read
    adopted.destroy();
    close();
  });

  it('pauses when the sink says so and resumes on demand without losing a byte', async () => {
    const { client, adopted, close } = await adoptedPair(new BufferPool(16 * 1024, 4));
    const data = randomBytes(1 << 20);
    client.end(data);
    const parts: Buffer[] = [];
    const ended = new Promise((resolve) => adopted.once('end', resolve));
    staticSource(adopted)?.((chunk) => {
      parts.push(Buffer.from(chunk));
      setTimeout(() => adopted.resume(), 2);
      return false;
    });
    await ended;
    expect(sha(Buffer.concat(parts))).toBe(sha(data));
    adopted.destroy();
    close();
  });

  it('gives its buffer back when the socket closes: connections one after another share one buffer', async () => {
    const pool = new BufferPool(64 * 1024, 4);
    for (let i = 0; i < 3; i++) {
      const { client, adopted, close } = await adoptedPair(pool);
      const data = randomBytes(256 * 1024);
      const parts: Buffer[] = [];
      const ended = new Promise((resolve) => adopted.once('end', resolve));
      staticSource(adopted)?.((chunk) => {
        parts.push(Buffer.from(chunk));
        return true;
      });
      client.end(data);
      await ended;
      expect(sha(Buffer.concat(parts))).toBe(sha(data));
      expect(pool.stats().spare).toBe(0); // in use while the socket is open
      const closed = new Promise((resolve) => adopted.once('close', resolve));
      adopted.destroy();
      await closed;
      close();
    }
    expect(pool.stats()).toEqual({ made: 1, spare: 1 });
  });

  it('through pump() into a slow plain socket: the reused buffer is copied, nothing is corrupted', async () => {
    const { client, adopted, close } = await adoptedPair();
    // Destination: a plain socket pair whose far end reads slowly, so writes stay queued in the kernel and in Node.
    const sink = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    const port = (sink.address() as { port: number }).port;
    const far = new Promise<Socket>((resolve) => sink.once('connection', resolve));
    const near = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const farSide = await far;
    const received: Buffer[] = [];
    farSide.on('data', (c: Buffer) => {
      received.push(c);
      farSide.pause();
      setTimeout(() => farSide.resume(), 1);
    });
    const farEnded = new Promise((resolve) => farSide.once('end', resolve));
    const p = pump(
      { readable: adopted, writable: adopted },
      { readable: near, writable: near },
      // A limit above the read buffer keeps reading while writes wait: the reused buffer must not be queued as is.
      { idleTimeoutMs: 10_000, bufferLimit: 8 << 20 },
    );
    const data = randomBytes(24 << 20);
    client.end(data);
    await farEnded;
    expect(sha(Buffer.concat(received))).toBe(sha(data));
    farSide.end();
    client.destroy();
    const result = await p.done;
    expect(result.aToB).toBe(data.length);
    for (const s of [client, farSide, near, adopted]) s.destroy();
    close();
    sink.close();
  });
});
