/**
 * Registers `sst-tunnel bench`: tunnel-only streams, rsync through each tunnel, and full SSTs on a real Galera
 * cluster, interleaved in rounds; a table on stdout, the raw runs and summaries as JSON. The work is imported
 * lazily, as every command's is (cli.ts).
 */
import type { Command } from 'commander';
import type { BenchCliOptions } from './options.js';

/** Adds the `bench` command to the program. */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'Measure the tunnel against socat, stunnel and plain TCP; rsync and a full Galera SST through each',
    )
    .option('--size <GiB>', 'GiB per tunnel-only run (default 2; 0.25 with --quick)')
    .option('--rounds <n>', 'interleaved rounds (default 3; 1 with --quick)')
    .option(
      '--only <suite>',
      "run one suite: tunnel, rsync, sst, wan (Galera over a shaped veth between two namespaces) or readonly (the donor's read-only window: plain rsync, copy = single, copy = two-phase, quiet and under a write load); wan and readonly never run by default",
    )
    .option('--json <file>', 'write every run and the summaries as JSON')
    .option('--quick', 'small sizes, one round, no SST: a smoke test under a minute')
    .option(
      '--sst-mib <MiB>',
      'payload loaded into the Galera donor for the sst and wan suites (default 1024) and readonly (default 1700: a joiner datadir of about 1.6 GiB)',
    )
    .option('--profile', 'run our tunnel under node --cpu-prof (profiles land in the working directory)')
    .option(
      '--variants <ids>',
      'only these tunnels, comma-separated (none, plain, ours, ours-w2, ours-pipe, socat, socat-b128k, stunnel); each suite keeps its reference',
    )
    .option('--datasets <ids>', 'only these rsync datasets, comma-separated (large, small, smallpar)')
    .option(
      '--wan-rates <Mbit>',
      'wan suite: link rates in Mbit/s, comma-separated, 0 = unshaped (default 200,1000,0)',
    )
    .option(
      '--wan-variants <ids>',
      'wan suite: rsync, rsync_wan-stunnel, ours-whole, ours-compress (zstd), ours-lz4, ours-delta, ours-delta-zstd, ours-delta-zstd-4k, ours-auto, ours-whole-nosplit, ours-compress-nosplit (default all)',
    )
    .option(
      '--wan-scenarios <ids>',
      'wan suite: full, rejoin (one row in 20 UPDATEd, spread), append (rows added, 1 in 20 more); rejoin and append exclude each other (default full,rejoin)',
    )
    .option(
      '--wan-copy <mode>',
      "wan suite: our variants' [sst] copy, single or two-phase (default single: the transfer modes compared alone)",
    )
    .option('--readonly-loads <ids>', 'readonly suite: quiet, write (default both)')
    .option(
      '--readonly-variants <ids>',
      'readonly suite: rsync, single, two-phase (default all; single always runs, the ratios are against it)',
    )
    .action(async (opts: BenchCliOptions) => {
      const [{ runBench }, { endOnSignals }] = await Promise.all([
        import('./run.js'),
        import('../demo/exitCleanup.js'),
      ]);
      endOnSignals('bench');
      await runBench(opts);
    });
}
