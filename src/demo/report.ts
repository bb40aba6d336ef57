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
  /** Data against bytes on the wire, with the donor's transfer mode: `whole files: 1.0 GiB of data, ...`. */
  wire?: string;
}

/** The head every summary line has; what follows it is a list of optional parts (see summaryLine, donor, joiner). */
const HEAD =
  /SST (joiner|donor) finished: (\S+ \S+) in ([\d.]+) s \((\S+ \S+)\) over (\d+) TLS connection\(s\)/;
/** The log's own time stamp closing a WSREP_SST line. */
const STAMP = / \(\d{8} [\d:.]+\)$/;

/**
 * The last summary line of `role` in a log, parsed; undefined when there is none. The head is fixed; the parts
 * after it are read one by one, so a part added to the line later (as the transfer mode was) costs a figure at
 * most, never the whole summary: `, TLSv1.3 <cipher>`, `, peer verified by <field> "<value>"` or
 * `, peer "<subject>" (chain verified)`, then `; `-separated notes: `transfer <mode>: <data> of data, <wire> on
 * the wire (<ratio>)` (the joiner's has no `transfer <mode>: `), `stages: ...`.
 */
export function findSummary(log: string, role: 'joiner' | 'donor'): SstSummary | undefined {
  const lines = log.split('\n').filter((line) => line.includes(`SST ${role} finished:`));
  const line = (lines.at(-1) ?? '').replace(STAMP, '');
  const m = HEAD.exec(line);
  if (m === null) return undefined;
  const summary: SstSummary = {
    role: m[1] ?? role,
    bytes: m[2] ?? '',
    seconds: Number(m[3]),
    rate: m[4] ?? '',
    connections: Number(m[5]),
  };
  const [first = '', ...notes] = line.slice(m.index + m[0].length).split('; ');
  const tls = /, (TLSv[\d.]+ [\w-]+)/.exec(first);
  if (tls?.[1] !== undefined) summary.tls = tls[1];
  const peer = /, peer verified by (.+)$/.exec(first) ?? /, peer ("[^"]*" \(chain verified\))/.exec(first);
  if (peer?.[1] !== undefined) summary.peer = peer[1];
  for (const note of notes) {
    if (note.startsWith('stages: ')) summary.stages = note.slice('stages: '.length);
    else if (note.includes(' on the wire')) summary.wire = note.replace(/^transfer /, '');
  }
  return summary;
}

/** The last transfer choice in a donor's log: the mode, whether auto made it, the link it read, a mixed split. */
export interface TransferChoiceSeen {
  mode: string;
  auto: boolean;
  link?: string;
  split?: string;
}

/**
 * The donor's last `Transfer: <mode> (<reason>)` line, and the `Mixed copy:` line after it, parsed. Pure: the
 * demo's report and the bench's progress lines read the same lines.
 */
export function lastTransferChoice(log: string): TransferChoiceSeen | undefined {
  const choice = [...log.matchAll(/Transfer: ([^(\n]+?) \((auto: )?([^\n]*)\)\s*$/gm)].at(-1);
  if (choice === undefined) return undefined;
  const seen: TransferChoiceSeen = { mode: choice[1] ?? '', auto: choice[2] !== undefined };
  const link = /the (?:link|first pass) moved ([\d.]+ [KMG]?i?B\/s)/.exec(choice[3] ?? '')?.[1];
  if (link !== undefined) seen.link = link;
  const after = log.slice((choice.index ?? 0) + choice[0].length);
  const split = /Mixed copy: (.*?)(?: \(\d{8} [\d:.]+\))?$/m.exec(after)?.[1];
  if (split !== undefined) seen.split = split;
  return seen;
}

/** `label ........ value` lines, dots to a common column. */
export function renderReport(title: string, rows: [string, string][]): string {
  const width = Math.max(...rows.map(([label]) => label.length)) + 4;
  const body = rows.map(([label, value]) => `  ${label} ${'.'.repeat(width - label.length)} ${value}`);
  return `${title}\n${body.join('\n')}\n`;
}
