/**
 * What a role runs with, and the end-of-SST summary line (design.md "Numbers"): bytes, duration, rate, TLS
 * version and cipher, and the verified peer identity.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SelfCommand } from '../self.js';
import type { Lifecycle } from './lifecycle.js';
import type { MysqldAuth } from './mysqldAuth.js';
import type { Prepared } from './prepare.js';
import type { Protocol } from './protocol.js';

/** The running role's world. */
export interface RoleContext {
  prepared: Prepared;
  lifecycle: Lifecycle;
  protocol: Protocol;
  signal: AbortSignal;
  /** A private (0700) directory for this SST's transient files, removed at exit. */
  tmpdir: string;
  /** How to start this program again (the connector rsync runs as its remote shell). */
  cli: SelfCommand;
  /** Donor: mysqld's credentials (10.x environment or the 11.6+ stdin pipe), read from the start of the run. */
  mysqldAuth?: Promise<MysqldAuth>;
}

/** One connection's figures, as the connector reports them or the listener counts them. */
export interface SessionFigures {
  bytesIn: number;
  bytesOut: number;
  protocol?: string;
  cipher?: string;
  peer?: string;
  match?: { field: string; value: string };
  /** The peer certificate's subject, e.g. `CN=node1` (named in the summary when no name had to match). */
  subject?: string;
  /** Joiner: whether the donor proved this SST's binding token on it, or sent plain rsync (sstBinding.ts). */
  binding?: 'bound' | 'unbound';
  error?: string;
}

/** Human-readable bytes, binary units. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** The one summary line of an SST side; `verified` false (sockopt verify=0) says so there too. */
export function summaryLine(
  role: string,
  sessions: SessionFigures[],
  durationMs: number,
  verified = true,
): string {
  const bytes = sessions.reduce((sum, s) => sum + s.bytesIn + s.bytesOut, 0);
  const seconds = Math.max(durationMs, 1) / 1000;
  const tls = sessions.find((s) => s.protocol !== undefined);
  const matched = sessions.find((s) => s.match !== undefined);
  const subject = sessions.find((s) => s.subject !== undefined)?.subject;
  const parts = [
    `SST ${role} finished: ${formatBytes(bytes)} in ${seconds.toFixed(1)} s (${formatBytes(bytes / seconds)}/s) over ${sessions.length} TLS connection(s)`,
  ];
  if (tls?.protocol !== undefined) parts.push(`${tls.protocol} ${tls.cipher ?? ''}`.trim());
  if (!verified) parts.push('peer NOT verified (sockopt verify=0)');
  else if (matched?.match !== undefined)
    parts.push(`peer verified by ${matched.match.field} "${matched.match.value}"`);
  else if (subject !== undefined) parts.push(`peer "${subject}" (chain verified)`);
  return parts.join(', ');
}

/**
 * The joiner's evidence that the donor of THIS SST wrote here (issue #18), not just any holder of a certificate
 * of the CA; undefined when no connection was judged (no binding asked, every connection refused). A line of its
 * own: the summary line's shape is parsed by the demo (demo/report.ts).
 */
export function bindingLine(sessions: SessionFigures[]): string | undefined {
  const judged = sessions.filter((s) => s.binding !== undefined);
  if (judged.length === 0) return undefined;
  const unbound = judged.filter((s) => s.binding === 'unbound').length;
  return unbound === 0
    ? `SST binding: the donor proved this SST's token on all ${judged.length} connection(s)`
    : `SST binding: ${unbound} of ${judged.length} connection(s) carried no proof of this SST's token (an original or older donor)`;
}

/** Reads the connectors' report files of a donor run. */
export function readReports(dir: string): SessionFigures[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    try {
      return [JSON.parse(readFileSync(join(dir, name), 'utf8')) as SessionFigures];
    } catch {
      return [];
    }
  });
}
