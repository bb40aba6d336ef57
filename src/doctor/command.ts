/** Registers the `doctor` command(s) on the program. Placeholder until the doctor module lands. */
import type { Command } from 'commander';

export function registerDoctorCommand(_program: Command): void {}
