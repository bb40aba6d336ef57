/**
 * `[sst] transfer` as the configuration reads it: the words it accepts and the default a method name implies.
 * What each mode does to rsync's passes, and how auto chooses, is src/sst/transferMode.ts; this sits in config so
 * that reading my.cnf does not load the SST.
 */

/** `[sst] transfer`. */
export type TransferSetting = 'whole' | 'delta' | 'auto';
export const TRANSFER_SETTINGS: readonly TransferSetting[] = ['whole', 'delta', 'auto'];

/** The method name whose script makes `delta` the default, as MariaDB's `rsync_wan` does for `rsync`. */
export const WAN_METHOD_SUFFIX = '_wan';

/**
 * `[sst] transfer`'s default: delta when run as the `_wan` method's script, else auto. auto chose the fastest
 * fixed mode in every SST the bench ran with it and came within 5% of that mode's time at 1 Gbit/s and on an
 * unshaped link, while whole files took 4x as long at 200 Mbit/s (BENCHMARKS.md "Slow links, sixth run"):
 * the figures no longer say it can lose (issue #17).
 */
export function defaultTransfer(scriptName: string | undefined): TransferSetting {
  return scriptName !== undefined && scriptName.endsWith(WAN_METHOD_SUFFIX) ? 'delta' : 'auto';
}
