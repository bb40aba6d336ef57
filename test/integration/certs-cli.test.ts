// The built CLI: results on stdout (operator commands), errors on stderr, exit codes from errors.ts.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const CLI = resolve(import.meta.dirname, '../../dist/cli.js');

function run(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'certs', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let root: string;
let dir: string;
beforeAll(() => {
  if (!existsSync(CLI)) throw new Error(`"${CLI}" is missing: run "npm run build" first (npm test does)`);
  root = mkdtempSync(join(tmpdir(), 'certs-cli-'));
  dir = join(root, 'sst-certs');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('sst-tunnel certs', () => {
  it('init creates the CA, prints a summary on stdout and refuses a second init', () => {
    const first = run('init', '--dir', dir, '--cn', 'CLI test CA');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(
      /^Created cluster CA "CN=CLI test CA" \(ECDSA P-256, serial [0-9a-f]+, expires /,
    );
    expect(statSync(join(dir, 'ca-key.pem')).mode & 0o777).toBe(0o600);
    const second = run('init', '--dir', dir);
    expect(second.code).toBe(22);
    expect(second.stdout).toBe('');
    expect(second.stderr).toContain(
      `Cannot create a CA in "${dir}": "${join(dir, 'ca.pem')}" already exists; pass --force to replace it`,
    );
    expect(run('init', '--dir', dir, '--force', '--cn', 'CLI test CA').code).toBe(0);
  });

  it('node prints exactly the [sst] lines to paste and a summary comment', () => {
    const result = run(
      'node',
      '--dir',
      dir,
      '--name',
      'db1',
      '--dns',
      'db1.lan',
      '--ip',
      '10.0.0.1',
      '--ip',
      '::1',
    );
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines.slice(0, 5)).toEqual([
      '[sst]',
      `tca=${join(dir, 'ca.pem')}`,
      `tcert=${join(dir, 'db1-cert.pem')}`,
      `tkey=${join(dir, 'db1-key.pem')}`,
      '',
    ]);
    expect(lines[5]).toMatch(
      /^# CN=db1, SANs DNS:db1, DNS:db1\.lan, IP:10\.0\.0\.1, IP:::1, ECDSA P-256, serial [0-9a-f]+, expires /,
    );
  });

  it('node --json prints a machine-readable result', () => {
    const result = run(
      'node',
      '--dir',
      dir,
      '--name',
      'db2',
      '--key-type',
      'rsa2048',
      '--days',
      '90',
      '--json',
    );
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout) as Record<string, unknown>;
    expect(parsed).toMatchObject({
      kind: 'node',
      sst: { tca: join(dir, 'ca.pem'), tcert: join(dir, 'db2-cert.pem'), tkey: join(dir, 'db2-key.pem') },
      certificate: { subject: 'CN=db2', keyType: 'RSA 2048', extendedKeyUsage: ['serverAuth', 'clientAuth'] },
    });
  });

  it.each([
    [
      ['--name', 'CLI test CA'],
      'Cannot create node certificate "CLI test CA": --name must be a DNS name or an IP address',
    ],
    [
      ['--name', 'db3', '--ip', '10.1.1.999'],
      'Cannot use --ip "10.1.1.999": expected an IPv4 or IPv6 address',
    ],
    [
      ['--name', 'db3', '--days', 'ten'],
      'Cannot use --days "ten": expected a whole number of days from 1 to 36500',
    ],
    [
      ['--name', 'db3', '--key-type', 'dsa'],
      'Cannot use --key-type "dsa": expected one of "ecdsa", "rsa2048", "rsa3072"',
    ],
  ])('node %j fails with exit 22 and one message on stderr', (args, message) => {
    const result = run('node', '--dir', dir, ...args);
    expect(result.code).toBe(22);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(message);
  });

  it('node refuses the CA common name', () => {
    const caDir = join(root, 'named');
    expect(run('init', '--dir', caDir, '--cn', 'db1').code).toBe(0);
    const result = run('node', '--dir', caDir, '--name', 'db1');
    expect(result.code).toBe(22);
    expect(result.stderr).toContain(
      'Cannot create node certificate "db1": the CA\'s common name is also "db1"',
    );
  });

  it('node without a CA exits 2 and says how to make one', () => {
    const result = run('node', '--dir', join(root, 'none'), '--name', 'db1');
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`create the CA with "sst-tunnel certs init --dir ${join(root, 'none')}"`);
  });

  it('show describes every certificate of each file', () => {
    const result = run('show', join(dir, 'ca.pem'), join(dir, 'db1-cert.pem'));
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `${join(dir, 'db1-cert.pem')}\n  Subject:             CN=db1\n  Issuer:              CN=CLI test CA\n`,
    );
    expect(result.stdout).toContain('  SANs:                DNS:db1, DNS:db1.lan, IP:10.0.0.1, IP:::1\n');
    expect(result.stdout).toContain('  Extended key usage:  serverAuth, clientAuth\n');
    expect(result.stdout).toContain('  CA:                  yes\n');
    const json = JSON.parse(run('show', '--json', join(dir, 'db1-cert.pem')).stdout) as {
      certificates: { serial: string }[];
    }[];
    expect(json[0]?.certificates[0]?.serial).toMatch(/^[0-9a-f]+$/);
  });

  it('show of a key file fails naming the file', () => {
    const result = run('show', join(dir, 'db1-key.pem'));
    expect(result.code).toBe(22);
    expect(result.stderr).toContain(
      `Cannot load certificate "${join(dir, 'db1-key.pem')}": no PEM certificate found`,
    );
  });
});
