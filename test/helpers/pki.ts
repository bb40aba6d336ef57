/**
 * Throwaway PKI for tests, made with the openssl CLI (style.md habit 8: a fresh CA per test). Every function is
 * synchronous and writes into a directory the caller owns; nothing is shared between tests.
 *
 *   const dir = tempDir('pki');
 *   const ca = createCa(dir.path, 'ca');
 *   const node = issueCert(ca, 'joiner', { cn: 'joiner.test', dns: ['joiner.test'], ips: ['127.0.0.1'] });
 *   // node.cert, node.key, node.combined (key + cert in one PEM), node.chain (cert + intermediates)
 *   dir.cleanup();
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A CA: its certificate, key and the `openssl ca` state directory it signs with. */
export interface CaFiles {
  name: string;
  dir: string;
  cert: string;
  key: string;
  /** This CA's certificate followed by its parents' (for an intermediate), i.e. what a peer needs as chain. */
  chain: string[];
  config: string;
}

/** An issued certificate. */
export interface CertFiles {
  name: string;
  /** The leaf certificate alone. */
  cert: string;
  /** Its unencrypted private key (PKCS#8). */
  key: string;
  /** Key, then certificate, then intermediates: the combined PEM socat and [sst] tcert accept. */
  combined: string;
  /** Certificate followed by intermediates (without the root). */
  chain: string;
}

/** Subject and extensions of a certificate; dates default to "valid from yesterday for 30 days". */
export interface CertOptions {
  /** Subject CN; null for a certificate with an empty subject (SAN only). Default: the name. */
  cn?: string | null;
  dns?: string[];
  ips?: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** Key algorithm; EC P-256 is fast to generate. */
  keyType?: 'ec' | 'rsa';
}

/** A temporary directory with a cleanup function. */
export function tempDir(prefix: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), `sst-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Runs openssl with argv (never a shell); throws with its stderr on failure. */
export function openssl(args: string[], input?: string): string {
  return execFileSync('openssl', args, {
    encoding: 'utf8',
    input: input ?? '',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

function genKey(path: string, keyType: 'ec' | 'rsa' = 'ec'): void {
  const alg =
    keyType === 'ec'
      ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
      : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
  openssl(['genpkey', ...alg, '-out', path]);
}

/** `openssl ca` dates: YYYYMMDDHHMMSSZ in UTC. */
function caDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

function caConfig(dir: string): string {
  return `[ca]
default_ca = ca_default
[ca_default]
dir = ${dir}
database = ${dir}/index.txt
new_certs_dir = ${dir}/issued
serial = ${dir}/serial
default_md = sha256
policy = policy_any
unique_subject = no
email_in_dn = no
[policy_any]
organizationName = optional
commonName = optional
[ext_ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;
}

function subjectOf(cn: string | null, org: string): string {
  return cn === null ? `/O=${org}` : `/O=${org}/CN=${cn}`;
}

function dayOffset(days: number): Date {
  return new Date(Date.now() + days * 86_400_000);
}

/** Creates a root CA (or an intermediate when `parent` is given) in `<dir>/<name>/`. */
export function createCa(
  dir: string,
  name: string,
  opts: { parent?: CaFiles; cn?: string; keyType?: 'ec' | 'rsa' } = {},
): CaFiles {
  const home = join(dir, name);
  mkdirSync(join(home, 'issued'), { recursive: true });
  writeFileSync(join(home, 'index.txt'), '');
  writeFileSync(join(home, 'serial'), `${Date.now().toString(16).padStart(16, '0')}\n`);
  const config = join(home, 'openssl.cnf');
  writeFileSync(config, caConfig(home));
  const key = join(home, 'ca.key');
  const cert = join(home, 'ca.pem');
  genKey(key, opts.keyType);
  const subject = subjectOf(opts.cn ?? `${name} Test CA`, 'sst-tunnel tests');
  if (opts.parent === undefined) {
    openssl([
      'req',
      '-new',
      '-x509',
      '-key',
      key,
      '-out',
      cert,
      '-days',
      '30',
      '-subj',
      subject,
      '-config',
      config,
      '-extensions',
      'ext_ca',
    ]);
    return { name, dir: home, cert, key, chain: [cert], config };
  }
  const csr = join(home, 'ca.csr');
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject, '-config', config]);
  signCsr(opts.parent, csr, cert, subject, 'ext_ca', config, dayOffset(-1), dayOffset(30));
  return { name, dir: home, cert, key, chain: [cert, ...opts.parent.chain], config };
}

function signCsr(
  ca: CaFiles,
  csr: string,
  out: string,
  subject: string,
  section: string,
  extfile: string,
  from: Date,
  to: Date,
): void {
  openssl([
    'ca',
    '-batch',
    '-notext',
    '-config',
    ca.config,
    '-cert',
    ca.cert,
    '-keyfile',
    ca.key,
    '-in',
    csr,
    '-out',
    out,
    '-subj',
    subject,
    '-startdate',
    caDate(from),
    '-enddate',
    caDate(to),
    '-extfile',
    extfile,
    '-extensions',
    section,
  ]);
}

/** Issues a certificate usable as TLS server and client (each node is both) into `<ca.dir>/../<name>.*`. */
export function issueCert(ca: CaFiles, name: string, opts: CertOptions = {}): CertFiles {
  const base = join(ca.dir, '..', name);
  const key = `${base}.key`;
  const csr = `${base}.csr`;
  const cert = `${base}.pem`;
  genKey(key, opts.keyType);
  const cn = opts.cn === undefined ? name : opts.cn;
  const subject = subjectOf(cn, 'sst-tunnel tests');
  const sans = [...(opts.dns ?? []).map((d) => `DNS:${d}`), ...(opts.ips ?? []).map((ip) => `IP:${ip}`)];
  const ext = `${base}.ext`;
  writeFileSync(
    ext,
    `[leaf]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
${sans.length > 0 ? `subjectAltName = ${sans.join(',')}\n` : ''}`,
  );
  openssl(['req', '-new', '-key', key, '-out', csr, '-subj', subject, '-config', ca.config]);
  signCsr(
    ca,
    csr,
    cert,
    subject,
    'leaf',
    ext,
    opts.notBefore ?? dayOffset(-1),
    opts.notAfter ?? dayOffset(30),
  );
  const intermediates = ca.chain.slice(0, -1).map((p) => readFileSync(p, 'utf8'));
  const chain = `${base}.chain.pem`;
  writeFileSync(chain, [readFileSync(cert, 'utf8'), ...intermediates].join(''));
  const combined = `${base}.combined.pem`;
  writeFileSync(combined, readFileSync(key, 'utf8') + readFileSync(chain, 'utf8'));
  return { name, cert, key, combined, chain };
}

/** Writes an encrypted copy of a key: PKCS#8 (`ENCRYPTED PRIVATE KEY`) or legacy PEM with a Proc-Type header. */
export function encryptKey(
  key: string,
  out: string,
  opts: { legacy?: boolean; passphrase?: string } = {},
): string {
  const pass = `pass:${opts.passphrase ?? 'secret'}`;
  if (opts.legacy === true) openssl(['ec', '-in', key, '-out', out, '-aes256', '-passout', pass]);
  else openssl(['pkey', '-in', key, '-out', out, '-aes256', '-passout', pass]);
  return out;
}

/** Concatenates PEM files into one (a tca bundle, a combined file). */
export function bundle(out: string, files: string[]): string {
  writeFileSync(out, files.map((f) => readFileSync(f, 'utf8')).join(''));
  return out;
}
