/**
 * The `relay` command: the donor relay outside an SST (benchmarks, tests), taking its joiner and credentials from
 * SST_TUNNEL_CONNECT_SPEC as `connect` does, until SIGTERM/SIGINT.
 */
import { PortBusyError, UsageError } from '../errors.js';
import { logger } from '../log.js';
import { specFromEnv } from './connectorRsh.js';
import { startDonorRelay } from './relay.js';
import { untilTerminated } from './untilSignal.js';

const log = logger('relay');

/** Runs the relay until a terminating signal, then lets its connections finish and frees the port. */
export async function runRelay(opts: { port: string }): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`Invalid value for --port: "${opts.port}" is not a port number`);
  const relay = await startDonorRelay(specFromEnv(), { port });
  if (relay === undefined)
    throw new PortBusyError(`Cannot listen on 127.0.0.1:${port} (the log line above says why)`);
  const signal = await untilTerminated();
  log.info(`Received ${signal}: closing the relay`);
  await relay.close();
  const sessions = relay.sessions();
  log.info(
    `Relay closed: ${sessions.length} connection(s), ${relay.failures()} failed, ${relay.refused()} refused, out ${sessions.reduce((s, x) => s + x.bytesOut, 0)} B`,
  );
}
