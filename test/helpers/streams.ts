/**
 * A donor's side of a connection whose receiving rsync fails mid-transfer: it sends as fast as the socket takes
 * until it has heard `until` from the other side, then ends its direction, as rsync does once it has read the
 * daemon's error. Resolves when the peer's side has ended or the socket failed.
 */
import type { Socket } from 'node:net';

export interface SenderOutcome {
  heard: string;
  error?: Error;
}

export function sendUntilHeard(socket: Socket, until: string): Promise<SenderOutcome> {
  const heard: Buffer[] = [];
  let error: Error | undefined;
  socket.on('data', (c: Buffer) => {
    heard.push(c);
    if (!socket.writableEnded && Buffer.concat(heard).includes(until)) socket.end();
  });
  socket.on('error', (e) => (error = e));
  const chunk = Buffer.alloc(64 * 1024, 7);
  const send = (): void => {
    while (!socket.writableEnded && !socket.destroyed && socket.write(chunk));
  };
  socket.on('drain', send);
  send();
  return new Promise((resolve) => {
    const finish = (): void =>
      resolve({ heard: Buffer.concat(heard).toString(), ...(error !== undefined && { error }) });
    socket.once('end', finish);
    socket.once('close', finish);
  });
}
