// scripts/install.sh and the wrapper it installs, run as mysqld would run them: another cwd, systemd's minimal PATH
// (no Node on it), no other environment. Install, uninstall, the original moved aside and back, foreign files left
// alone, and the wrapper's documented choice between the bundle and dist/cli.js.
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

const HOME = resolve(import.meta.dirname, '../..');
const INSTALL = join(HOME, 'scripts/install.sh');
const WRAPPER = join(HOME, 'scripts/wsrep_sst_rsync_tunnel');
/** The PATH systemd gives mariadb.service (an nvm or /opt Node is not on it). */
const SYSTEMD_PATH = '/usr/sbin:/usr/bin:/sbin:/bin';
const ORIGINAL = '#!/bin/sh\n# the original socat-based wsrep_sst_rsync_tunnel\nexit 0\n';

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function sh(file: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Result {
  const result = spawnSync('/bin/sh', [file, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    cwd: opts.cwd ?? HOME,
    env: opts.env ?? { ...process.env, PATH: `${dirname(process.execPath)}:${SYSTEMD_PATH}` },
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

let root: string;
let bindir: string;
let elsewhere: string;
let target: string;

beforeAll(() => {
  const built = ['dist/cli.js', 'dist/bundle/sst-tunnel.mjs'].some((p) => existsSync(join(HOME, p)));
  if (!built)
    throw new Error(`"${join(HOME, 'dist/cli.js')}" is missing: run "npm run build" first (npm test does)`);
});
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'install-script-'));
  bindir = join(root, 'bin');
  elsewhere = join(root, 'cwd');
  mkdirSync(bindir);
  mkdirSync(elsewhere);
  target = join(bindir, 'wsrep_sst_rsync_tunnel');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('scripts/install.sh', () => {
  it('installs a wrapper that reaches our CLI from another cwd with a minimal PATH', () => {
    const installed = sh(INSTALL, ['--bindir', bindir]);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toContain(`Installed ${target} -> ${HOME} (node: `);
    const text = readFileSync(target, 'utf8');
    expect(text).toContain(`INSTALLED_HOME='${HOME}'`);
    expect(text).toMatch(/^INSTALLED_NODE='\/.+'$/m);

    // What mysqld does: sh -c "wsrep_sst_rsync_tunnel --role ...", found through PATH, in the datadir.
    const ran = spawnSync('/bin/sh', ['-c', 'wsrep_sst_rsync_tunnel --role bogus --address x'], {
      encoding: 'utf8',
      timeout: 30_000,
      cwd: elsewhere,
      env: { PATH: `${bindir}:${SYSTEMD_PATH}` },
    });
    expect(ran.stderr).toContain('Cannot run an SST with --role "bogus": expected "joiner" or "donor"');
    expect(ran.status).toBe(22);
    expect(ran.stdout).toBe('');
  });

  it('--uninstall removes only our file', () => {
    writeFileSync(join(bindir, 'wsrep_sst_rsync'), ORIGINAL);
    expect(sh(INSTALL, ['--bindir', bindir]).code).toBe(0);
    const removed = sh(INSTALL, ['--bindir', bindir, '--uninstall']);
    expect(removed).toMatchObject({ code: 0, stdout: `Removed ${target}\n` });
    expect(readdirSync(bindir)).toEqual(['wsrep_sst_rsync']);
    expect(sh(INSTALL, ['--bindir', bindir, '--uninstall'])).toMatchObject({
      code: 0,
      stdout: `Nothing to remove: ${target} does not exist\n`,
    });
  });

  it('--uninstall refuses to remove a file that is not ours', () => {
    writeFileSync(target, ORIGINAL, { mode: 0o755 });
    const refused = sh(INSTALL, ['--bindir', bindir, '--uninstall']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`install.sh: ${target} is not sst-tunnel's script; not removing it\n`);
    expect(readFileSync(target, 'utf8')).toBe(ORIGINAL);
  });

  it('moves an original script aside on install and restores it on uninstall', () => {
    writeFileSync(target, ORIGINAL, { mode: 0o755 });
    const installed = sh(INSTALL, ['--bindir', bindir]);
    expect(installed.code).toBe(0);
    expect(installed.stderr).toContain(`moving it to ${target}.orig`);
    expect(readFileSync(`${target}.orig`, 'utf8')).toBe(ORIGINAL);
    expect(readFileSync(target, 'utf8')).toContain('sst-tunnel');
    // A second install replaces our copy and keeps the original where it is.
    expect(sh(INSTALL, ['--bindir', bindir]).code).toBe(0);
    expect(readFileSync(`${target}.orig`, 'utf8')).toBe(ORIGINAL);

    const removed = sh(INSTALL, ['--bindir', bindir, '--uninstall']);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain(`Restored the original ${target} from ${target}.orig`);
    expect(readFileSync(target, 'utf8')).toBe(ORIGINAL);
    expect(readdirSync(bindir)).toEqual(['wsrep_sst_rsync_tunnel']);
  });

  it("leaves the Debian package's wrapper alone, on install and on uninstall", () => {
    // What scripts/deb.mjs installs as /usr/bin/wsrep_sst_rsync_tunnel: our shim with INSTALLED_BIN filled in.
    const shim = readFileSync(join(HOME, 'scripts/wsrep_sst_rsync_tunnel'), 'utf8');
    const packaged = shim.replace(/^INSTALLED_BIN=$/m, 'INSTALLED_BIN=/usr/lib/sst-tunnel/sst-tunnel');
    expect(packaged).not.toBe(shim);
    writeFileSync(target, packaged, { mode: 0o755 });
    for (const args of [
      ['--bindir', bindir],
      ['--bindir', bindir, '--uninstall'],
    ]) {
      const r = sh(INSTALL, args);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `${target} belongs to the sst-tunnel Debian package; remove the package first`,
      );
      expect(readFileSync(target, 'utf8')).toBe(packaged);
      expect(readdirSync(bindir)).toEqual(['wsrep_sst_rsync_tunnel']);
    }
  });

  it('rejects an unknown argument and a missing bin directory', () => {
    expect(sh(INSTALL, ['--prefix', '/usr'])).toMatchObject({ code: 22 });
    const missing = sh(INSTALL, ['--bindir', join(root, 'nope')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('is not a directory');
  });
});

describe('wsrep_sst_rsync_tunnel program choice', () => {
  // A fake installation whose two programs say which one ran.
  function fakeHome(files: Record<string, number | undefined>): string {
    const home = join(root, 'home');
    for (const [rel, mtime] of Object.entries(files)) {
      if (mtime === undefined) continue;
      const path = join(home, rel);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(
        path,
        `process.stdout.write(${JSON.stringify(rel)} + ' ' + process.argv.slice(2).join(' '));\n`,
      );
      chmodSync(path, 0o644);
      utimesSync(path, mtime, mtime);
    }
    return home;
  }
  function runWrapper(home: string): Result {
    return sh(WRAPPER, ['--role', 'joiner'], {
      cwd: elsewhere,
      env: { PATH: SYSTEMD_PATH, SST_TUNNEL_HOME: home, SST_TUNNEL_NODE: process.execPath },
    });
  }
  const CLI = 'dist/cli.js';
  const BUNDLE = 'dist/bundle/sst-tunnel.mjs';

  it('prefers the bundle when it is at least as new as dist/cli.js', () => {
    expect(runWrapper(fakeHome({ [CLI]: 1_000, [BUNDLE]: 2_000 })).stdout).toBe(
      `${BUNDLE} sst --role joiner`,
    );
  });
  it('runs dist/cli.js when it was built after the bundle', () => {
    expect(runWrapper(fakeHome({ [CLI]: 2_000, [BUNDLE]: 1_000 })).stdout).toBe(`${CLI} sst --role joiner`);
  });
  it('runs the bundle alone', () => {
    expect(runWrapper(fakeHome({ [BUNDLE]: 1_000 })).stdout).toBe(`${BUNDLE} sst --role joiner`);
  });
  it('fails with exit 2 naming both paths when neither exists', () => {
    const home = fakeHome({});
    const result = runWrapper(home);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`neither "${join(home, BUNDLE)}" nor "${join(home, CLI)}" exists`);
  });
  it('fails with exit 2 when the Node binary cannot be found', () => {
    const home = fakeHome({ [CLI]: 1_000 });
    const result = sh(WRAPPER, ['--role', 'joiner'], {
      cwd: elsewhere,
      env: { PATH: SYSTEMD_PATH, SST_TUNNEL_HOME: home, SST_TUNNEL_NODE: '/nonexistent/node' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('Cannot find the Node.js binary "/nonexistent/node"');
  });
});
