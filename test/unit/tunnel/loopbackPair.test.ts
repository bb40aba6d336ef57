import { describe, expect, it } from 'vitest';
import { Socket } from 'node:net';
import { loopbackPair } from '../../../src/tunnel/loopbackPair.js';

describe('loopbackPair()', () => {
  it('connects two TCP sockets on 127.0.0.1 to each other, half-open capable, with no listener left', async () => {
    const { ours, theirs } = await loopbackPair();
    expect(theirs.remotePort).toBe(ours.localPort);
    expect(ours.remotePort).toBe(theirs.localPort);
    expect(theirs.remoteAddress).toBe('127.0.0.1');
    // The listener is gone: its port refuses now.
    const refused = await new Promise<string>((resolve) => {
      const probe = new Socket();
      probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? ''));
      probe.once('connect', () => resolve('connected'));
      probe.connect(ours.remotePort as number, '127.0.0.1');
    });
    expect(refused).toBe('ECONNREFUSED');
    // One direction ends, the other still carries data (as rsync's stdin ends before its last replies).
    const got: Buffer[] = [];
    theirs.resume();
    theirs.on('data', (c: Buffer) => got.push(c));
    const theirsEnded = new Promise((resolve) => theirs.once('end', resolve));
    ours.end('to rsync');
    await theirsEnded;
    expect(Buffer.concat(got).toString()).toBe('to rsync');
    const back = new Promise<string>((resolve) => ours.once('data', (c: Buffer) => resolve(c.toString())));
    theirs.write('still open');
    expect(await back).toBe('still open');
    ours.destroy();
    theirs.destroy();
  });

  it('makes independent pairs for concurrent connections', async () => {
    const pairs = await Promise.all([loopbackPair(), loopbackPair(), loopbackPair()]);
    expect(new Set(pairs.map((p) => p.ours.localPort)).size).toBe(3);
    for (const { ours, theirs } of pairs) {
      expect(theirs.remotePort).toBe(ours.localPort);
      ours.destroy();
      theirs.destroy();
    }
  });
});
