/** Registers the `demo` command(s) on the program. Placeholder until the demo module lands. */
import type { Command } from 'commander';

export function registerDemoCommand(_program: Command): void {}
