/**
 * The README's quick start: `npm run demo` runs `sst-tunnel demo`, the product's main job on a built-in default.
 * Run here as an operator runs it (the built CLI, no options but a smaller size): it must end 0 and print every
 * row with real figures read back from the SST's own log lines. A change to the summary line once left the
 * demo saying "no summary line found in the logs" with no test noticing.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mariadbAvailable } from '../../src/demo/galera.js';
import { REPO } from '../helpers/mysqld-standin.js';
import { isListening, processesMentioning } from '../helpers/sst-fixture.js';

const CLI = join(REPO, 'dist', 'cli.js');
const available = mariadbAvailable();
if (!available.ok) console.log(`Skipping the Galera demo test: ${available.reason}`);

// Each demo gets a temp dir of its own (TMPDIR), and "nothing left" means that dir is empty afterwards: looking
// for sst-tunnel-demo-* in the shared /tmp once failed because another clone's suite was running its demo.
let demoTmp = '';
beforeEach(() => {
  demoTmp = mkdtempSync(join(tmpdir(), 'demo-cli-'));
  // Like /tmp: mariadbd runs as mysql, must reach the nodes' directories below it and takes TMPDIR as its tmpdir.
  chmodSync(demoTmp, 0o1777);
});
afterEach(() => rmSync(demoTmp, { recursive: true, force: true }));

const leftInDemoTmp = (): string[] => readdirSync(demoTmp);

/** No listener left on any of these addresses and ports. */
function expectUnbound(...endpoints: (readonly [string, number])[]): void {
  for (const [host, port] of endpoints)
    expect(isListening(host, port), `${host}:${port} still bound`).toBe(false);
}

function runDemo(
  args: string[],
  timeoutMs: number,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, 'demo', ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    env: { ...process.env, TMPDIR: demoTmp },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The value of a `label ..... value` row of the report. */
function row(report: string, label: string): string | undefined {
  const line = report.split('\n').find((l) => l.startsWith(`  ${label} .`));
  return line?.replace(/^ {2}[^.]+\.+ /, '');
}

function expectTransferRows(report: string): void {
  expect(report).not.toContain('no summary line');
  expect(row(report, 'transfer')).toMatch(
    /^[\d.]+ [KMG]iB in [\d.]+ s \([\d.]+ [KMG]iB\/s\) over \d+ TLS connections$/,
  );
  expect(row(report, 'TLS')).toMatch(/^TLSv1\.[23] \S+$/);
  expect(row(report, 'joiner verified by the donor')).toBe('SAN IP "127.0.0.11"');
  // auto (the default) says what it chose and, when it probed, what it read.
  expect(row(report, 'transfer mode')).toMatch(
    /^whole files( \+ zstd)?, by auto( \(the link read [\d.]+ [KMG]?i?B\/s\))?$/,
  );
  // An empty joiner: whole files, compressed only if auto read a slow link on a loaded host.
  expect(row(report, 'data and wire')).toMatch(
    /^whole files( \+ zstd)?: [\d.]+ [KMG]iB of data, [\d.]+ [KMG]iB on the wire/,
  );
}

describe('sst-tunnel demo', () => {
  it('runs the contract demo (no MariaDB needed) and reports the transfer from the SST logs', () => {
    const r = runDemo(['--mode', 'contract', '--size-mib', '16'], 120_000);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sst-tunnel demo: an encrypted SST between two datadirs');
    expect(row(r.stdout, 'joiner said to mysqld')).toMatch(
      /^ready ssttunnelbind1:[0-9a-f]{32}@127\.0\.0\.11:4444\//,
    );
    expect(row(r.stdout, 'donor said to mysqld')).toMatch(/^flush tables \| continue \| done /);
    expectTransferRows(r.stdout);
    // Random files sent whole, uncompressed: the wire carries every byte (counted before every connection had
    // reported, it once showed 0.74x).
    expect(row(r.stdout, 'data and wire')).toMatch(/ on the wire \(1\.0\dx\)$/);
    expect(row(r.stdout, 'cleanup')).toBe('nodes stopped, temporary files removed');
    expect(leftInDemoTmp()).toEqual([]);
    expect(isListening('127.0.0.11', 4444)).toBe(false);
  });

  it.skipIf(!available.ok)(
    'runs the Galera demo on real mariadbd: Synced, CHECKSUM TABLE equal, figures from both logs',
    () => {
      const r = runDemo(['--size-mib', '16'], 300_000);
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
      expect(r.stdout).toContain('a real encrypted SST between two MariaDB Galera nodes');
      expect(row(r.stdout, 'certificates')).toContain(demoTmp);
      expect(row(r.stdout, 'joiner')).toMatch(/^node2 127\.0\.0\.11, Synced [\d.]+ s after it started$/);
      expectTransferRows(r.stdout);
      expect(row(r.stdout, 'data')).toMatch(/^CHECKSUM TABLE equal on both nodes \(\d+ tables\)$/);
      expect(leftInDemoTmp()).toEqual([]);
      expectUnbound(['127.0.0.10', 3306], ['127.0.0.11', 4444]);
    },
    320_000,
  );

  /**
   * An operator presses Ctrl-C, or a supervisor sends SIGTERM, in the middle of the demo. Its servers run in
   * process groups of their own (the terminal's SIGINT never reaches them), so the demo itself must stop them:
   * before, Node's default action ended it at once and left mariadbd (or the SST scripts) running, the ports
   * bound and the temporary directory behind.
   */
  const interrupt = async (
    args: string[],
    signal: 'SIGINT' | 'SIGTERM',
    busy: (cmdline: string) => boolean,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; endedInMs: number }> => {
    const child = spawn(process.execPath, [CLI, 'demo', ...args], {
      env: { ...process.env, TMPDIR: demoTmp },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    );
    const deadline = Date.now() + 120_000;
    while (!processesMentioning(demoTmp).some((p) => busy(p.cmdline))) {
      if (Date.now() > deadline || child.exitCode !== null) {
        child.kill('SIGKILL');
        throw new Error(`the demo never got busy; stderr:\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill(signal);
    const signalled = Date.now();
    const ended = await exited;
    return { ...ended, stderr, endedInMs: Date.now() - signalled };
  };

  /** Waits until nothing mentions the demo's directory (a SIGKILLed server takes a moment to die). */
  const nothingLeft = async (): Promise<string[]> => {
    const deadline = Date.now() + 15_000;
    let left = processesMentioning(demoTmp).map((p) => p.cmdline);
    while (left.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      left = processesMentioning(demoTmp).map((p) => p.cmdline);
    }
    return left;
  };

  it('ends an interrupted contract demo mid-transfer by the same SIGINT, its SST scripts stopped and its files removed', async () => {
    // 256 MiB: the SST runs for seconds, so the signal lands while rsync moves data.
    const r = await interrupt(['--mode', 'contract', '--size-mib', '256'], 'SIGINT', (cmd) =>
      cmd.startsWith('rsync '),
    );
    // Ended by the signal itself (re-raised after the cleanup): a shell reports 130, a supervisor sees SIGINT.
    expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: null, signal: 'SIGINT' });
    // A bound, not a speed target: the scripts get EXIT_TERM_MS (5 s) to clean up before a SIGKILL.
    expect(r.endedInMs).toBeLessThan(10_000);
    expect(r.stderr).toContain('demo: ended by SIGINT; stopping what it started');
    expect(await nothingLeft()).toEqual([]);
    expect(leftInDemoTmp()).toEqual([]);
    expect(isListening('127.0.0.11', 4444)).toBe(false);
  }, 180_000);

  it.skipIf(!available.ok)(
    'ends an interrupted Galera demo by the same SIGTERM: no mariadbd left, ports free, files removed',
    async () => {
      // Both nodes up and the SST under way: the donor's SST script runs.
      const r = await interrupt(['--size-mib', '64'], 'SIGTERM', (cmd) => / sst --role donor /.test(cmd));
      expect({ code: r.code, signal: r.signal }, r.stderr).toEqual({ code: null, signal: 'SIGTERM' });
      expect(r.endedInMs).toBeLessThan(10_000);
      expect(r.stderr).toContain('demo: ended by SIGTERM; stopping what it started');
      expect(await nothingLeft()).toEqual([]);
      expect(leftInDemoTmp()).toEqual([]);
      expectUnbound(['127.0.0.10', 3306], ['127.0.0.10', 4567]);
    },
    180_000,
  );
});
