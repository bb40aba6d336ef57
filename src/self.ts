/**
 * How sst-tunnel starts itself again: the donor's connector (rsync's --rsh) and the listener's worker processes.
 *
 * Two kinds of installation run this code. From a checkout or the npm bundle, Node runs a script: the command is
 * `node <flags> <script> <subcommand>`. In the single executable (scripts/sea.mjs, the Debian package) the
 * runtime and the program are one file: the command is `<executable> <subcommand>`, with no script and no Node
 * flags on the command line (the executable takes every argument as the program's own; its Node flags come from
 * NODE_OPTIONS, which the wrapper sets and children inherit).
 */

/**
 * Node flags for every tunnel process (scripts/wsrep_sst_rsync_tunnel passes the same to the SST process): a 1 MB
 * semi-space makes young GCs frequent enough that per-read Buffers are freed sooner (peak RSS, scripts/bench-rss.mjs).
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Replaced by `true` when scripts/sea.mjs bundles the single executable (esbuild `define`). */
declare const __SST_TUNNEL_SEA__: boolean | undefined;

/** True inside the single executable. */
export const IN_SEA = typeof __SST_TUNNEL_SEA__ !== 'undefined' && __SST_TUNNEL_SEA__;

/** A way to run a subcommand of sst-tunnel: `file ...args <subcommand> ...`. */
export interface SelfCommand {
  file: string;
  args: readonly string[];
}

/**
 * The command that runs this program again. `script` is the program file Node runs (ignored in the single
 * executable, which is its own program).
 */
export function selfCommand(script: string | undefined): SelfCommand {
  if (IN_SEA) return { file: process.execPath, args: [] };
  if (script === undefined) throw new Error('Cannot start sst-tunnel again: no CLI script to run');
  return { file: process.execPath, args: [...NODE_FLAGS, script] };
}
