/** Registers the `sst` command(s) on the program. Placeholder until the sst module lands. */
import type { Command } from 'commander';

export function registerSstCommand(_program: Command): void {}
