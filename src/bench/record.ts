/** One measured run, as the suites produce it and as the JSON output holds it. */
import type { RelayCost } from './relays.js';

/** The three suites of `sst-tunnel bench`. */
export type Suite = 'tunnel' | 'rsync' | 'sst';

/** One run of one variant in one round. */
export interface RunRecord {
  suite: Suite;
  /** What moved: "stream", "large", "small", "smallpar", "sst". */
  dataset: string;
  /** Stable variant id, e.g. "ours", "socat-b128k", "ours-x2". */
  variant: string;
  name: string;
  round: number;
  /** Payload bytes (what the source sent, the files' sizes, or the joiner's datadir). */
  bytes: number;
  wallS: number;
  cost?: RelayCost;
  /** rsync's own CPU: the client(s) and the daemon side. */
  rsyncCpuS?: { client: number; daemon: number };
  error?: string;
}

/** Bytes per GiB. */
export const GiB = 2 ** 30;
