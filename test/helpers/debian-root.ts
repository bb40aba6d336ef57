/**
 * The Debian 13 "trixie" root with MariaDB 11.8 (scripts/debian-root.sh), for the tests that need a real 11.8 next
 * to this machine's 10.11. .ci/run builds it before the tests; here `ensure` only finds the cached root (or builds
 * it once, when the machine can). When it cannot be had, `skip` says why in one line.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../../src/demo/contractDriver.js';

/** The package list of the 11.8 root: the file .ci/run passes too, so both find the same cached root. */
export const TRIXIE_PACKAGES = readFileSync(join(REPO, 'test', 'fixtures', 'trixie-packages.txt'), 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '');

export const DEBIAN_ROOT_SCRIPT = join(REPO, 'scripts', 'debian-root.sh');

let cached: { root?: string; skip?: string } | undefined;

/** The trixie root's path, or why there is none (exit 77 of the script: no root privileges or no debootstrap). */
export function trixieRoot(): { root?: string; skip?: string } {
  if (cached !== undefined) return cached;
  const result = spawnSync('bash', [DEBIAN_ROOT_SCRIPT, 'ensure', 'trixie', ...TRIXIE_PACKAGES], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const root = result.stdout.trim().split('\n').at(-1);
  cached =
    result.status === 0 && root !== undefined && root !== ''
      ? { root }
      : { skip: (result.stderr.trim().split('\n').at(-1) ?? '') || `debian-root.sh exited ${result.status}` };
  return cached;
}

/** argv that runs `command` inside `root` (private mounts: proc, sys, dev, /tmp, and `binds`). */
export function inRoot(
  root: string,
  command: string[],
  opts: { binds?: string[]; env?: string[] } = {},
): string[] {
  return [
    DEBIAN_ROOT_SCRIPT,
    'run',
    root,
    ...(opts.binds ?? []).flatMap((dir) => ['--bind', dir]),
    ...(opts.env ?? []).flatMap((pair) => ['--env', pair]),
    '--',
    ...command,
  ];
}
