/** Registers `sst`: the SST role as mysqld runs it, through scripts/wsrep_sst_rsync_tunnel. */
import type { Command } from 'commander';

export function registerSstCommand(program: Command): void {
  program
    .command('sst')
    .description(
      'Run an SST role exactly as mysqld invokes wsrep_sst_rsync_tunnel (--role joiner|donor --address ... --datadir ...)',
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[mysqld-arguments...]', 'the arguments mysqld passes to an SST script')
    .action(async (mysqldArguments: string[]) => {
      const { runSst } = await import('./run.js');
      await runSst(mysqldArguments);
    });
}
