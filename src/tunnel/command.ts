/** Registers the `tunnel` command(s) on the program. Placeholder until the tunnel module lands. */
import type { Command } from 'commander';

export function registerTunnelCommands(_program: Command): void {}
