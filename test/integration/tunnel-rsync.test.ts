/**
 * rsync through the real tunnel: `rsync --rsh=<sst-tunnel connect> host::module` into `sst-tunnel listen`, with real
 * TLS (throwaway CA) and real rsync. The tree has large and many small files, names with spaces and unicode, and
 * symlinks; the result must hash identically.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectorRsh } from '../../src/tunnel/connectorRsh.js';
import { selfCommand } from '../../src/self.js';
import { createCa, issueCert, tempDir, type CaFiles, type CertFiles } from '../helpers/pki.js';
import { TEST_POLICY } from '../helpers/policy.js';
import {
  CLI,
  countEntries,
  killAll,
  requireBuiltCli,
  rsyncViaConnector,
  runningCount,
  startListenCli,
  treeHash,
  listenTls,
} from '../helpers/procs.js';

const dir = tempDir('tunnel rsync');
let ca: CaFiles;
let joiner: CertFiles;
let donor: CertFiles;
const src = join(dir.path, 'source tree');

const policy = TEST_POLICY;

function makeTree(root: string): void {
  mkdirSync(join(root, 'db one', 'ünï cödé'), { recursive: true });
  mkdirSync(join(root, 'empty dir'));
  writeFileSync(join(root, 'ibdata1'), randomBytes(48 << 20));
  writeFileSync(join(root, 'db one', 'big table.ibd'), randomBytes(16 << 20));
  for (let i = 0; i < 400; i++) writeFileSync(join(root, 'db one', `t${i}.frm`), randomBytes(i * 37));
  for (let i = 0; i < 50; i++)
    writeFileSync(join(root, 'db one', 'ünï cödé', `fïlé ${i} 'q' "d".ibd`), randomBytes(4096));
  symlinkSync('ibdata1', join(root, 'link to ibdata1'));
  symlinkSync('../ibdata1', join(root, 'db one', 'up link'));
  symlinkSync('does not exist', join(root, 'dangling link'));
}

beforeAll(() => {
  requireBuiltCli();
  ca = createCa(dir.path, 'ca');
  joiner = issueCert(ca, 'joiner', { cn: 'joiner.test', dns: ['joiner.test'], ips: ['127.0.0.1'] });
  donor = issueCert(ca, 'donor', { cn: 'donor.test', dns: ['donor.test'] });
  makeTree(src);
});
afterEach(async () => {
  await killAll();
  expect(runningCount()).toBe(0);
});
afterAll(() => dir.cleanup());

describe('rsync through connector and listener', () => {
  it('copies a tree byte for byte, reports the session on both sides, and leaves no process behind', async () => {
    const dst = join(dir.path, 'target dir');
    mkdirSync(dst);
    const { proc, port } = await startListenCli([
      ...listenTls(ca.cert, joiner.cert, joiner.key),
      '--module',
      `datadir=${dst}`,
      '--allow',
      'donor.test',
    ]);
    const reportFile = join(dir.path, 'reports', 'pass 1.json');
    const rsh = connectorRsh(
      {
        host: '127.0.0.1',
        port,
        paths: { tca: ca.cert, tcert: donor.combined },
        policy,
        idleTimeoutMs: 10_000,
        reportFile,
      },
      selfCommand(CLI),
    );
    const result = await rsyncViaConnector(rsh, [
      '--archive',
      '--whole-file',
      '--inplace',
      '--delete',
      `${src}/`,
      'sst-joiner::datadir/',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(treeHash(dst)).toBe(treeHash(src));

    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Record<string, unknown>;
    expect(report).toMatchObject({
      protocol: 'TLSv1.3',
      cipher: 'TLS_AES_128_GCM_SHA256',
      match: { field: 'SAN IP', value: '127.0.0.1' },
    });
    expect(report.bytesOut).toBeGreaterThan(64 << 20);

    proc.child.kill('SIGTERM');
    expect((await proc.exited).code).toBe(0);
    const log = proc.stderr();
    expect(log).toMatch(
      /Connection from 127\.0\.0\.1:\d+ \(verified by SAN DNS "donor\.test"\) closed: TLSv1\.3 TLS_AES_128_GCM_SHA256, in \d{8,} B, out \d+ B, [\d.]+ s, rsync exit 0/,
    );
    expect(log).toMatch(/Listener closed: 1 connection\(s\), 0 refused/);
    expect(countEntries(dst)).toBeGreaterThan(450);
  });

  it('survives spaces and quotes in the connector command line (rsync --rsh word splitting)', async () => {
    const odd = join(dir.path, "it's a dir");
    mkdirSync(odd);
    symlinkSync(CLI, join(odd, 'cli.js'));
    const { port } = await startListenCli([
      ...listenTls(ca.cert, joiner.cert, joiner.key),
      '--module',
      `m=${dir.path}`,
    ]);
    const rsh = connectorRsh(
      {
        host: '127.0.0.1',
        port,
        paths: { tca: ca.cert, tcert: donor.cert, tkey: donor.key },
        policy,
        idleTimeoutMs: 10_000,
      },
      selfCommand(join(odd, 'cli.js')),
    );
    expect(rsh.rsh).toBe(
      `${process.execPath} --max-semi-space-size=1 '${odd.replace(/'/g, "''")}/cli.js' connect`,
    );
    expect(Object.keys(rsh.env)).toEqual(['SST_TUNNEL_CONNECT_SPEC']);
    expect(rsh.rsh).not.toContain(donor.key);
    const listing = await rsyncViaConnector(rsh, ['sst-joiner::']);
    expect(listing.code).toBe(0);
    expect(listing.stdout).toMatch(/^m\s/);
  });
});
