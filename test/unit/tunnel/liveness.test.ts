/**
 * The liveness link's two ends on a real loopback TCP pair (the link reads and writes lines; TLS under it is the
 * integration suites' business): beats keep a quiet pair alive, silence is judged within the bound, `done`,
 * `fail` and a bare close each say what they mean.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import {
  beatInterval,
  failFrame,
  LivenessLink,
  parseFrame,
  type LivenessEvent,
} from '../../../src/tunnel/liveness.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

async function pair(): Promise<[Socket, Socket]> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  const client = connect(port, '127.0.0.1');
  const theirs = await accepted;
  server.close();
  sockets.push(client, theirs);
  return [client, theirs];
}

function end(socket: Socket, boundMs: number): { link: LivenessLink; events: LivenessEvent[] } {
  const events: LivenessEvent[] = [];
  const link = new LivenessLink(socket as unknown as TLSSocket, {
    boundMs,
    peerRole: 'joiner',
    peer: 'peer',
    onEvent: (e) => events.push(e),
  });
  return { link, events };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('liveness frames', () => {
  it('parses the three lines and ignores what a later version may add', () => {
    expect(parseFrame('beat')).toEqual({ t: 'beat' });
    expect(parseFrame('done')).toEqual({ t: 'done' });
    expect(parseFrame('fail disk full')).toEqual({ t: 'fail', reason: 'disk full' });
    expect(parseFrame('hello v2')).toEqual({ t: 'unknown' });
    expect(failFrame('a\nb\r\nc')).toBe('fail a b c\n');
    expect(beatInterval(20_000)).toBe(5000);
    expect(beatInterval(4000)).toBe(1000);
  });
});

describe('LivenessLink', () => {
  it('keeps a quiet but beating pair alive for several bounds', async () => {
    const [a, b] = await pair();
    const x = end(a, 600);
    const y = end(b, 600);
    await sleep(2000);
    expect(x.events).toEqual([]);
    expect(y.events).toEqual([]);
    x.link.destroy();
    y.link.destroy();
  });

  it('judges a silent peer (frozen: nothing read, nothing sent) within the bound plus a beat', async () => {
    const [a, b] = await pair();
    const x = end(a, 300);
    // b is the frozen peer: it never answers.
    const started = Date.now();
    while (x.events.length === 0 && Date.now() - started < 3000) await sleep(10);
    const waited = Date.now() - started;
    expect(x.events).toHaveLength(1);
    expect(x.events[0]).toMatchObject({ kind: 'lost', silent: true });
    expect((x.events[0] as { reason: string }).reason).toMatch(/Nothing heard from the joiner peer for/);
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(1500);
    b.destroy();
  });

  it('stops judging after the peer said done, and names a peer that gave up or closed without it', async () => {
    const [a, b] = await pair();
    const x = end(a, 300);
    const y = end(b, 300);
    y.link.finish();
    await sleep(800);
    expect(x.events).toEqual([{ kind: 'peer-done' }]);

    const [c, d] = await pair();
    const u = end(c, 5000);
    const v = end(d, 5000);
    v.link.fail('No space left on device');
    await sleep(200);
    expect(u.events[0]).toMatchObject({ kind: 'lost', silent: false, peerReason: 'No space left on device' });

    const [e, f] = await pair();
    const w = end(e, 5000);
    f.destroy();
    await sleep(200);
    expect(w.events[0]).toMatchObject({ kind: 'lost', silent: false });
    expect((w.events[0] as { reason: string }).reason).toMatch(/closed the liveness link without finishing/);
    for (const l of [x, y, u, v, w]) l.link.destroy();
  });
});
