/**
 * Registers `sst-tunnel doctor`: reads a node's options exactly as the SST would and prints a checklist
 * (peers.md part C 1). Exit code 0 = all ok, 1 = warnings only, 2 = at least one failure, 22 = bad arguments.
 * The work is imported lazily so `connect` stays fast.
 */
import type { Command } from 'commander';
import { UsageError } from '../errors.js';

/** The CLI options as commander hands them over. */
interface DoctorCliOptions {
  defaultsFile?: string;
  defaultsExtraFile?: string;
  defaultsGroupSuffix?: string;
  datadir?: string;
  user?: string;
  expiryWarningDays: string;
  peer?: string;
  json?: boolean;
  listen?: boolean;
  port?: string;
  bind?: string;
  timeout: string;
}

function wholeNumber(value: string, option: string, min: number, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`Cannot use ${option} "${value}": expected a whole number from ${min} to ${max}`);
  }
  return n;
}

async function action(opts: DoctorCliOptions): Promise<void> {
  const out = (s: string): boolean => process.stdout.write(s);
  const sources = {
    ...(opts.defaultsFile !== undefined && { defaultsFile: opts.defaultsFile }),
    ...(opts.defaultsExtraFile !== undefined && { defaultsExtraFile: opts.defaultsExtraFile }),
    ...(opts.defaultsGroupSuffix !== undefined && { defaultsGroupSuffix: opts.defaultsGroupSuffix }),
    ...(opts.user !== undefined && { user: opts.user }),
    expiryWarningDays: wholeNumber(opts.expiryWarningDays, '--expiry-warning-days', 0, 36500),
  };
  const { renderJson, renderText } = await import('./render.js');
  if (opts.listen === true) {
    if (opts.peer !== undefined)
      throw new UsageError('Cannot use --peer with --listen: run them on two nodes');
    const { runListen } = await import('./listenRun.js');
    const timeoutSeconds = wholeNumber(opts.timeout, '--timeout', 1, 86400);
    const report = await runListen({
      ...sources,
      ...(opts.port !== undefined && { port: wholeNumber(opts.port, '--port', 0, 65535) }),
      ...(opts.bind !== undefined && { bind: opts.bind }),
      timeoutMs: timeoutSeconds * 1000,
      onListening: ({ host, port }) => {
        const line = `Listening on ${host.includes(':') ? `[${host}]` : host}:${port} for one TLS handshake (timeout ${timeoutSeconds} s)\n`;
        if (opts.json === true) process.stderr.write(line);
        else out(line);
      },
    });
    out(opts.json === true ? renderJson(report) : renderText(report.checks));
    process.exitCode = report.exitCode;
    return;
  }
  if (opts.port !== undefined || opts.bind !== undefined)
    throw new UsageError('Cannot use --port or --bind without --listen');
  const { runDoctor } = await import('./run.js');
  const report = await runDoctor({
    ...sources,
    ...(opts.datadir !== undefined && { datadir: opts.datadir }),
    ...(opts.peer !== undefined && { peer: opts.peer }),
  });
  out(opts.json === true ? renderJson(report) : renderText(report.checks));
  process.exitCode = report.exitCode;
}

/** Registers the `doctor` command on the program. */
export function registerDoctorCommand(program: Command): void {
  program
    .command('doctor')
    .description(
      'Check a node before an SST needs it: option files, certificates, key, CA, advertised name, rsync, port; ' +
        'exit 0 = all ok, 1 = warnings only, 2 = a failure',
    )
    .option('--defaults-file <file>', 'read only this option file, as mysqld --defaults-file')
    .option('--defaults-extra-file <file>', 'read this option file after the global ones')
    .option('--defaults-group-suffix <suffix>', 'also read groups with this suffix, e.g. [mysqld.node1]')
    .option('--datadir <dir>', 'datadir (default: the datadir option, else /var/lib/mysql)')
    .option(
      '--user <name>',
      'user mysqld runs as (default: the user option of the server groups, else mysql)',
    )
    .option('--expiry-warning-days <n>', 'warn when a certificate ends within this many days', '30')
    .option(
      '--peer <host[:port]>',
      "handshake with another node's listener as a donor would (port 4444 by default)",
    )
    .option('--listen', "answer one TLS handshake with this node's credentials, as a joiner would, then exit")
    .option('--port <port>', 'with --listen: port (default: the advertised port, 4444; 0 = any free port)')
    .option(
      '--bind <address>',
      'with --listen: address to listen on (default: where the joiner would listen)',
    )
    .option('--timeout <seconds>', 'with --listen: give up after this long without a client', '60')
    .option('--json', 'print a machine-readable report')
    .action(action);
}
