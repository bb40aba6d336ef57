/**
 * What the demo prints: the figures an SST side logs in its summary line, read back from a log, and the final
 * report as aligned lines. Pure.
 */

/** The figures of one `SST <role> finished: ...` summary line. */
export interface SstSummary {
  role: string;
  bytes: string;
  seconds: number;
  rate: string;
  connections: number;
  tls?: string;
  peer?: string;
  /** Donor only: wall time per stage (root, InnoDB/Aria, directories). */
  stages?: string;
}

const SUMMARY =
  /SST (joiner|donor) finished: (\S+ \S+) in ([\d.]+) s \((\S+ \S+)\) over (\d+) TLS connection\(s\)(?:, (TLSv[\d.]+ \S+))?(?:, peer verified by ([^;]+?))?(?:; stages: (.+?))?(?: \(\d{8} [\d:.]+\))?$/m;

/** The last summary line of `role` in a log, parsed; undefined when there is none. */
export function findSummary(log: string, role: 'joiner' | 'donor'): SstSummary | undefined {
  const lines = log.split('\n').filter((line) => line.includes(`SST ${role} finished:`));
  const m = SUMMARY.exec(lines.at(-1) ?? '');
  if (m === null) return undefined;
  const summary: SstSummary = {
    role: m[1] ?? role,
    bytes: m[2] ?? '',
    seconds: Number(m[3]),
    rate: m[4] ?? '',
    connections: Number(m[5]),
  };
  if (m[6] !== undefined) summary.tls = m[6];
  if (m[7] !== undefined) summary.peer = m[7];
  if (m[8] !== undefined) summary.stages = m[8];
  return summary;
}

/** `label ........ value` lines, dots to a common column. */
export function renderReport(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 4;
  const body = rows.map(([label, value]) => `  ${label} ${'.'.repeat(width - label.length)} ${value}`);
  return `${title}\n${body.join('\n')}\n`;
}
