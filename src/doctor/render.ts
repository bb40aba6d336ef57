/** The doctor's output: a readable checklist (✓ / ! / ✗, a fix line under each problem) or JSON. Pure text. */
import type { CheckResult, CheckStatus } from '../preflight/result.js';

const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

/** Section titles by the first part of a check id. */
const SECTIONS: Record<string, string> = {
  config: 'Configuration',
  address: 'Advertised address',
  file: 'Files',
  pem: 'Files',
  cert: 'Node certificate',
  ca: 'CA certificates',
  rsync: 'Host',
  datadir: 'Host',
  port: 'Host',
  peer: 'Peer',
  listen: 'Listener',
};

/** One check as checklist lines. */
export function renderCheck(check: CheckResult): string {
  const line = `  ${MARK[check.status]} ${check.message}\n`;
  return check.hint === undefined ? line : `${line}      fix: ${check.hint}\n`;
}

/** The checklist under section headings (in order of first appearance), then a one-line summary. */
export function renderText(checks: readonly CheckResult[]): string {
  const order: string[] = [];
  const bySection = new Map<string, CheckResult[]>();
  for (const check of checks) {
    const title = SECTIONS[check.id.split('.')[0] ?? ''] ?? 'Other';
    if (!bySection.has(title)) {
      bySection.set(title, []);
      order.push(title);
    }
    bySection.get(title)?.push(check);
  }
  const blocks = order.map((title) => `${title}\n${(bySection.get(title) ?? []).map(renderCheck).join('')}`);
  return `${blocks.join('\n')}\n${summary(checks)}\n`;
}

/** "12 ok, 1 warning, 2 failures". */
export function summary(checks: readonly CheckResult[]): string {
  const count = (s: CheckStatus): number => checks.filter((c) => c.status === s).length;
  const n = (k: number, word: string): string => `${k} ${word}${k === 1 ? '' : 's'}`;
  return `${count('ok')} ok, ${n(count('warn'), 'warning')}, ${n(count('fail'), 'failure')}`;
}

/** JSON output: one object, two-space indented, newline-terminated. */
export function renderJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
