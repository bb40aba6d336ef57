import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  account,
  announce,
  gateScript,
  HEADROOM,
  parseAnnouncement,
  renderTotalFile,
  verdict,
  type SpaceProbe,
} from '../../../src/sst/spaceCheck.js';
import { planPasses } from '../../../src/sst/passes.js';

const MiB = 1 << 20;

/** Two file systems: /data (dev 1) and /logs (dev 2); existing bytes per path. */
function probe(free: Record<number, number>, used: Record<string, number> = {}): SpaceProbe {
  return {
    fsOf: (path) => {
      const dev = path.startsWith('/logs') ? 2 : 1;
      return { dev, free: free[dev] ?? 0 };
    },
    usedBy: (path) => used[path] ?? 0,
  };
}

const modules = new Map([
  ['sst', '/data/mysql'],
  ['sst-log_dir', '/logs/redo'],
]);

describe('the total file', () => {
  it('keeps the total alone on line 1 (what older joiners parse) and round-trips the announcement', () => {
    const a = { parts: [{ module: 'sst', bytes: 5, names: ['db1', 'we ird\nname'] }], binlogBytes: 7 };
    const text = renderTotalFile(12, a);
    expect(Number.parseInt(text, 10)).toBe(12);
    expect(parseAnnouncement(text)).toEqual(a);
  });

  it("carries a two-phase donor's notice (our joiner then lets a first-phase 23 pass), and only a true one", () => {
    const a = { parts: [], binlogBytes: 0, twoPhase: true as const };
    expect(parseAnnouncement(renderTotalFile(1, a))).toEqual(a);
    expect(parseAnnouncement('1\n{"parts":[],"binlogBytes":0,"twoPhase":"yes"}\n')).toEqual({
      parts: [],
      binlogBytes: 0,
    });
  });

  it('has no announcement from an older donor, or a malformed one', () => {
    expect(parseAnnouncement('12\n')).toBeUndefined();
    expect(parseAnnouncement('12\n{"parts":[{"module":1}]}\n')).toBeUndefined();
    expect(parseAnnouncement('12\nnot json\n')).toBeUndefined();
  });

  it('announces each pass under its joiner module, with the names it writes', () => {
    const layout = {
      datadir: '/d',
      dataHome: '/d',
      logDir: '/redo',
      undoDir: '/d',
      ariaDir: '/d',
    };
    const plan = planPasses({
      layout,
      module: 'sst',
      offered: new Map([['sst-log_dir', 'separate']]),
      classFiles: { data: [{ name: 'ibdata1', size: 10 }], log: [{ name: 'ib_logfile0', size: 20 }] },
      dirs: [{ name: 'db1', size: 100 }],
      binlogTarBytes: 3,
      transfer: { delta: false, compress: undefined },
    });
    expect(announce(plan, 3)).toEqual({
      parts: [
        { module: 'sst', bytes: 113, names: ['ibdata1', 'wsrep_sst_binlog.tar', 'db1'] },
        { module: 'sst-log_dir', bytes: 20, names: ['ib_logfile0'] },
      ],
      binlogBytes: 3,
    });
  });
});

describe('the verdict', () => {
  const announcement = {
    parts: [
      { module: 'sst', bytes: 100 * MiB, names: ['db1'] },
      { module: 'sst-log_dir', bytes: 50 * MiB, names: ['ib_logfile0'] },
    ],
    binlogBytes: 0,
  };

  it('accepts when every file system has its share and the headroom', () => {
    expect(verdict(account(announcement, modules, undefined, probe({ 1: 101 * MiB, 2: 51 * MiB })))).toBe(
      undefined,
    );
  });

  it('judges each part against its own file system, naming the one that is short, needed and free', () => {
    const line = verdict(account(announcement, modules, undefined, probe({ 1: 500 * MiB, 2: 40 * MiB })));
    expect(line).toMatch(
      /^Not enough space for the SST on the file system of \/logs\/redo: 51\.0 MiB needed \(50\.0 MiB incoming, 0 B of files it replaces, 1\.0 MiB headroom\), 40\.0 MiB free\. Free at least 11\.0 MiB there/,
    );
  });

  it('counts what the transfer replaces as space given back', () => {
    const p = probe({ 1: 20 * MiB, 2: 500 * MiB }, { '/data/mysql/db1': 90 * MiB });
    expect(verdict(account(announcement, modules, undefined, p))).toBeUndefined();
    const less = probe({ 1: 20 * MiB, 2: 500 * MiB }, { '/data/mysql/db1': 70 * MiB });
    expect(verdict(account(announcement, modules, undefined, less))).toMatch(
      /\/data\/mysql: 31\.0 MiB needed/,
    );
  });

  it('adds up parts that share a file system, and the binlogs unpacked into their directory', () => {
    const same = new Map([
      ['sst', '/data/mysql'],
      ['sst-log_dir', '/data/redo'],
    ]);
    const needs = account({ ...announcement, binlogBytes: 10 * MiB }, same, '/data/binlog', probe({ 1: 0 }));
    expect(needs).toHaveLength(1);
    expect(needs[0]).toMatchObject({
      incoming: 160 * MiB,
      dirs: ['/data/mysql', '/data/redo', '/data/binlog'],
    });
    expect(verdict(needs)).toMatch(/161\.0 MiB needed/);
    expect(HEADROOM).toBe(MiB);
  });

  it('ignores a module this joiner does not serve', () => {
    const odd = { parts: [{ module: 'elsewhere', bytes: 10 ** 12, names: [] }], binlogBytes: 0 };
    expect(account(odd, modules, undefined, probe({ 1: 0 }))).toEqual([]);
  });
});

describe('the gate script', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gate-'));
  const run = (): { code: number; out: string } => {
    try {
      const out = execFileSync('sh', [join(dir, 'gate.sh')], { encoding: 'utf8' });
      return { code: 0, out };
    } catch (error) {
      const e = error as { status: number; stdout: string };
      return { code: e.status, out: e.stdout };
    }
  };
  const write = (name: string, text: string): void => {
    execFileSync('sh', ['-c', `printf '%s' "$1" > "$2"`, 'sh', text, join(dir, name)]);
  };

  it('passes with no total (an older donor), refuses with the verdict, passes an empty verdict', () => {
    write('gate.sh', gateScript(join(dir, "to'tal"), join(dir, 'verdict')));
    expect(run()).toEqual({ code: 0, out: '' });
    write("to'tal", '5\n');
    write('verdict', 'Not enough space\n');
    expect(run()).toEqual({ code: 1, out: 'Not enough space\n' });
    write('verdict', '');
    expect(run().code).toBe(0);
    rmSync(dir, { recursive: true, force: true });
  });
});
