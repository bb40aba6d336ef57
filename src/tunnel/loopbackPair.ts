/**
 * A connected pair of TCP sockets on 127.0.0.1, to hand one end to a child as its stdin. Why not the socketpair
 * Node makes for `stdio: 'pipe'`: a Unix socket buffers only net.core.wmem_default (208 KiB on most systems,
 * and SO_SNDBUF cannot go past wmem_max without CAP_NET_ADMIN), so the joiner had to wake up for every few of
 * rsync's 32 KiB reads and rsync starved whenever the joiner was busy decrypting. Loopback TCP buffers grow
 * with tcp_wmem (4 MiB by default). Measured on single large files through real rsync: 411 -> 571 MB/s when
 * the Unix socket buffer was raised to 2 MiB system-wide (BENCHMARKS.md, fourth session).
 *
 * The listener exists for one accept and takes only the connection whose source port is our own client's
 * (nothing else on the host can have it); any other connection is dropped unread. Its port is ephemeral and
 * bound to 127.0.0.1 only for the instant between listen and accept.
 */
import { connect, createServer, type Socket } from 'node:net';

const HOST = '127.0.0.1';

/** `ours` stays in this process; `theirs` goes to the child (then closed here). Both allow half-open. */
export async function loopbackPair(): Promise<{ ours: Socket; theirs: Socket }> {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: HOST, port: 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const port = (server.address() as { port: number }).port;
    const ours = connect({ host: HOST, port, allowHalfOpen: true, noDelay: true });
    const theirs = await new Promise<Socket>((resolve, reject) => {
      // Loopback answers in microseconds; anything else falls back to a pipe rather than hold the connection.
      const timer = setTimeout(() => {
        ours.destroy();
        reject(new Error('the loopback pair did not connect within 5 s'));
      }, 5000);
      const onError = (error: Error): void => {
        clearTimeout(timer);
        reject(error);
      };
      ours.once('error', onError);
      const onConnection = (accepted: Socket): void => {
        // Compared once ours is connected: only then is its source port known.
        const check = (): void => {
          if (accepted.remoteAddress === HOST && accepted.remotePort === ours.localPort) {
            clearTimeout(timer);
            server.off('connection', onConnection);
            ours.off('error', onError);
            resolve(accepted);
          } else {
            accepted.destroy();
          }
        };
        if (ours.localPort !== undefined && !ours.connecting) check();
        else ours.once('connect', check);
      };
      server.on('connection', onConnection);
    });
    // Until the caller's own handlers are on (a spawn later), an error must not go unhandled and end the process.
    for (const socket of [ours, theirs]) socket.on('error', () => undefined);
    return { ours, theirs };
  } finally {
    server.close();
  }
}
