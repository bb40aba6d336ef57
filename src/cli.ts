#!/usr/bin/env node
/**
 * The `sst-tunnel` program. The only place that turns an error into an exit code (style.md habit 4).
 *
 * Each command lives in its own module under src/<area>/command.ts and registers itself; the heavy parts of a
 * command are imported lazily inside its action so that `connect`, which rsync starts once per connection,
 * starts fast.
 */
import { Command, CommanderError } from 'commander';
import { describeError, exitCodeOf } from './errors.js';
import { logger } from './log.js';
import { registerSstCommand } from './sst/command.js';
import { registerTunnelCommands } from './tunnel/command.js';
import { registerCertsCommand } from './certs/command.js';
import { registerDoctorCommand } from './doctor/command.js';
import { registerBenchCommand } from './bench/command.js';
import { registerDemoCommand } from './demo/command.js';
import { VERSION } from './version.js';

function buildProgram(): Command {
  const program = new Command('sst-tunnel')
    .description('Encrypted State Snapshot Transfer for MariaDB Galera (wsrep_sst_method=rsync_tunnel)')
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride()
    // Help and usage errors go to stderr: stdout may belong to mysqld.
    .configureOutput({ writeOut: (s) => process.stderr.write(s), writeErr: (s) => process.stderr.write(s) });
  registerSstCommand(program);
  registerTunnelCommands(program);
  registerCertsCommand(program);
  registerDoctorCommand(program);
  registerBenchCommand(program);
  registerDemoCommand(program);
  for (const command of program.commands) {
    command.exitOverride();
    command.configureOutput({
      writeOut: (s) => process.stderr.write(s),
      writeErr: (s) => process.stderr.write(s),
    });
  }
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with exit code 0; usage errors with 22 (EINVAL).
      return error.exitCode === 0 ? 0 : 22;
    }
    logger().error(describeError(error));
    return exitCodeOf(error);
  }
}

// No top-level await: the single executable runs this file bundled as CommonJS (Node 20's SEA has no ESM entry).
// Exit explicitly: a role may still hold handles (a dying child's pipes) that must not keep mysqld waiting.
void main(process.argv).then((code) => process.exit(code));
