/**
 * Registers `connect` (the donor's rsync remote shell), `relay` (the donor relay standalone) and `listen` (a standalone joiner listener for tests, bench
 * and doctor). Work is imported lazily: rsync starts `connect` once per connection, so it must start fast.
 */
import type { Command } from 'commander';
import type { ListenCliOptions } from './listenCommand.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Adds the tunnel commands to the program. */
export function registerTunnelCommands(program: Command): void {
  program
    .command('connect')
    .description('Internal: rsync remote shell of the donor; reads its settings from SST_TUNNEL_CONNECT_SPEC')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    // rsync runs `<rsh> [-l user] <host> rsync --server --daemon .`: the joiner comes from the spec, argv is ignored.
    .argument('[rsync-arguments...]', 'ignored')
    .action(async () => {
      // rsync ends its remote shell with SIGUSR1 when a transfer fails (cleanup.c kill_all). Node's default for
      // SIGUSR1 is to open its inspector on 127.0.0.1:9229 and keep running: a plaintext port that runs any
      // local user's code next to our key. A listener disables that. rsync has closed our pipes by then, so the
      // connection ends by itself and the report (why it failed) gets written; end anyway if it does not.
      process.on('SIGUSR1', () => setTimeout(() => process.kill(process.pid, 'SIGTERM'), 1000).unref());
      const { runConnector, specFromEnv } = await import('./connector.js');
      await runConnector(specFromEnv());
    });

  program
    .command('relay')
    .description(
      'Run the donor relay until SIGTERM: rsync daemon clients of 127.0.0.1 (this user only) to TLS, joiner and credentials from SST_TUNNEL_CONNECT_SPEC (for bench and tests)',
    )
    .option('--port <port>', 'port on 127.0.0.1 (0 = any free port; the log line says which)', '0')
    .action(async (opts: { port: string }) => {
      const { runRelay } = await import('./relayCommand.js');
      await runRelay(opts);
    });

  program
    .command('listener-worker', { hidden: true })
    .description('Internal: a worker process of the joiner listener (started over IPC)')
    .action(async () => {
      const { runListenerWorker } = await import('./listenerWorker.js');
      await runListenerWorker();
    });

  program
    .command('listen')
    .description(
      'Run a joiner TLS listener serving rsync modules until SIGTERM (for tests, bench and doctor)',
    )
    .option('--bind <host>', 'literal address to bind (IPv6 without brackets)', '127.0.0.1')
    .requiredOption('--port <port>', 'TCP port (0 = any free port; the log line says which)')
    .option('--ca <file-or-dir>', 'CA bundle or directory ([sst] tca)')
    .requiredOption('--cert <file>', 'certificate chain, may hold the key ([sst] tcert)')
    .option('--key <file>', 'private key ([sst] tkey)')
    .option('--module <name=path>', 'rsync module to serve (repeatable)', collect, [])
    .option('--allow <name>', 'accept only donors whose certificate names this (repeatable)', collect, [])
    .option('--verify', 'require and verify client certificates (default)', true)
    .option('--no-verify', 'accept any TLS client (insecure)')
    .option('--strict-identity', 'ignore the CN when a certificate has SANs')
    .option('--cipher <list>', 'OpenSSL cipher list for TLS 1.2 (sockopt cipher=)')
    .option('--min-version <v>', 'TLSv1.2 or TLSv1.3', 'TLSv1.2')
    .option('--idle-timeout <ms>', 'end a connection when nothing moved this long (0 = never)', '300000')
    .option('--handshake-timeout <ms>', 'drop a connection that has not finished its handshake', '10000')
    .option('--rsync <binary>', 'rsync program', 'rsync')
    .option('--workers <n>', 'worker processes for TLS and rsync (0 = all in this process)', '0')
    .action(async (opts: ListenCliOptions) => {
      const { runListen } = await import('./listenCommand.js');
      await runListen(opts);
    });
}
