/** Binds the SST port for a moment, as the joiner would, and names the holder (tunnel/portOwner) when it is busy. */
import { createServer } from 'node:net';
import type { PortFacts } from './checks/system.js';
import { findPortOwner } from '../tunnel/portOwner.js';

/** Tries to listen on host:port (exclusive) and closes again at once. */
export async function probePort(host: string, port: number): Promise<PortFacts> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
    return { host, port, free: true };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
    return {
      host,
      port,
      free: false,
      code,
      message: (error as Error).message,
      holders: code === 'EADDRINUSE' ? [findPortOwner(host, port)].filter((o) => o !== undefined) : [],
    };
  } finally {
    await new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
  }
}
