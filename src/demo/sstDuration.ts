/**
 * How long the last SST took, read from the joiner's error log. Pure, so the benchmarks can reuse it on any log.
 *
 * Lines it relies on (checked in a real MariaDB 10.11.19 + galera-4 26.4.23 joiner log, wsrep_sst_method=rsync):
 *   mysqld, second resolution, "YYYY-MM-DD HH:MM:SS" (the hour space-padded: "2026-11-22  7:13:11"):
 *     `... [Note] WSREP: Running: 'wsrep_sst_rsync --role 'joiner' --address ...`  the joiner script is spawned
 *     `... [Note] WSREP: Requesting state transfer: success, donor: 0`            fallback start
 *     `... [Note] WSREP: SST succeeded for position <uuid>:<seqno>`               end: InnoDB is up on the new data
 *     `... [Note] WSREP: Synchronized with group, ready for connections`         fallback end
 *   SST script stderr, millisecond resolution, "(YYYYMMDD HH:MM:SS.mmm)" at the end of the line (sst-contract.md 2.5):
 *     `WSREP_SST: [INFO] rsync SST started on joiner (20261122 07:13:11.384)`     precise start
 *     the last `WSREP_SST:` line before mysqld's "SST received" (rsync: `Joiner cleanup done.`) = precise end
 * Both clocks are local time. When the script logs its start line, the script's first and last lines are used
 * (millisecond precision, the script's own run); otherwise mysqld's lines (second precision, +/- 1 s).
 * A log may hold several SSTs (a node restarted into the same log): the last successful one counts.
 */

/** Start and end of one SST as found in a log, with the lines used. */
export interface SstTiming {
  startMs: number;
  endMs: number;
  durationMs: number;
  precision: 'ms' | 's';
  startLine: string;
  endLine: string;
}

const MYSQLD_TIME = /^(\d{4})-(\d{2})-(\d{2}) +(\d{1,2}):(\d{2}):(\d{2}) /;
const SCRIPT_TIME = /^WSREP_SST: .*\((\d{4})(\d{2})(\d{2}) (\d{2}):(\d{2}):(\d{2})\.(\d{3})\)\s*$/;

/** Milliseconds since the epoch of a mysqld line ("YYYY-MM-DD HH:MM:SS") or a WSREP_SST line ("(YYYYMMDD HH:MM:SS.mmm)"). */
export function lineTime(line: string): { ms: number; precision: 'ms' | 's' } | undefined {
  const script = SCRIPT_TIME.exec(line);
  const m = script ?? MYSQLD_TIME.exec(line);
  if (m === null) return undefined;
  const [y, mo, d, h, mi, s, frac] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number?,
  ];
  return {
    ms: new Date(y, mo - 1, d, h, mi, s, frac ?? 0).getTime(),
    precision: script === null ? 's' : 'ms',
  };
}

function lastIndex(lines: string[], end: number, test: (line: string) => boolean, from = 0): number {
  for (let i = end - 1; i >= from; i--) if (test(lines[i] as string)) return i;
  return -1;
}

function firstIndex(lines: string[], from: number, test: (line: string) => boolean): number {
  for (let i = from; i < lines.length; i++) if (test(lines[i] as string)) return i;
  return -1;
}

const isSucceeded = (l: string): boolean => l.includes('WSREP: SST succeeded for position');
const isSynced = (l: string): boolean => l.includes('WSREP: Synchronized with group');
const isScriptStart = (l: string): boolean =>
  l.startsWith('WSREP_SST:') && l.includes('SST started on joiner');
const isSpawn = (l: string): boolean => /WSREP: Running: 'wsrep_sst_\S+ --role 'joiner'/.test(l);
const isRequest = (l: string): boolean => l.includes('WSREP: Requesting state transfer');
const isReceived = (l: string): boolean => l.includes('WSREP: SST received');

/** The start, end and duration of the last successful SST in a joiner's error log, or undefined if there is none. */
export function sstTimingFromLog(errorLog: string): SstTiming | undefined {
  const lines = errorLog.split('\n');
  let endIdx = lastIndex(lines, lines.length, isSucceeded);
  if (endIdx < 0) endIdx = lastIndex(lines, lines.length, isSynced);
  if (endIdx < 0) return undefined;
  // The SST belongs to the latest spawn of the joiner script before the end marker.
  let spawnIdx = lastIndex(lines, endIdx, isSpawn);
  if (spawnIdx < 0) spawnIdx = lastIndex(lines, endIdx, isRequest);
  if (spawnIdx < 0) return undefined;
  let startIdx = spawnIdx;
  let stopIdx = endIdx;
  const scriptStart = lastIndex(lines, endIdx, isScriptStart, spawnIdx);
  if (scriptStart >= 0) {
    const received = firstIndex(lines, scriptStart, isReceived);
    const scriptEnd = lastIndex(
      lines,
      received < 0 ? endIdx : received,
      (l) => SCRIPT_TIME.test(l),
      scriptStart + 1,
    );
    if (scriptEnd >= 0) {
      startIdx = scriptStart;
      stopIdx = scriptEnd;
    }
  }
  const start = lineTime(lines[startIdx] as string);
  const end = lineTime(lines[stopIdx] as string);
  if (start === undefined || end === undefined) return undefined;
  return {
    startMs: start.ms,
    endMs: end.ms,
    durationMs: end.ms - start.ms,
    precision: start.precision === 'ms' && end.precision === 'ms' ? 'ms' : 's',
    startLine: lines[startIdx] as string,
    endLine: lines[stopIdx] as string,
  };
}

/** Wall time of the last successful SST in a joiner's error log, in milliseconds (see the file comment for the lines). */
export function sstDurationFromLog(errorLog: string): number | undefined {
  return sstTimingFromLog(errorLog)?.durationMs;
}
