/**
 * One listener worker (`sst-tunnel listener-worker`, started by listenerPool.ts over IPC, never by hand): it loads
 * the credentials, builds the same TLS service as the in-process listener, and serves every socket its parent
 * hands over. Its counters go back every 250 ms, at once when a connection arrives or a session ends. It ends
 * its connections and exits when told to close, on SIGTERM, or when its parent is gone.
 */
import type { Socket } from 'node:net';
import { logger } from '../log.js';
import { loadCredentials } from '../tls/credentials.js';
import { createTlsService } from './tlsService.js';
import type { ParentMessage, WorkerInit, WorkerMessage, WorkerStats } from './workerProtocol.js';

const log = logger('listener');

/** Runs until closed; resolves when every connection of this worker has ended. */
export async function runListenerWorker(): Promise<void> {
  if (process.send === undefined) throw new Error('listener-worker runs only as a child of the listener');
  const send = (message: WorkerMessage): void => {
    if (process.connected) process.send?.(message);
  };
  const init = await new Promise<WorkerInit>((resolve) => {
    const onInit = (message: ParentMessage): void => {
      if (message.t !== 'init') return;
      process.off('message', onInit);
      resolve(message.init);
    };
    process.on('message', onInit);
  });
  let received = 0;
  const service = createTlsService({
    credentials: loadCredentials(init.paths),
    policy: init.policy,
    rsync: init.rsync,
    idleTimeoutMs: init.idleTimeoutMs,
    ...(init.killAfterMs !== undefined && { killAfterMs: init.killAfterMs }),
    ...(init.binding !== undefined && { binding: init.binding }),
    ...(init.livenessMs !== undefined && {
      liveness: { boundMs: init.livenessMs, onEvent: (event) => send({ t: 'liveness', event }) },
    }),
    logDir: init.logDir,
    onSession: (info) => queueMicrotask(() => send({ t: 'session', info, stats: snapshot() })),
  });
  // Only called once `service` exists (sessions end, ticks and connections all come later).
  function snapshot(): WorkerStats {
    const { lastSession: _omit, ...stats } = service.stats();
    return { ...stats, received };
  }
  const ticker = setInterval(() => send({ t: 'stats', stats: snapshot() }), 250);
  // A connection that passed the handshake is counted at once, not at the next tick: the parent's view of what
  // is open decides when the SST may end and what a crashed worker took with it.
  service.server.on('secureConnection', () => queueMicrotask(() => send({ t: 'stats', stats: snapshot() })));
  let closing: Promise<void> | undefined;
  let closed: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (closed = resolve));
  const shutdown = (why: string): Promise<void> => {
    closing ??= (async () => {
      log.debug(`Listener worker ${process.pid} closing: ${why}`);
      clearInterval(ticker);
      await service.close();
      send({ t: 'stats', stats: snapshot() });
      process.removeAllListeners('message');
      if (process.connected) process.disconnect();
    })().finally(closed);
    return closing;
  };
  process.on('message', (message: ParentMessage, socket?: Socket) => {
    if (message.t === 'conn' && socket !== undefined) {
      received++;
      if (closing !== undefined) {
        socket.destroy();
        return;
      }
      service.server.emit('connection', socket);
      send({ t: 'stats', stats: snapshot() });
    } else if (message.t === 'liveness-end') {
      service.endLiveness(message.end);
    } else if (message.t === 'close') {
      void shutdown('closed by the listener');
    }
  });
  process.once('disconnect', () => void shutdown('the listener process is gone'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  send({ t: 'ready' });
  await finished;
}
