/**
 * Registers `certs init|node|show`: a cluster CA and node certificates made non-interactively, correct by
 * construction (peers.md part B, pain points 1-3). The work is imported lazily so `connect` stays fast.
 */
import type { Command } from 'commander';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers the `certs` command and its subcommands on the program. */
export function registerCertsCommand(program: Command): void {
  const certs = program
    .command('certs')
    .description('Make a cluster CA and node certificates for [sst] tca/tcert/tkey, and show certificates');

  certs
    .command('init')
    .description('Create a cluster CA: DIR/ca.pem and DIR/ca-key.pem (0600); the directory is created 0700')
    .requiredOption('--dir <dir>', 'certificate directory')
    .option('--cn <name>', 'CA common name (default "sst-tunnel CA <date> <random>")')
    .option('--days <n>', 'validity in days (default 3650)')
    .option('--key-type <type>', 'ecdsa (P-256) | rsa2048 | rsa3072 (default ecdsa)')
    .option('--force', 'replace an existing CA (every node certificate must then be reissued)')
    .option('--json', 'print a machine-readable result')
    .action(async (opts: import('./actions.js').InitCliOptions) => {
      const { runInit } = await import('./actions.js');
      await runInit(opts, (s) => process.stdout.write(s));
    });

  certs
    .command('node')
    .description('Create DIR/NAME-cert.pem and DIR/NAME-key.pem (0600), signed by the CA in DIR')
    .requiredOption('--dir <dir>', 'certificate directory holding ca.pem and ca-key.pem')
    .requiredOption('--name <name>', 'node address (DNS name or IP): the CN, and a SAN')
    .option('--dns <name>', 'another DNS name donors may dial (repeatable)', collect, [])
    .option('--ip <ip>', 'another IP address donors may dial (repeatable)', collect, [])
    .option('--days <n>', 'validity in days (default 825, never past the CA)')
    .option('--key-type <type>', 'ecdsa (P-256) | rsa2048 | rsa3072 (default ecdsa)')
    .option('--force', 'replace an existing certificate and key of this node')
    .option('--json', 'print a machine-readable result')
    .action(async (opts: import('./actions.js').NodeCliOptions) => {
      const { runNode } = await import('./actions.js');
      await runNode(opts, (s) => process.stdout.write(s));
    });

  certs
    .command('show')
    .description('Print subject, issuer, serial, validity, SANs, key type and usages of each certificate')
    .argument('<file...>', 'PEM files (bundles allowed)')
    .option('--json', 'print a machine-readable result')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { runShow } = await import('./actions.js');
      await runShow(files, opts, (s) => process.stdout.write(s));
    });
}
