/**
 * Doctor test material: one good node made with src/certs (createCa/createNodeCert), and openssl-made
 * certificates for what src/certs refuses to make (CN only, CA CN = leaf CN, EKU serverAuth only).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCa, createNodeCert, type CreatedCa, type CreatedNodeCert } from '../../../src/certs/index.js';

/** A CA directory with one node certificate in it. */
export interface GoodNode {
  dir: string;
  ca: CreatedCa;
  node: CreatedNodeCert;
}

/** A cluster CA "Doctor CA" in `dir` and a certificate for `name` (default "node1", IP 10.0.0.2). */
export async function goodNode(
  dir: string,
  name = 'node1',
  ips = ['10.0.0.2'],
  caName = 'Doctor CA',
): Promise<GoodNode> {
  const ca = await createCa({ dir, cn: caName });
  const node = await createNodeCert({ dir, name, ips });
  return { dir, ca, node };
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Options of an openssl-made certificate signed by the CA of a GoodNode. */
export interface OddCert {
  cn: string;
  sans?: string[];
  /** extendedKeyUsage value, e.g. "serverAuth"; undefined = none. */
  eku?: string;
}

/** Issues `<dir>/<file>-cert.pem` and `-key.pem` with openssl, signed by `ca` (cert and key paths). */
export function opensslCert(
  dir: string,
  file: string,
  ca: { certPath: string; keyPath: string },
  opts: OddCert,
): { certPath: string; keyPath: string } {
  const keyPath = join(dir, `${file}-key.pem`);
  const csr = join(dir, `${file}.csr`);
  const certPath = join(dir, `${file}-cert.pem`);
  const ext = join(dir, `${file}.ext`);
  const lines = ['[leaf]', 'basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature'];
  if (opts.eku !== undefined) lines.push(`extendedKeyUsage = ${opts.eku}`);
  if (opts.sans !== undefined && opts.sans.length > 0) lines.push(`subjectAltName = ${opts.sans.join(',')}`);
  writeFileSync(ext, `${lines.join('\n')}\n`);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', keyPath]);
  openssl(['req', '-new', '-key', keyPath, '-out', csr, '-subj', `/CN=${opts.cn}`]);
  openssl([
    'x509',
    '-req',
    '-in',
    csr,
    '-CA',
    ca.certPath,
    '-CAkey',
    ca.keyPath,
    '-days',
    '30',
    '-extfile',
    ext,
    '-extensions',
    'leaf',
    '-out',
    certPath,
  ]);
  chmodSync(keyPath, 0o600);
  return { certPath, keyPath };
}

/** A directory every user can enter (mkdtemp makes 0700 ones, which the mysqld user could not cross). */
export function openDir(path: string): string {
  mkdirSync(path, { recursive: true });
  chmodSync(path, 0o755);
  return path;
}

/** An option file with [mysqld] and [sst] lines. */
export function writeCnf(path: string, mysqld: Record<string, string>, sst: Record<string, string>): string {
  const group = (name: string, values: Record<string, string>): string =>
    `[${name}]\n${Object.entries(values)
      .map(([k, v]) => `${k}=${v}\n`)
      .join('')}`;
  writeFileSync(path, `${group('mysqld', mysqld)}\n${group('sst', sst)}`);
  chmodSync(path, 0o644);
  return path;
}
