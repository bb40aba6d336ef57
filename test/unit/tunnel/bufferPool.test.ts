import { describe, expect, it } from 'vitest';
import { BufferPool } from '../../../src/tunnel/bufferPool.js';

describe('BufferPool', () => {
  it('hands back a given buffer before making a new one', () => {
    const pool = new BufferPool(1024, 2);
    const a = pool.take();
    expect(a.length).toBe(1024);
    pool.give(a);
    expect(pool.take()).toBe(a);
    expect(pool.stats()).toEqual({ made: 1, spare: 0 });
  });

  it('owns each buffer: no two share memory, none sits in Node’s shared slab', () => {
    const pool = new BufferPool(64, 4);
    const a = pool.take();
    const b = pool.take();
    expect(a.buffer).not.toBe(b.buffer);
    expect(a.byteOffset).toBe(0);
    expect(a.buffer.byteLength).toBe(64);
  });

  it('keeps at most maxSpare unused buffers and ignores buffers of another size', () => {
    const pool = new BufferPool(16, 2);
    const taken = [pool.take(), pool.take(), pool.take()];
    for (const buf of taken) pool.give(buf);
    pool.give(Buffer.alloc(32));
    pool.give(taken[0]!.subarray(0, 8));
    expect(pool.stats()).toEqual({ made: 3, spare: 2 });
  });
});
