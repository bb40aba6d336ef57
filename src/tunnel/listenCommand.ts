/** The `listen` command: a joiner listener outside an SST, serving the given modules until SIGTERM/SIGINT. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { logger } from '../log.js';
import { renderRsyncdConf, type RsyncModule } from '../rsync/conf.js';
import { loadCredentials } from '../tls/credentials.js';
import type { TlsPolicy } from '../tls/context.js';
import { startListener } from './listener.js';
import { untilTerminated } from './untilSignal.js';

const log = logger('listen');

/** Options of `listen`, as commander parses them. */
export interface ListenCliOptions {
  bind: string;
  port: string;
  ca?: string;
  cert: string;
  key?: string;
  module: string[];
  allow: string[];
  verify: boolean;
  strictIdentity?: boolean;
  cipher?: string;
  minVersion?: string;
  idleTimeout: string;
  handshakeTimeout: string;
  rsync: string;
  workers: string;
}

function integer(value: string, option: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new UsageError(`Invalid value for ${option}: "${value}" is not a non-negative integer`);
  return n;
}

function parseModule(spec: string): RsyncModule {
  const eq = spec.indexOf('=');
  if (eq <= 0 || eq === spec.length - 1)
    throw new UsageError(`Invalid value for --module: "${spec}" is not NAME=PATH`);
  return { name: spec.slice(0, eq), path: resolve(spec.slice(eq + 1)) };
}

/** Runs the listener until a terminating signal, then closes it (children ended, port freed). */
export async function runListen(opts: ListenCliOptions): Promise<void> {
  if (opts.minVersion !== 'TLSv1.2' && opts.minVersion !== 'TLSv1.3') {
    throw new UsageError(
      `Invalid value for --min-version: "${opts.minVersion ?? ''}" (use TLSv1.2 or TLSv1.3)`,
    );
  }
  const idleTimeoutMs = integer(opts.idleTimeout, '--idle-timeout');
  const workers = integer(opts.workers, '--workers');
  const credentials = loadCredentials({
    tcert: opts.cert,
    ...(opts.key !== undefined && { tkey: opts.key }),
    ...(opts.ca !== undefined && { tca: opts.ca }),
  });
  const policy: TlsPolicy = {
    verify: opts.verify,
    allowedPeers: opts.allow,
    strictIdentity: opts.strictIdentity === true,
    minVersion: opts.minVersion,
    handshakeTimeoutMs: integer(opts.handshakeTimeout, '--handshake-timeout'),
    ...(opts.cipher !== undefined && { ciphers: opts.cipher }),
  };
  const dir = mkdtempSync(join(tmpdir(), 'sst-listen-'));
  const configPath = join(dir, 'rsyncd.conf');
  try {
    writeFileSync(
      configPath,
      renderRsyncdConf({
        modules: opts.module.map(parseModule),
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        timeoutSeconds: Math.ceil(idleTimeoutMs / 1000),
      }),
      { mode: 0o600 },
    );
    const listener = await startListener({
      host: opts.bind,
      port: integer(opts.port, '--port'),
      credentials,
      policy,
      rsync: { binary: opts.rsync, configPath },
      idleTimeoutMs,
      workers,
    });
    const { host, port } = listener.address;
    log.info(
      `Listening on ${host.includes(':') ? `[${host}]` : host}:${port} (TLS, ${policy.verify ? 'client certificate required' : 'NO client verification'})`,
    );
    const signal = await untilTerminated();
    log.info(`Received ${signal}: closing the listener`);
    await listener.close();
    const stats = listener.stats();
    log.info(
      `Listener closed: ${stats.sessions} connection(s), ${stats.failures} refused, in ${stats.bytesIn} B, out ${stats.bytesOut} B`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
