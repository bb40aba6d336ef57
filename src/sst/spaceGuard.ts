/**
 * The joiner's two space watches (issue 21), the I/O around spaceCheck.ts:
 * - the verdict: once the donor's total file is there, account each file system's share and write the verdict
 *   the data modules' `pre-xfer exec` gate reads (empty: go on; a line: refused), before any data pass starts;
 * - the watch: while data arrives, a file system that receiving directories live on that has no free byte left
 *   ends the SST within a poll period. rsync's receiver reads the rest of a file after a failed write and reports
 *   only at its end, which with a 100 GB table is many minutes of a blocked donor writing nothing.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { logger } from '../log.js';
import {
  account,
  freeBytes,
  NoSpaceError,
  parseAnnouncement,
  verdict,
  type SpaceProbe,
  systemProbe,
} from './spaceCheck.js';
import { formatBytes } from './roleContext.js';

const log = logger('joiner');

/** Where the joiner's modules and binlogs go, and where the verdict is written. */
export interface SpaceGuardOptions {
  modulePaths: ReadonlyMap<string, string>;
  binlogDir: string | undefined;
  verdictPath: string;
  /** Called once with the error that must end the SST. */
  fail: (error: NoSpaceError) => void;
  /** How often the free space is read; 250 ms keeps the bound at 2 s on a loaded machine. */
  pollMs?: number;
  /** Free bytes at or below which a file system counts as full. */
  fullAt?: number;
  probe?: SpaceProbe;
  free?: (path: string) => number;
}

/** A running guard: judge() with the total file's text once it arrived, stop() at the end. */
export interface SpaceGuard {
  judge(totalFileText: string): void;
  stop(): void;
}

function writeVerdict(path: string, text: string): void {
  // Renamed into place: the gate must never read half a line.
  writeFileSync(`${path}.tmp`, text, { mode: 0o644 });
  renameSync(`${path}.tmp`, path);
}

export function startSpaceGuard(opts: SpaceGuardOptions): SpaceGuard {
  const free = opts.free ?? freeBytes;
  const fullAt = opts.fullAt ?? 0;
  let failed = false;
  const fail = (error: NoSpaceError): void => {
    if (failed) return;
    failed = true;
    // Not logged here: the role's error is the SST's last log line, named once.
    opts.fail(error);
  };
  const dirs = [
    ...new Set([...opts.modulePaths.values(), ...(opts.binlogDir === undefined ? [] : [opts.binlogDir])]),
  ];
  const watch = setInterval(() => {
    for (const dir of dirs) {
      let bytes: number;
      try {
        bytes = free(dir);
      } catch {
        continue;
      }
      if (bytes <= fullAt) {
        fail(
          new NoSpaceError(
            `The file system of ${dir} is full (${formatBytes(bytes)} free) during the transfer: ending the SST now. Free space there (or move that directory to a larger file system), then restart this node to retry the SST`,
          ),
        );
        return;
      }
    }
  }, opts.pollMs ?? 250);
  return {
    judge(text) {
      const announcement = parseAnnouncement(text);
      if (announcement === undefined) {
        writeVerdict(opts.verdictPath, '');
        log.info(
          'The donor announced no per-directory sizes (an older donor): space is watched, not checked ahead',
        );
        return;
      }
      let refusal: string | undefined;
      try {
        refusal = verdict(account(announcement, opts.modulePaths, opts.binlogDir, opts.probe ?? systemProbe));
      } catch (error) {
        // A check that cannot run must not stop an SST that may well fit: the watch still guards the disk.
        log.warn(`Cannot check the free space ahead: ${(error as Error).message}`);
      }
      writeVerdict(opts.verdictPath, refusal === undefined ? '' : `${refusal}\n`);
      if (refusal !== undefined) fail(new NoSpaceError(refusal));
      else log.info('Free space checked: the transfer fits on every receiving file system');
    },
    stop() {
      clearInterval(watch);
    },
  };
}
