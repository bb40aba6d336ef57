/** What `certs` prints: the `[sst]` lines to paste, one-line summaries, `certs show` blocks, JSON. Pure text. */
import { dirname } from 'node:path';
import type { CreatedCa } from './createCa.js';
import type { CreatedNodeCert } from './createNodeCert.js';
import type { CertificateInfo } from './inspect.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The `[sst]` option-file group that makes a node use these files. */
export function sstLines(paths: { caPath: string; certPath: string; keyPath: string }): string {
  return `[sst]\ntca=${paths.caPath}\ntcert=${paths.certPath}\ntkey=${paths.keyPath}\n`;
}

/** SANs as OpenSSL prints them: "DNS:db1, IP:10.0.0.2". */
export function formatSans(sans: CertificateInfo['sans']): string {
  const all = [...sans.dns.map((n) => `DNS:${n}`), ...sans.ips.map((n) => `IP:${n}`), ...sans.other];
  return all.length === 0 ? '(none)' : all.join(', ');
}

/** "expires in 824 days", "expired 3 days ago", "not valid before ...": the state at `now`. */
export function validityState(info: CertificateInfo, now: Date = new Date()): string {
  const start = Date.parse(info.notBefore);
  const end = Date.parse(info.notAfter);
  if (now.getTime() < start) return `not valid before ${info.notBefore}`;
  const days = Math.floor(Math.abs(end - now.getTime()) / DAY_MS);
  return now.getTime() >= end ? `EXPIRED ${days} days ago` : `expires in ${days} days`;
}

/** The one-line summary after `certs init`, and the next step. */
export function caSummary(result: CreatedCa): string {
  const c = result.certificate;
  return (
    `Created cluster CA "${c.subject}" (${c.keyType}, serial ${c.serial}, expires ${c.notAfter}): ` +
    `${result.certPath}, key ${result.keyPath}\n` +
    `Next, for each node: sst-tunnel certs node --dir ${dirname(result.certPath)} --name <node address> [--dns NAME]... [--ip IP]...\n`
  );
}

/** The `[sst]` lines and the one-line summary after `certs node`. */
export function nodeSummary(result: CreatedNodeCert): string {
  const c = result.certificate;
  return (
    sstLines(result) +
    `\n# ${c.subject}, SANs ${formatSans(c.sans)}, ${c.keyType}, serial ${c.serial}, ` +
    `expires ${c.notAfter}, issuer "${c.issuer}"\n`
  );
}

/** One certificate as `certs show` prints it. */
export function formatCertificate(info: CertificateInfo, label: string, now: Date = new Date()): string {
  const rows: [string, string][] = [
    ['Subject', info.subject],
    ['Issuer', info.issuer],
    ['Serial', info.serial],
    ['Not before', info.notBefore],
    ['Not after', `${info.notAfter} (${validityState(info, now)})`],
    ['SANs', formatSans(info.sans)],
    ['Key', info.keyType],
    ['CA', info.isCa ? 'yes' : 'no'],
    ['Key usage', info.keyUsage.join(', ') || '(none)'],
    ['Extended key usage', info.extendedKeyUsage.join(', ') || '(none)'],
    ['SHA-256 fingerprint', info.fingerprintSha256],
  ];
  return `${label}\n${rows.map(([key, value]) => `  ${`${key}:`.padEnd(21)}${value}`).join('\n')}\n`;
}

/** `certs show` for several files: one block per certificate, labelled "file" or "file [2/3]" in a bundle. */
export function formatShow(
  files: readonly { file: string; certificates: CertificateInfo[] }[],
  now: Date = new Date(),
): string {
  const blocks: string[] = [];
  for (const { file, certificates } of files) {
    certificates.forEach((info, i) => {
      const label = certificates.length === 1 ? file : `${file} [${i + 1}/${certificates.length}]`;
      blocks.push(formatCertificate(info, label, now));
    });
  }
  return blocks.join('\n');
}

/** JSON output: one object, two-space indented, newline-terminated. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
