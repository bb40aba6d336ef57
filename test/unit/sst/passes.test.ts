import { describe, expect, it } from 'vitest';
import { magicPass, passExitCode, planPasses, type PassInputs } from '../../../src/sst/passes.js';
import { resolveLayout } from '../../../src/sst/layout.js';

const layout = resolveLayout('/data', { args: {}, env: {}, options: {} });
const baseline: PassInputs = {
  layout,
  module: 'rsync_tunnel_sst',
  offered: new Set(['rsync_tunnel_sst', 'rsync_tunnel_sst-log_dir']),
  classFiles: {
    data: [{ name: 'ibdata1', size: 100 }],
    log: [{ name: 'ib_logfile0', size: 50 }],
    undo: [{ name: 'undo001', size: 10 }],
    aria: [{ name: 'aria_log_control', size: 1 }, { name: 'aria_log.00000001', size: 2 }],
  },
  dirs: [{ name: 'mysql', size: 1000 }, { name: '-odd name', size: 5 }],
  binlogTarBytes: 7,
  wholeFile: true,
};

describe('planPasses()', () => {
  it('sends the root non-recursively: directories, the binlog tarball, nothing else', () => {
    const { root } = planPasses(baseline);
    expect(root.first).toBe(true);
    expect(root.cwd).toBe('/data');
    expect(root.args).toEqual([
      '--owner', '--group', '--perms', '--links', '--specials', '--ignore-times', '--inplace', '--quiet', '--whole-file',
      '--dirs', '--delete',
      '--filter=- /lost+found', '--filter=- /.zfs', '--filter=- /.snapshot', '--filter=- /.fseventsd', '--filter=- /.Trashes',
      '--filter=+ /wsrep_sst_binlog.tar', '--filter=+ /*/', '--filter=- /*',
      './', 'sst-joiner::rsync_tunnel_sst/',
    ]);
    expect(root.bytes).toBe(7);
  });

  it('sends each file class to its own module when offered, else into the datadir (original joiner)', () => {
    const { classes } = planPasses(baseline);
    expect(classes.map((p) => [p.name, p.args.slice(9)])).toEqual([
      ['data files to rsync_tunnel_sst', ['./ibdata1', 'sst-joiner::rsync_tunnel_sst/']],
      ['log files to rsync_tunnel_sst-log_dir', ['./ib_logfile0', 'sst-joiner::rsync_tunnel_sst-log_dir/']],
      ['undo files to rsync_tunnel_sst', ['./undo001', 'sst-joiner::rsync_tunnel_sst/']],
      ['aria files to rsync_tunnel_sst', ['./aria_log_control', './aria_log.00000001', 'sst-joiner::rsync_tunnel_sst/']],
    ]);
  });

  it('uses every class module our joiner offers, from the donor directory of that class', () => {
    const custom = resolveLayout('/data', { args: { innodbUndoDirectory: '/undo' }, env: {}, options: {} });
    const offered = new Set(['m', 'm-data_dir', 'm-log_dir', 'm-undo_dir', 'm-aria_log']);
    const { classes } = planPasses({ ...baseline, layout: custom, module: 'm', offered });
    expect(classes.map((p) => p.args.at(-1))).toEqual([
      'sst-joiner::m-data_dir/', 'sst-joiner::m-log_dir/', 'sst-joiner::m-undo_dir/', 'sst-joiner::m-aria_log/',
    ]);
    expect(classes[2]?.cwd).toBe('/undo');
  });

  it('skips a class with no files', () => {
    const { classes } = planPasses({ ...baseline, classFiles: { log: [{ name: 'ib_logfile0', size: 1 }] } });
    expect(classes).toHaveLength(1);
  });

  it('copies every database directory recursively with --delete, names protected from option parsing', () => {
    const { dirs } = planPasses(baseline);
    expect(dirs.map((p) => p.args.slice(9))).toEqual([
      ['--recursive', '--delete', './mysql/', 'sst-joiner::rsync_tunnel_sst/./mysql/'],
      ['--recursive', '--delete', './-odd name/', 'sst-joiner::rsync_tunnel_sst/./-odd name/'],
    ]);
  });

  it('leaves --whole-file out only for a delta-transfer variant', () => {
    expect(planPasses({ ...baseline, wholeFile: false }).root.args).not.toContain('--whole-file');
  });
});

describe('magicPass() and passExitCode()', () => {
  it('sends the marker without --inplace so it lands atomically', () => {
    const pass = magicPass('/data', 'rsync_tunnel_sst', 'rsync_tunnel_sst_complete');
    expect(pass.args).toEqual(['--archive', '--quiet', '--checksum', './rsync_tunnel_sst_complete', 'sst-joiner::rsync_tunnel_sst/']);
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
