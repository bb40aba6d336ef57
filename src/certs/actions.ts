/** The `certs` subcommands behind the CLI: turn parsed options into API calls and print the result to `write`. */
import { logger } from '../log.js';
import { createCa } from './createCa.js';
import { createNodeCert } from './createNodeCert.js';
import { readCertificateFile } from './inspect.js';
import { parseKeyType } from './keyType.js';
import { parseDays } from './names.js';
import { caSummary, formatShow, nodeSummary, toJson } from './report.js';

/** Where results go: stdout in the CLI (these are operator commands, not SST roles), a buffer in tests. */
export type Write = (text: string) => void;

/** Options of `certs init` as commander hands them over (strings, unchecked). */
export interface InitCliOptions {
  dir: string;
  cn?: string;
  days?: string;
  keyType?: string;
  force?: boolean;
  json?: boolean;
}

/** Options of `certs node` as commander hands them over. */
export interface NodeCliOptions {
  dir: string;
  name: string;
  dns?: string[];
  ip?: string[];
  days?: string;
  keyType?: string;
  force?: boolean;
  json?: boolean;
}

/** Keys land as root:root 0600 when root runs this; mysqld runs as another user and could not read them. */
function hintOwnership(dir: string): void {
  if (process.getuid?.() === 0) {
    logger('certs').info(
      `Files are owned by root; let mysqld read them, for example: chown -R mysql: "${dir}"`,
    );
  }
}

/** `certs init`. */
export async function runInit(opts: InitCliOptions, write: Write): Promise<void> {
  const result = await createCa({
    dir: opts.dir,
    ...(opts.cn !== undefined ? { cn: opts.cn } : {}),
    ...(opts.days !== undefined ? { days: parseDays(opts.days) } : {}),
    ...(opts.keyType !== undefined ? { keyType: parseKeyType(opts.keyType) } : {}),
    force: opts.force ?? false,
  });
  write(opts.json === true ? toJson({ kind: 'ca', ...result }) : caSummary(result));
  hintOwnership(opts.dir);
}

/** `certs node`. */
export async function runNode(opts: NodeCliOptions, write: Write): Promise<void> {
  const result = await createNodeCert({
    dir: opts.dir,
    name: opts.name,
    dns: opts.dns ?? [],
    ips: opts.ip ?? [],
    ...(opts.days !== undefined ? { days: parseDays(opts.days) } : {}),
    ...(opts.keyType !== undefined ? { keyType: parseKeyType(opts.keyType) } : {}),
    force: opts.force ?? false,
  });
  const sst = { tca: result.caPath, tcert: result.certPath, tkey: result.keyPath };
  write(opts.json === true ? toJson({ kind: 'node', ...result, sst }) : nodeSummary(result));
  hintOwnership(opts.dir);
}

/** `certs show`: every certificate of every file; all files are read before anything is printed. */
export async function runShow(
  files: readonly string[],
  opts: { json?: boolean },
  write: Write,
): Promise<void> {
  const described = await Promise.all(
    files.map(async (file) => ({ file, certificates: await readCertificateFile(file) })),
  );
  write(opts.json === true ? toJson(described) : formatShow(described));
}
