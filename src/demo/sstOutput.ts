/**
 * What an SST script said, for failure messages: its own `WSREP_SST` lines and every other line of its stderr (a
 * Node crash trace, an error of the shell shim, rsync's messages), picked out of a mariadbd error log where they
 * are mixed with mariadbd's own lines, or taken from a stand-in's captured stderr. One formatter for the Galera
 * harness, the benchmarks and the stand-in suites, so every failed SST shows both sides' reasons the same way.
 */

/** The lines an SST script (and its children) wrote, split by kind. */
export interface SstScriptOutput {
  /** `WSREP_SST: [LEVEL] ...` lines, in order. */
  wsrep: string[];
  /** Everything else the script side wrote (crash traces, shim errors, rsync's own lines). */
  other: string[];
}

// mariadbd's own lines: "2026-12-05 15:09:01 0 [Note] ...", and the untimestamped "Version: ..." after startup.
const MARIADBD_LINE = /^\d{4}-\d{2}-\d{2}\s+\d{1,2}:\d{2}:\d{2}\s|^Version: '/;
// mariadbd's crash report ("[ERROR] mysqld got signal 6 ;" then a dozen untimestamped lines) is not the script's.
const CRASH_START = /got signal \d+ ;/;
// A continuation of the line before: Galera's multi-line notes (views, grastate), a Node stack frame.
const CONTINUATION = /^(\s|[{}()]|View:|members|={5,}|Version: \d|UUID: |Seqno: |Offset: |Synced: )/;

/** Splits a mariadbd error log (or a script's bare stderr) into the SST script's WSREP_SST lines and its other output. */
export function sstScriptOutput(text: string): SstScriptOutput {
  const out: SstScriptOutput = { wsrep: [], other: [] };
  // Whose lines an untimestamped continuation belongs to: mariadbd's (dropped) or the script's (kept).
  let owner: 'mariadbd' | 'crash' | 'script' = 'script';
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('WSREP_SST:')) {
      out.wsrep.push(line);
      owner = 'script';
    } else if (MARIADBD_LINE.test(line)) {
      owner = CRASH_START.test(line) ? 'crash' : 'mariadbd';
    } else if (owner === 'crash' || (owner === 'mariadbd' && CONTINUATION.test(line))) {
      continue;
    } else {
      out.other.push(line);
      owner = 'script';
    }
  }
  return out;
}

/** One side of an SST for a failure message: a label, where its full log is, and the text to pick lines from. */
export interface SstSide {
  /** e.g. `joiner "node2"`; the section reads `<label> SST lines:`. */
  label: string;
  /** Where the complete log lies (an error log path), or how it was captured. */
  where: string;
  text: string;
}

/** The last `max` entries, with a note of how many came before. */
function lastOf(lines: string[], max: number): string[] {
  return lines.length <= max ? lines : [`... (${lines.length - max} earlier lines)`, ...lines.slice(-max)];
}

/**
 * A failure report of every side: its WSREP_SST lines, its other script output, and where its whole log lies.
 * `max` bounds each list (the newest lines are kept: they hold the reason).
 */
export function renderSstSides(sides: SstSide[], max = 40): string {
  return sides
    .map(({ label, where, text }) => {
      const { wsrep, other } = sstScriptOutput(text);
      const parts = [`${label} SST lines: (full log: ${where})`];
      parts.push(
        ...(wsrep.length === 0 ? ['  (no WSREP_SST line)'] : lastOf(wsrep, max).map((l) => `  ${l}`)),
      );
      if (other.length > 0) {
        parts.push(`${label} other script output:`);
        parts.push(...lastOf(other, max).map((l) => `  ${l}`));
      }
      return parts.join('\n');
    })
    .join('\n');
}
