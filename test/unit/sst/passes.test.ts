import { describe, expect, it } from 'vitest';
import {
  describePlan,
  magicPass,
  parseModuleListing,
  passExitCode,
  planPasses,
  type PassInputs,
} from '../../../src/sst/passes.js';
import { resolveLayout } from '../../../src/sst/layout.js';

const layout = resolveLayout('/data', { args: {}, env: {}, options: {} });
const baseline: PassInputs = {
  layout,
  module: 'rsync_tunnel_sst',
  // An original socat-based joiner: the main module and -log_dir, no comments.
  offered: new Map([
    ['rsync_tunnel_sst', ''],
    ['rsync_tunnel_sst-log_dir', ''],
  ]),
  classFiles: {
    data: [{ name: 'ibdata1', size: 100 }],
    log: [{ name: 'ib_logfile0', size: 50 }],
    undo: [{ name: 'undo001', size: 10 }],
    aria: [
      { name: 'aria_log_control', size: 1 },
      { name: 'aria_log.00000001', size: 2 },
    ],
  },
  dirs: [
    { name: 'mysql', size: 1000 },
    { name: '-odd name', size: 5 },
  ],
  binlogTarBytes: 7,
  transfer: { delta: false, compress: undefined },
};

describe('planPasses()', () => {
  it('sends the root non-recursively: directories, the binlog tarball and the class files that live there', () => {
    const { root } = planPasses(baseline);
    expect(root.first).toBe(true);
    expect(root.cwd).toBe('/data');
    expect(root.args).toEqual([
      '--owner',
      '--group',
      '--perms',
      '--links',
      '--specials',
      '--ignore-times',
      '--inplace',
      '--quiet',
      '--whole-file',
      '--dirs',
      '--delete',
      '--filter=- /lost+found',
      '--filter=- /.zfs',
      '--filter=- /.snapshot',
      '--filter=- /.fseventsd',
      '--filter=- /.Trashes',
      '--filter=+ /wsrep_sst_binlog.tar',
      '--filter=+ /ibdata1',
      '--filter=+ /undo001',
      '--filter=+ /aria_log_control',
      '--filter=+ /aria_log.00000001',
      '--filter=+ /*/',
      '--filter=- /*',
      './',
      'sst-joiner::rsync_tunnel_sst/',
    ]);
    expect(root.bytes).toBe(7 + 100 + 10 + 1 + 2);
  });

  it("sends the redo log to an original joiner's -log_dir module (its directory is unknown)", () => {
    const { classes } = planPasses(baseline);
    expect(classes.map((p) => [p.name, p.cwd, p.args.slice(9)])).toEqual([
      [
        'log files to rsync_tunnel_sst-log_dir',
        '/data',
        ['./ib_logfile0', 'sst-joiner::rsync_tunnel_sst-log_dir/'],
      ],
    ]);
  });

  it('puts every class in the root pass when our joiner says it lives in its datadir', () => {
    const offered = new Map([
      ['m', 'datadir'],
      ['m-data_dir', 'in-datadir'],
      ['m-log_dir', 'in-datadir'],
      ['m-undo_dir', 'in-datadir'],
      ['m-aria_log', 'in-datadir'],
    ]);
    const plan = planPasses({ ...baseline, module: 'm', offered });
    expect(plan.classes).toEqual([]);
    expect(plan.root.args).toContain('--filter=+ /ib_logfile0');
  });

  it('uses a class module our joiner keeps elsewhere, and sends from the donor directory of that class', () => {
    const custom = resolveLayout('/data', { args: { innodbUndoDirectory: '/undo' }, env: {}, options: {} });
    const offered = new Map([
      ['m', 'datadir'],
      ['m-data_dir', 'separate'],
      ['m-log_dir', 'in-datadir'],
      ['m-undo_dir', 'in-datadir'],
      ['m-aria_log', 'in-datadir'],
    ]);
    const { root, classes } = planPasses({ ...baseline, layout: custom, module: 'm', offered });
    // ibdata: the joiner keeps it elsewhere; undo: the donor keeps it elsewhere, the joiner in its datadir.
    expect(classes.map((p) => [p.cwd, p.args.at(-1)])).toEqual([
      ['/data', 'sst-joiner::m-data_dir/'],
      ['/undo', 'sst-joiner::m/'],
    ]);
    expect(root.args).toContain('--filter=+ /ib_logfile0');
    expect(root.args).not.toContain('--filter=+ /undo001');
  });

  it('skips a class with no files', () => {
    const { classes, root } = planPasses({
      ...baseline,
      classFiles: { data: [{ name: 'ibdata1', size: 1 }] },
    });
    expect(classes).toHaveLength(0);
    expect(root.args.filter((a) => a.startsWith('--filter=+ /i'))).toEqual(['--filter=+ /ibdata1']);
  });

  it('describes the plan by kind for the donor\'s "Sending" line: files and bytes, groups only when there are any', () => {
    const counted: PassInputs = {
      ...baseline,
      dirs: [
        { name: 'mysql', size: 1000, files: 40 },
        { name: 'db', size: 3 * 2 ** 20, files: 1 },
      ],
    };
    // An original joiner offers a module of its own for the redo log (-log_dir): ib_logfile0 is a group; ibdata1,
    // undo001, two Aria files and the binlog tarball ride with the root pass.
    expect(describePlan(planPasses(counted))).toBe(
      '2 database directories (41 files, 3.0 MiB), the top of the datadir (5 files, 120 B), 1 InnoDB/Aria file group(s) in their own directories (1 file, 50 B)',
    );
    // Our joiner says which classes live in its datadir: with all of them there, no group at all.
    const ours = new Map([
      ['rsync_tunnel_sst', 'datadir'],
      ['rsync_tunnel_sst-log_dir', 'in-datadir'],
    ]);
    expect(describePlan(planPasses({ ...counted, offered: ours, binlogTarBytes: 0 }))).toBe(
      '2 database directories (41 files, 3.0 MiB), the top of the datadir (5 files, 163 B)',
    );
    // Directories whose files were not counted: bytes alone.
    expect(describePlan(planPasses({ ...baseline, dirs: [{ name: 'x', size: 5 }] }))).toMatch(
      /^1 database directory \(5 B\), /,
    );
  });

  it("reads rsync's module listing with comments", () => {
    expect(
      parseModuleListing(
        'rsync_tunnel_sst\tdatadir\nrsync_tunnel_sst-log_dir\tin-datadir\nplain          \t\n',
      ),
    ).toEqual(
      new Map([
        ['rsync_tunnel_sst', 'datadir'],
        ['rsync_tunnel_sst-log_dir', 'in-datadir'],
        ['plain', ''],
      ]),
    );
  });

  it('copies every database directory recursively with --delete, names protected from option parsing', () => {
    const { dirs } = planPasses(baseline);
    expect(dirs.map((p) => p.args.slice(9))).toEqual([
      ['--recursive', '--delete', './mysql/', 'sst-joiner::rsync_tunnel_sst/./mysql/'],
      ['--recursive', '--delete', './-odd name/', 'sst-joiner::rsync_tunnel_sst/./-odd name/'],
    ]);
  });

  it('leaves --whole-file out only for delta transfer, with 1 KiB blocks unless a pass is huge', () => {
    const delta = planPasses({ ...baseline, transfer: { delta: true, compress: undefined } });
    for (const pass of [delta.root, ...delta.classes, ...delta.dirs]) {
      expect(pass.args).not.toContain('--whole-file');
      expect(pass.args).toContain('--block-size=1024');
      // Never size+mtime: every file goes through the delta algorithm and rsync's whole-file check.
      expect(pass.args).toContain('--ignore-times');
    }
    expect(planPasses(baseline).root.args).toContain('--whole-file');
    // A pass's blocks grow with its data: at most ~1M checksums in the donor's rsync.
    const huge = planPasses({
      ...baseline,
      dirs: [{ name: 'big', size: 8 * 2 ** 30 }],
      transfer: { delta: true, compress: undefined },
    });
    expect(huge.dirs[0]?.args).toContain('--block-size=8192');
    expect(huge.root.args).toContain('--block-size=1024');
    // [sst] delta-block sets the smallest block.
    const four = planPasses({
      ...baseline,
      transfer: { delta: true, compress: undefined },
      deltaBlock: 4096,
    });
    for (const pass of [four.root, ...four.classes, ...four.dirs])
      expect(pass.args).toContain('--block-size=4096');
  });

  it('compresses every data pass only when [sst] compress asks, with the algorithm when one is named', () => {
    const all = (p: ReturnType<typeof planPasses>) =>
      [p.root, ...p.classes, ...p.dirs].map((pass) => pass.args);
    for (const args of all(planPasses(baseline)))
      expect(args.some((a) => a.startsWith('--compress'))).toBe(false);
    for (const args of all(planPasses({ ...baseline, transfer: { delta: false, compress: 'auto' } }))) {
      expect(args.filter((a) => a.startsWith('--compress'))).toEqual(['--compress']);
    }
    for (const args of all(planPasses({ ...baseline, transfer: { delta: true, compress: 'zstd' } }))) {
      expect(args.filter((a) => a.startsWith('--compress'))).toEqual([
        '--compress',
        '--compress-choice=zstd',
        '--compress-level=1',
      ]);
    }
  });
});

describe('magicPass() and passExitCode()', () => {
  it('sends the marker without --inplace so it lands atomically', () => {
    const pass = magicPass('/data', 'rsync_tunnel_sst', 'rsync_tunnel_sst_complete');
    expect(pass.args).toEqual([
      '--archive',
      '--quiet',
      '--checksum',
      './rsync_tunnel_sst_complete',
      'sst-joiner::rsync_tunnel_sst/',
    ]);
    expect(pass.args).not.toContain('--inplace');
  });

  it('maps rsync codes as the contract says', () => {
    const first = { name: 'a', cwd: '/', args: [], first: true, bytes: 0 };
    expect(passExitCode(first, 12)).toBe(71);
    expect(passExitCode(first, 22)).toBe(12);
    expect(passExitCode(first, 23)).toBe(255);
    expect(passExitCode({ ...first, first: false }, 12)).toBe(255);
  });
});
