/** Registers `demo`: a real encrypted SST on this machine with a built-in default, then cleanup. */
import { Command, Option } from 'commander';
import { UsageError } from '../errors.js';

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'Make a throwaway CA and node certificates, run a real encrypted SST on this machine (two MariaDB Galera nodes on 127.0.0.10/11 when installed, else two datadirs through the mysqld contract), print the figures, clean up',
    )
    .addOption(
      new Option('--mode <mode>', 'galera, contract, or auto (galera when MariaDB is installed)')
        .choices(['auto', 'galera', 'contract'])
        .default('auto'),
    )
    .option('--size-mib <n>', 'data to load on the donor, in MiB', '64')
    .option('--keep', 'keep the temporary directory (certificates, datadirs, logs)', false)
    .action(async (opts: { mode: 'auto' | 'galera' | 'contract'; sizeMib: string; keep: boolean }) => {
      const sizeMiB = Number(opts.sizeMib);
      if (!Number.isInteger(sizeMiB) || sizeMiB < 1 || sizeMiB > 65536) {
        throw new UsageError(
          `Cannot use --size-mib "${opts.sizeMib}": expected a whole number from 1 to 65536`,
        );
      }
      const [{ runDemo }, { endOnSignals }] = await Promise.all([
        import('./run.js'),
        import('./exitCleanup.js'),
      ]);
      endOnSignals('demo');
      await runDemo({ mode: opts.mode, sizeMiB, keep: opts.keep, out: (text) => process.stdout.write(text) });
    });
}
