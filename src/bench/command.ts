/** Registers the `bench` command(s) on the program. Placeholder until the bench module lands. */
import type { Command } from 'commander';

export function registerBenchCommand(_program: Command): void {}
