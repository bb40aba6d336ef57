/** Registers the `certs` command(s) on the program. Placeholder until the certs module lands. */
import type { Command } from 'commander';

export function registerCertsCommand(_program: Command): void {}
