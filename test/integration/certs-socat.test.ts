// socat (what MariaDB's own wsrep_sst_rsync_tunnel runs) must accept our files as they are: PKCS#8 keys, IP SANs.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, createNodeCert } from '../../src/certs/index.js';

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function start(args: string[]): Promise<Running> {
  const child = spawn('socat', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin?.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', reject);
  });
  return { child, stdout: () => out, stderr: () => err };
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function stop(running: Running | undefined): void {
  if (running !== undefined && running.child.exitCode === null && running.child.signalCode === null) {
    running.child.kill('SIGTERM');
  }
}

const tlsOptions = (files: { certPath: string; keyPath: string; caPath: string }): string =>
  `cert=${files.certPath},key=${files.keyPath},cafile=${files.caPath}`;

/** socat joiner (OPENSSL-LISTEN, client cert required by default) and socat donor (OPENSSL, checks the name). */
async function exchange(
  server: { certPath: string; keyPath: string; caPath: string },
  client: { certPath: string; keyPath: string; caPath: string },
): Promise<{ serverGot: string; clientGot: string; clientErr: string; serverErr: string }> {
  const port = await freePort();
  let listener: Running | undefined;
  let dialer: Running | undefined;
  try {
    listener = await start([
      '-d',
      '-d',
      `OPENSSL-LISTEN:${port},bind=127.0.0.1,reuseaddr,${tlsOptions(server)}`,
      'STDIO',
    ]);
    await until(() => listener?.stderr().includes('listening on') ?? false, 'socat to listen');
    listener.child.stdin?.write('from-joiner\n');
    dialer = await start(['-d', '-d', '-', `OPENSSL:127.0.0.1:${port},${tlsOptions(client)}`]);
    dialer.child.stdin?.write('from-donor\n');
    const l = listener;
    const d = dialer;
    await Promise.race([
      until(() => l.stdout().includes('\n') && d.stdout().includes('\n'), 'both lines'),
      new Promise<void>((resolve) => d.child.once('exit', () => resolve())),
    ]).catch(() => {});
    return { serverGot: l.stdout(), clientGot: d.stdout(), clientErr: d.stderr(), serverErr: l.stderr() };
  } finally {
    stop(dialer);
    stop(listener);
  }
}

let root: string;
let dir: string;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'certs-socat-'));
  dir = join(root, 'cluster');
  await createCa({ dir });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('socat with our certificates', () => {
  it.each(['ecdsa', 'rsa2048'] as const)(
    'exchanges a line both ways over mutual TLS (%s keys)',
    async (keyType) => {
      const joiner = await createNodeCert({ dir, name: `joiner-${keyType}`, ips: ['127.0.0.1'], keyType });
      const donor = await createNodeCert({ dir, name: `donor-${keyType}`, keyType });
      const result = await exchange(joiner, donor);
      expect(result.serverGot).toBe('from-donor\n');
      expect(result.clientGot).toBe('from-joiner\n');
    },
  );

  it('the socat donor refuses a joiner certificate that does not name the dialled address', async () => {
    const joiner = await createNodeCert({ dir, name: 'joiner-no-ip' });
    const donor = await createNodeCert({ dir, name: 'donor-no-ip' });
    const result = await exchange(joiner, donor);
    expect(result.clientGot).toBe('');
    expect(result.serverGot).toBe('');
    expect(result.clientErr).toContain('commonName does not match hostname "127.0.0.1"');
  });

  it('the socat joiner refuses a donor certificate from another CA', async () => {
    const otherDir = join(root, 'other');
    await createCa({ dir: otherDir });
    const joiner = await createNodeCert({ dir, name: 'joiner-strict', ips: ['127.0.0.1'] });
    const stranger = await createNodeCert({ dir: otherDir, name: 'stranger' });
    const result = await exchange(joiner, { ...stranger, caPath: joiner.caPath });
    expect(result.serverGot).toBe('');
    expect(result.serverErr).toContain('certificate verify failed');
  });
});
