import { describe, expect, it } from 'vitest';
import { planPasses, type Pass } from '../../../src/sst/passes.js';
import {
  groupFiles,
  partBytes,
  PART_MIN_BYTES,
  splitDirs,
  splitTree,
  type DirFile,
} from '../../../src/sst/splitDirs.js';

const MiB = 1024 * 1024;
const layout = {
  datadir: '/var/lib/mysql',
  dataHome: '/var/lib/mysql',
  logDir: '/var/lib/mysql',
  undoDir: '/var/lib/mysql',
  ariaDir: '/var/lib/mysql',
};

/** The directory passes planPasses makes for `dirs` (name, MiB). */
function dirPasses(dirs: [string, number][], delta = false): Pass[] {
  return planPasses({
    layout,
    module: 'rsync_tunnel_sst',
    offered: new Map([['rsync_tunnel_sst', '']]),
    classFiles: {},
    dirs: dirs.map(([name, mib]) => ({ name, size: mib * MiB, files: 10 })),
    binlogTarBytes: 0,
    transfer: { delta, compress: delta ? 'zstd' : undefined },
  }).dirs;
}

/** Four 85 MiB tables and a few small files, as the wan bench's databases hold them. */
const tables: DirFile[] = [
  ...['t1', 't2', 't3', 't4'].map((t) => ({ name: `${t}.ibd`, size: 85 * MiB })),
  ...['t1', 't2', 't3', 't4'].map((t) => ({ name: `${t}.frm`, size: 1024 })),
  { name: 'db.opt', size: 65 },
];

describe('large directories split into parts', () => {
  it("sizes parts by the workers' share, never below the floor", () => {
    expect(partBytes(1020 * MiB, 2)).toBe(170 * MiB);
    expect(partBytes(100 * MiB, 2)).toBe(PART_MIN_BYTES);
    expect(partBytes(1020 * MiB, 0)).toBe(340 * MiB);
    expect(partBytes(1020 * MiB, 2, true)).toBe(85 * MiB);
    expect(partBytes(100 * MiB, 2, true)).toBe(32 * MiB);
  });

  it('groups the largest files onto the lightest part, and leaves small or unsplittable directories whole', () => {
    const groups = groupFiles(340 * MiB, tables, 170 * MiB);
    // Two parts: the tree part keeps two tables (and the small files), the other takes two.
    expect(groups).toEqual([['t2.ibd', 't4.ibd']]);
    expect(groupFiles(100 * MiB, tables, 170 * MiB)).toEqual([]);
    // One file, however large, cannot be split.
    expect(groupFiles(340 * MiB, [{ name: 'huge.ibd', size: 340 * MiB }], 64 * MiB)).toEqual([]);
    // A name rsync would read as a wildcard, or that holds a space, stays in the tree pass.
    const odd = [
      { name: 'a[1].ibd', size: 150 * MiB },
      { name: 'b c.ibd', size: 150 * MiB },
      { name: 'ok.ibd', size: 40 * MiB },
    ];
    expect(groupFiles(340 * MiB, odd, 100 * MiB)).toEqual([['ok.ibd']]);
  });

  it('turns a tree pass into the tree without the split-off files, then listed files into the same place', () => {
    const [pass] = dirPasses([['wan_db1', 340]]) as [Pass];
    const sizes = new Map(tables.map((f) => [f.name, f.size]));
    const parts = splitTree(pass, [['t2.ibd', 't4.ibd']], sizes);
    expect(parts.map((p) => p.name)).toEqual(['directory wan_db1, part 1/2', 'directory wan_db1, part 2/2']);
    const [tree, files] = parts as [Pass, Pass];
    expect(tree.cwd).toBe('/var/lib/mysql');
    expect(tree.args.slice(-6)).toEqual([
      '--recursive',
      '--delete',
      '--filter=- /t2.ibd',
      '--filter=- /t4.ibd',
      './wan_db1/',
      'sst-joiner::rsync_tunnel_sst/./wan_db1/',
    ]);
    expect(files.cwd).toBe('/var/lib/mysql/wan_db1');
    expect(files.args.slice(-3)).toEqual(['./t2.ibd', './t4.ibd', 'sst-joiner::rsync_tunnel_sst/./wan_db1/']);
    // Listed files: no --delete, no --recursive; the tree pass's flags otherwise (whole files, --inplace).
    expect(files.args).not.toContain('--delete');
    expect(files.args).not.toContain('--recursive');
    expect(files.args).toContain('--inplace');
    expect(files.args).toContain('--whole-file');
    expect(tree.bytes + files.bytes).toBe(pass.bytes);
    expect(files.files).toBe(2);
    // Both keep the directory's scope: phase 2 refreshes the directory as one.
    expect(tree.scope).toBe(pass.scope);
    expect(files.scope).toBe(pass.scope);
    expect(splitTree(pass, [], sizes)).toEqual([pass]);
  });

  it("splits the wan bench's three databases for two workers: a table a part for a mixed copy, the delta side alike", () => {
    const dirs = dirPasses([
      ['wan_db1', 340],
      ['wan_db2', 340],
      ['wan_db3', 340],
      ['mysql', 4],
    ]);
    const deltaDirs = dirPasses(
      [
        ['wan_db1', 340],
        ['wan_db2', 340],
        ['wan_db3', 340],
        ['mysql', 4],
      ],
      true,
    );
    const listed: string[] = [];
    const result = splitDirs(dirs, deltaDirs, 2, (pass) => {
      listed.push(pass.name);
      return tables;
    });
    // Only the directories worth splitting are listed (a stat of every file costs).
    expect(listed).toEqual(['directory wan_db1', 'directory wan_db2', 'directory wan_db3']);
    // Whole files alone: parts of a third of a worker's share (170 MiB), two a database.
    expect(splitDirs(dirs, undefined, 2, () => tables).split).toEqual([
      'directory wan_db1 (2 parts)',
      'directory wan_db2 (2 parts)',
      'directory wan_db3 (2 parts)',
    ]);
    // A mixed copy cuts finer: a table a part (87 MiB parts for 2 workers), so 4 parts of each database.
    expect(result.split).toEqual([
      'directory wan_db1 (4 parts)',
      'directory wan_db2 (4 parts)',
      'directory wan_db3 (4 parts)',
    ]);
    expect(result.dirs).toHaveLength(13);
    // Largest first; the delta side index for index the same parts, with its own flags.
    expect(result.dirs.map((p) => p.bytes)).toEqual(
      [...result.dirs.map((p) => p.bytes)].sort((a, b) => b - a),
    );
    expect(result.deltaDirs?.map((p) => p.name)).toEqual(result.dirs.map((p) => p.name));
    expect(result.deltaDirs?.[0]?.args).not.toContain('--whole-file');
    expect(result.dirs.reduce((s, p) => s + p.bytes, 0)).toBe(dirs.reduce((s, p) => s + p.bytes, 0));
    // One worker: nothing to balance.
    expect(splitDirs(dirs, undefined, 1, () => tables).dirs).toEqual(dirs);
  });
});
