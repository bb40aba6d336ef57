/**
 * CA rotation, the procedure operators follow (peers.md part C 7): `tca` holds the old and the new CA while the
 * nodes switch one by one. Two nodes start on CA1; both trust CA1+CA2; node A moves to a CA2 certificate; then
 * node B; then both drop CA1. At every step a real rsync of a small tree goes through the tunnel (listener and
 * connector) in both directions, and `doctor --listen` / `doctor --peer` agree in both directions. After the
 * last step a node still on CA1 is refused either way.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert } from '../../src/certs/index.js';
import { connectorRsh } from '../../src/tunnel/connectorRsh.js';
import { selfCommand } from '../../src/self.js';
import { CLI, killAll, listenTls, rsyncViaConnector, startListenCli, treeHash } from '../helpers/procs.js';
import { TEST_POLICY } from '../helpers/policy.js';
import { doctorAsync, freePort, requireBuiltCli, startListener, stop } from '../unit/doctor/processes.js';
import { writeCnf } from '../unit/doctor/setup.js';

/** One node's [sst] material at one step. */
interface NodeFiles {
  name: string;
  tca: string;
  tcert: string;
  tkey: string;
}

const policy = TEST_POLICY;

let root: string;
let src: string;
const ca: Record<'ca1' | 'ca2', string> = { ca1: '', ca2: '' };
const certs: Record<string, { tcert: string; tkey: string }> = {};
const bundles: Record<'ca1' | 'both' | 'ca2', string> = { ca1: '', both: '', ca2: '' };
let runs = 0;

beforeAll(async () => {
  requireBuiltCli();
  root = mkdtempSync(join(tmpdir(), 'rotation-'));
  for (const [key, cn] of [
    ['ca1', 'Cluster CA 2024'],
    ['ca2', 'Cluster CA 2026'],
  ] as const) {
    const dir = join(root, key);
    ca[key] = (await createCa({ dir, cn })).certPath;
    for (const node of ['node-a', 'node-b', 'node-c']) {
      const made = await createNodeCert({ dir, name: node, ips: ['127.0.0.1'] });
      certs[`${node}@${key}`] = { tcert: made.certPath, tkey: made.keyPath };
    }
  }
  bundles.ca1 = ca.ca1;
  bundles.ca2 = ca.ca2;
  bundles.both = join(root, 'ca1+ca2.pem');
  writeFileSync(bundles.both, readFileSync(ca.ca1, 'utf8') + readFileSync(ca.ca2, 'utf8'));
  src = join(root, 'tree');
  mkdirSync(join(src, 'db1'), { recursive: true });
  writeFileSync(join(src, 'ibdata1'), 'x'.repeat(100_000));
  for (let i = 0; i < 20; i++) writeFileSync(join(src, 'db1', `t${i}.ibd`), `table ${i}\n`.repeat(i + 1));
});
afterEach(async () => {
  await killAll();
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function node(name: string, issuer: 'ca1' | 'ca2', trust: keyof typeof bundles): NodeFiles {
  const files = certs[`${name}@${issuer}`];
  if (files === undefined) throw new Error(`no certificate ${name}@${issuer}`);
  return { name, tca: bundles[trust], ...files };
}

/** rsync from `donor` into `joiner` through the tunnel: the joiner's listener, the donor's connector. */
async function transfer(
  joiner: NodeFiles,
  donor: NodeFiles,
): Promise<{ code: number | null; stderr: string; dst: string }> {
  const dst = join(root, `dst-${++runs}`);
  mkdirSync(dst);
  const { proc, port } = await startListenCli([
    ...listenTls(joiner.tca, joiner.tcert, joiner.tkey),
    '--module',
    `datadir=${dst}`,
  ]);
  try {
    const rsh = connectorRsh(
      {
        host: '127.0.0.1',
        port,
        paths: { tca: donor.tca, tcert: donor.tcert, tkey: donor.tkey },
        policy,
        idleTimeoutMs: 10_000,
      },
      selfCommand(CLI),
    );
    const result = await rsyncViaConnector(rsh, [
      '--archive',
      '--whole-file',
      `${src}/`,
      'sst-joiner::datadir/',
    ]);
    return { code: result.code, stderr: result.stderr, dst };
  } finally {
    proc.child.kill('SIGTERM');
    await proc.exited;
  }
}

function cnfArgs(n: NodeFiles, sstPort: number): string[] {
  const file = writeCnf(
    join(root, `${n.name}-${++runs}.cnf`),
    { datadir: root, wsrep_sst_receive_address: `127.0.0.1:${sstPort}` },
    { tca: n.tca, tcert: n.tcert, tkey: n.tkey },
  );
  return ['--defaults-file', file, '--user', 'root'];
}

/** `doctor --listen` on `joiner`, `doctor --peer` from `donor`: both outputs and exit codes. */
async function doctorPair(joiner: NodeFiles, donor: NodeFiles) {
  const listener = await startListener(...cnfArgs(joiner, 4444));
  try {
    const peer = await doctorAsync(
      ...cnfArgs(donor, await freePort()),
      '--peer',
      `127.0.0.1:${listener.port}`,
    );
    const listen = await listener.done;
    return { peer, listen };
  } finally {
    stop(listener.child);
  }
}

async function expectBothWays(a: NodeFiles, b: NodeFiles): Promise<void> {
  for (const [joiner, donor] of [
    [a, b],
    [b, a],
  ] as const) {
    const copied = await transfer(joiner, donor);
    expect(copied.stderr).toBe('');
    expect(copied.code).toBe(0);
    expect(treeHash(copied.dst)).toBe(treeHash(src));
    const { peer, listen } = await doctorPair(joiner, donor);
    const peerLines = peer.stdout
      .split('\n')
      .filter((l) => / [✗] /.test(l) && /Peer|peer|listener|certificate of/i.test(l));
    expect(peerLines).toEqual([]);
    expect(peer.stdout).toContain(`accepted this node's certificate`);
    expect(peer.stdout).toMatch(
      /✓ The certificate of 127\.0\.0\.1:\d+ verifies against tca and matches "127\.0\.0\.1" by SAN IP "127\.0\.0\.1"/,
    );
    expect(listen.stdout).toContain(`verifies against tca (subject "CN=${donor.name}")`);
    expect(listen.code).toBe(0);
  }
}

describe('CA rotation with a two-CA bundle', () => {
  it('step 0: both nodes on CA1', async () => {
    await expectBothWays(node('node-a', 'ca1', 'ca1'), node('node-b', 'ca1', 'ca1'));
  });

  it('step 1: both trust CA1 and CA2, certificates still from CA1', async () => {
    await expectBothWays(node('node-a', 'ca1', 'both'), node('node-b', 'ca1', 'both'));
  });

  it('step 2: node A moves to a CA2 certificate', async () => {
    await expectBothWays(node('node-a', 'ca2', 'both'), node('node-b', 'ca1', 'both'));
  });

  it('step 3: node B moves to a CA2 certificate', async () => {
    await expectBothWays(node('node-a', 'ca2', 'both'), node('node-b', 'ca2', 'both'));
  });

  it('step 4: both drop CA1', async () => {
    await expectBothWays(node('node-a', 'ca2', 'ca2'), node('node-b', 'ca2', 'ca2'));
  });

  it('after the rotation a node still on CA1 is refused, as donor and as joiner', async () => {
    const a = node('node-a', 'ca2', 'ca2');
    const stale = node('node-c', 'ca1', 'both');
    const asDonor = await transfer(a, stale);
    expect(asDonor.code).not.toBe(0);
    const asJoiner = await transfer(stale, a);
    expect(asJoiner.code).not.toBe(0);
    // The stale node sends CA1 along with its leaf (OpenSSL completes the chain from its tca), hence this reason.
    expect(asJoiner.stderr).toContain(
      'Cannot verify the certificate of the joiner: its chain ends in a self-signed certificate that is not in tca (SELF_SIGNED_CERT_IN_CHAIN); it presented subject "CN=node-c"',
    );

    const staleDonor = await doctorPair(a, stale);
    expect(staleDonor.listen.code).toBe(2);
    expect(staleDonor.listen.stdout).toContain('✗ Cannot verify the certificate of the donor:');
    expect(staleDonor.peer.stdout).toMatch(
      /✗ The listener at 127\.0\.0\.1:\d+ refused this node's certificate: Cannot verify the certificate of the donor:/,
    );
    const staleJoiner = await doctorPair(stale, a);
    expect(staleJoiner.peer.stdout).toMatch(
      /✗ Cannot verify the certificate of the joiner: its chain ends in a self-signed certificate that is not in tca \(SELF_SIGNED_CERT_IN_CHAIN\); it presented subject "CN=node-c"/,
    );
    expect(staleJoiner.peer.code).toBe(2);
  });
});
