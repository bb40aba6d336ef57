// The built CLI end to end: one good node, then one broken property per case; stdout checklist and exit codes.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { goodNode, openDir, writeCnf, type GoodNode } from '../unit/doctor/setup.js';
import {
  doctor,
  doctorAsync,
  freePort,
  requireBuiltCli,
  startListener,
  stop,
} from '../unit/doctor/processes.js';

const isRoot = process.getuid?.() === 0;
// As root, the checks run against "nobody", who owns the node's files; otherwise against ourselves.
const USER = isRoot ? 'nobody' : userInfo().username;
const NOBODY = 65534;

let root: string;
let a: GoodNode;
let b: GoodNode;
let port: number;
let data: string;

function own(path: string): void {
  if (!isRoot) return;
  chownSync(path, NOBODY, NOBODY);
  for (const name of readdirSync(path)) chownSync(join(path, name), NOBODY, NOBODY);
}

/** An option file for node `n` with `sst` overrides; returns the --defaults-file arguments. */
function cnf(name: string, n: GoodNode, sst: Record<string, string> = {}, sstPort = port): string[] {
  const file = writeCnf(
    join(root, `${name}.cnf`),
    { datadir: data, wsrep_sst_receive_address: `127.0.0.1:${sstPort}` },
    { tca: n.ca.certPath, tcert: n.node.certPath, tkey: n.node.keyPath, ...sst },
  );
  return ['--defaults-file', file, '--user', USER];
}

beforeAll(async () => {
  requireBuiltCli();
  root = openDir(mkdtempSync(join(tmpdir(), 'doctor-cli-')));
  a = await goodNode(join(root, 'certs'), 'node-a', ['127.0.0.1']);
  const { createNodeCert } = await import('../../src/certs/index.js');
  b = { ...a, node: await createNodeCert({ dir: a.dir, name: 'node-b', ips: ['127.0.0.1'] }) };
  chmodSync(a.dir, 0o755);
  own(a.dir);
  data = openDir(join(root, 'data'));
  own(data);
  port = await freePort();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sst-tunnel doctor (built CLI)', () => {
  it('prints an all-green checklist and exits 0 for a good node', () => {
    const result = doctor(...cnf('good', a));
    expect(result.stdout).toContain(
      `  ✓ Certificate "${a.node.certPath}" covers "127.0.0.1" by SAN IP "127.0.0.1"\n`,
    );
    expect(result.stdout).toContain(`  ✓ Port ${port} is free on 127.0.0.1\n`);
    expect(result.stdout).toMatch(/\n\d+ ok, 0 warnings, 0 failures\n$/);
    expect(result.code).toBe(0);
  });

  it('exits 1 when a certificate expires within --expiry-warning-days', () => {
    const result = doctor(...cnf('good', a), '--expiry-warning-days', '1000');
    expect(result.stdout).toMatch(
      new RegExp(
        `  ! Certificate "${a.node.certPath}" expires in \\d+ days, on .+ \\(warning window 1000 days\\)\n      fix: renew it before then: sst-tunnel certs node --dir ${a.dir} --name node-a --ip 127.0.0.1 --force\n`,
      ),
    );
    expect(result.code).toBe(1);
  });

  it('exits 2 and says which file is missing', () => {
    const result = doctor(...cnf('missing', a, { tkey: join(root, 'nope-key.pem') }));
    expect(result.stdout).toContain(
      `  ✗ Cannot find tkey "${join(root, 'nope-key.pem')}": file not found\n      fix: check [sst] tkey\n`,
    );
    expect(result.code).toBe(2);
  });

  it('fails a world-readable key', () => {
    const key = join(root, 'open-key.pem');
    copyFileSync(a.node.keyPath, key);
    chmodSync(key, 0o644);
    const result = doctor(...cnf('open', a, { tkey: key }));
    expect(result.stdout).toMatch(
      new RegExp(
        `  ✗ Private key "${key}" is readable by every user \\(owner \\w+:\\w+, mode 0644\\)\n      fix: chmod o-rwx ${key}\n`,
      ),
    );
    expect(result.code).toBe(2);
  });

  it.runIf(isRoot)('fails a key the mysqld user cannot read', () => {
    const key = join(root, 'root-key.pem');
    copyFileSync(a.node.keyPath, key);
    chmodSync(key, 0o600);
    const result = doctor(...cnf('rootkey', a, { tkey: key }));
    expect(result.stdout).toContain(
      `  ✗ tkey "${key}" is not readable by user "nobody" (uid 65534): owner root:root, mode 0600\n      fix: chgrp nogroup ${key} && chmod g+r ${key}\n`,
    );
    expect(result.code).toBe(2);
  });

  it('flags verify=0', () => {
    const result = doctor(...cnf('noverify', a, { sockopt: ',verify=0' }));
    expect(result.stdout).toContain(
      '  ! sockopt "verify=0" turns off peer verification: as joiner this node accepts any donor, as donor any joiner\n',
    );
    expect(result.code).toBe(1);
  });

  it('names the process holding the SST port', async () => {
    const busy = await freePort();
    const holder = spawn(
      process.execPath,
      ['-e', `require('net').createServer().listen(${busy}, '127.0.0.1', () => console.log('up'))`],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    try {
      await new Promise((r) => holder.stdout.once('data', r));
      const result = await doctorAsync(...cnf('busy', a, {}, busy));
      expect(result.stdout).toContain(
        `  ✗ Port ${busy} on 127.0.0.1 is in use by pid ${holder.pid} (${process.execPath} -e require('net')`,
      );
      expect(result.code).toBe(2);
    } finally {
      stop(holder);
    }
  });

  it('--json prints the report as one object', () => {
    const result = doctor(...cnf('good', a), '--json');
    const report = JSON.parse(result.stdout) as {
      status: string;
      exitCode: number;
      checks: { id: string }[];
      advertised: { host: string };
      certificates: { file: string }[];
    };
    expect(report).toMatchObject({ status: 'ok', exitCode: 0, advertised: { host: '127.0.0.1', port } });
    expect(report.checks.map((c) => c.id)).toContain('cert.identity');
    expect(report.certificates.map((c) => c.file)).toEqual([a.node.certPath, a.ca.certPath]);
  });

  it('--peer against --listen passes with good certificates, both sides', async () => {
    const listener = await startListener(...cnf('good', a));
    try {
      const result = await doctorAsync(
        ...cnf('b', b, {}, await freePort()),
        '--peer',
        `127.0.0.1:${listener.port}`,
      );
      expect(result.stdout).toContain(
        `  ✓ The certificate of 127.0.0.1:${listener.port} verifies against tca and matches "127.0.0.1" by SAN IP "127.0.0.1" (subject "CN=node-a")\n`,
      );
      expect(result.stdout).toContain(
        `  ✓ The listener at 127.0.0.1:${listener.port} accepted this node's certificate\n`,
      );
      expect(result.stdout).toMatch(
        / {2}✓ TLS handshake with 127\.0\.0\.1:\d+: TLSv1\.3, TLS_AES_128_GCM_SHA256\n/,
      );
      expect(result.code).toBe(0);
      const heard = await listener.done;
      expect(heard.stdout).toMatch(
        / {2}✓ The certificate of 127\.0\.0\.1:\d+ verifies against tca \(subject "CN=node-b"\)\n/,
      );
      expect(heard.code).toBe(0);
    } finally {
      stop(listener.child);
    }
  });

  it('--peer with a name the certificate does not hold fails and lists the fields', async () => {
    const listener = await startListener(...cnf('good', a));
    try {
      const result = await doctorAsync(
        ...cnf('b', b, {}, await freePort()),
        '--peer',
        `localhost:${listener.port}`,
      );
      expect(result.stdout).toMatch(
        new RegExp(
          `  ✗ The certificate of the joiner does not match "localhost": expected a SAN DNS, SAN IP or CN equal to "localhost"; it presented subject "CN=node-a", SAN DNS "node-a", SAN IP "127\\.0\\.0\\.1", issuer "CN=Doctor CA", serial [0-9A-F]+, valid until .+\n`,
        ),
      );
      expect(result.code).toBe(2);
    } finally {
      stop(listener.child);
      await listener.done;
    }
  });

  it('--listen refuses a client whose CA it does not trust and the peer hears why', async () => {
    const other = await goodNode(join(root, 'other'), 'node-x', ['127.0.0.1'], 'Other CA');
    chmodSync(other.dir, 0o755);
    own(other.dir);
    const listener = await startListener(...cnf('good', a, { tca: `${a.ca.certPath}` }));
    try {
      const result = await doctorAsync(
        ...cnf('x', other, { tca: bundleOf(other, a) }, await freePort()),
        '--peer',
        `127.0.0.1:${listener.port}`,
      );
      // Node's client sends its CA along with the leaf (OpenSSL builds the chain from tca), hence this reason.
      expect(result.stdout).toContain(
        `  ✗ The listener at 127.0.0.1:${listener.port} refused this node's certificate: Cannot verify the certificate of the donor: its chain ends in a self-signed certificate that is not in tca (SELF_SIGNED_CERT_IN_CHAIN)`,
      );
      expect(result.code).toBe(2);
      const heard = await listener.done;
      expect(heard.stdout).toContain(
        '  ✗ Cannot verify the certificate of the donor: its chain ends in a self-signed certificate that is not in tca (SELF_SIGNED_CERT_IN_CHAIN)',
      );
      expect(heard.code).toBe(2);
    } finally {
      stop(listener.child);
    }
  });
});

function bundleOf(...nodes: GoodNode[]): string {
  const out = join(root, `bundle-${nodes.map((n) => n.node.certificate.commonName).join('-')}.pem`);
  writeFileSync(out, nodes.map((n) => readFileSync(n.ca.certPath, 'utf8')).join(''));
  chmodSync(out, 0o644);
  return out;
}
