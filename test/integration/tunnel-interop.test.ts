/**
 * Interop with the original script's socat shapes (sst-contract.md 4.3, 4.4), in both directions, so a node running
 * the original can be the peer of a node running ours during a rolling upgrade.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { renderRsyncdConf } from '../../src/rsync/conf.js';
import { connectorRsh } from '../../src/tunnel/connectorRsh.js';
import { selfCommand } from '../../src/self.js';
import { createCa, issueCert, tempDir, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { TEST_POLICY } from '../helpers/policy.js';
import {
  CLI,
  freePort,
  killAll,
  requireBuiltCli,
  rsyncViaConnector,
  run,
  runningCount,
  start,
  startListenCli,
  treeHash,
  waitFor,
  listenTls,
} from '../helpers/procs.js';

const dir = tempDir('tunnel-interop');
let ca: CaFiles;
let joiner: CertFiles;
let donor: CertFiles;
const src = join(dir.path, 'src');
const policy = TEST_POLICY;

beforeAll(() => {
  requireBuiltCli();
  ca = createCa(dir.path, 'ca');
  joiner = issueCert(ca, 'joiner', { cn: '127.0.0.1' });
  donor = issueCert(ca, 'donor', { cn: 'donor.test' });
  mkdirSync(join(src, 'db 1'), { recursive: true });
  writeFileSync(join(src, 'ibdata1'), randomBytes(8 << 20));
  for (let i = 0; i < 100; i++) writeFileSync(join(src, 'db 1', `t${i}.ibd`), randomBytes(1000 + i));
  symlinkSync('ibdata1', join(src, 'link'));
});
afterEach(async () => {
  await killAll();
  expect(runningCount()).toBe(0);
});
afterAll(() => dir.cleanup());

/** Waits until something accepts TCP connections on 127.0.0.1:port. */
async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const { code } = await run('socat', ['-u', 'OPEN:/dev/null', `TCP:127.0.0.1:${port}`]);
    if (code === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`Nothing listens on 127.0.0.1:${port}`);
}

describe('interop with socat', () => {
  it('an original donor (socat OPENSSL client, plain rsync://) into our listener', async () => {
    const target = join(dir.path, 'target-ours');
    mkdirSync(target);
    const { proc, port } = await startListenCli([
      ...listenTls(ca.cert, joiner.cert, joiner.key),
      '--module',
      `rsync_tunnel_sst=${target}`,
    ]);
    const local = await freePort();
    // The original donor shape: socat tcp-listen:<P>,bind=localhost,reuseaddr,fork openssl:<host>:<P>,cert=,key=,cafile=
    start('socat', [
      `TCP-LISTEN:${local},bind=127.0.0.1,reuseaddr,fork`,
      `OPENSSL:127.0.0.1:${port},cert=${donor.cert},key=${donor.key},cafile=${ca.cert}`,
    ]);
    await waitForPort(local);
    const result = await run('rsync', [
      '--archive',
      '--whole-file',
      '--inplace',
      `${src}/`,
      `rsync://127.0.0.1:${local}/rsync_tunnel_sst/`,
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(treeHash(target)).toBe(treeHash(src));
    await waitFor(
      proc,
      /Connection from 127\.0\.0\.1:\d+ \(chain verified\) closed: TLSv1\.3 .*rsync exit 0/,
    );
  });

  it('our connector into an original joiner (socat OPENSSL-LISTEN forwarding to a plain rsync daemon)', async () => {
    const target = join(dir.path, 'target-socat');
    mkdirSync(target);
    const conf = join(dir.path, 'rsyncd.conf');
    writeFileSync(
      conf,
      renderRsyncdConf({
        modules: [{ name: 'rsync_tunnel_sst', path: target }],
        uid: process.getuid?.() ?? 0,
        gid: process.getgid?.() ?? 0,
        timeoutSeconds: 300,
        logFile: join(dir.path, 'rsyncd.log'),
      }),
    );
    const daemonPort = await freePort();
    start('rsync', [
      '--daemon',
      '--no-detach',
      '--port',
      String(daemonPort),
      '--address',
      '127.0.0.1',
      '--config',
      conf,
    ]);
    await waitForPort(daemonPort);
    const tlsPort = await freePort();
    // The original joiner shape: socat openssl-listen:<P>,bind=<host>,reuseaddr,fork,cert=,key=,cafile= tcp:localhost:<P>
    start('socat', [
      `OPENSSL-LISTEN:${tlsPort},bind=127.0.0.1,reuseaddr,fork,cert=${joiner.cert},key=${joiner.key},cafile=${ca.cert}`,
      `TCP:127.0.0.1:${daemonPort}`,
    ]);
    await waitForPort(tlsPort);
    const rsh = connectorRsh(
      {
        host: '127.0.0.1',
        port: tlsPort,
        paths: { tca: ca.cert, tcert: donor.cert, tkey: donor.key },
        policy,
        idleTimeoutMs: 10_000,
        reportFile: join(dir.path, 'r.json'),
      },
      selfCommand(CLI),
    );
    const result = await rsyncViaConnector(rsh, [
      '--archive',
      '--whole-file',
      '--inplace',
      `${src}/`,
      'joiner::rsync_tunnel_sst/',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(treeHash(target)).toBe(treeHash(src));
  });
});
