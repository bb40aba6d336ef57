/** Phase 2's passes (src/sst/refreshPasses.ts): delete-only scoped like phase 1, then the selected entries only. */
import { describe, expect, it } from 'vitest';
import { planPasses } from '../../../src/sst/passes.js';
import { DELETE_ONLY, refreshPasses } from '../../../src/sst/refreshPasses.js';
import type { Selection } from '../../../src/sst/changeSelect.js';

const layout = { datadir: '/d', dataHome: '/d', logDir: '/logs', undoDir: '/d', ariaDir: '/d' };
const plan = planPasses({
  layout,
  module: 'm',
  offered: new Map([
    ['m', ''],
    ['m-log_dir', ''],
  ]),
  classFiles: { data: [{ name: 'ibdata1', size: 10 }], log: [{ name: 'ib_logfile0', size: 5 }] },
  dirs: [{ name: 'shop', size: 100, files: 2 }],
  binlogTarBytes: 3,
  transfer: { delta: false, compress: undefined },
});
const sel = (send: string[], deletions: boolean): Selection => ({ send, deletions, reasons: {}, bytes: 7 });

describe('refreshPasses()', () => {
  it('sends the selected paths of a database directory from a NUL list, then re-runs it as delete-only', () => {
    const dir = plan.dirs[0];
    if (dir === undefined) throw new Error('no dir pass');
    const [send, del, ...rest] = refreshPasses(dir, sel(['.', 'a.ibd', 'sub/b.ibd'], true), '/tmp/l');
    expect(rest).toEqual([]);
    // Same operands and flags as phase 1, plus the two that turn off every transfer.
    expect(del?.args).toEqual([...dir.args.slice(0, -2), ...DELETE_ONLY, './shop/', 'sst-joiner::m/./shop/']);
    expect(send?.args).toEqual([
      ...(dir.scope?.flags ?? []),
      '--force',
      '--from0',
      '--files-from=/tmp/l',
      './shop/',
      'sst-joiner::m/./shop/',
    ]);
    expect(send?.args).toContain('--ignore-times');
    expect(send?.list).toEqual({ path: '/tmp/l', text: '.\0a.ibd\0sub/b.ibd\0' });
    expect(send?.bytes).toBe(7);
  });

  it('runs nothing for an idle database', () => {
    expect(refreshPasses(plan.dirs[0] ?? plan.root, sel([], false), '/tmp/l')).toEqual([]);
  });

  it('deletes at the top of the datadir under the same filters, and sends the listed files as operands', () => {
    const [send, del] = refreshPasses(
      plan.root,
      sel(['.', 'ibdata1', 'wsrep_sst_binlog.tar'], true),
      '/tmp/l',
    );
    expect(del?.args).toEqual(
      expect.arrayContaining(['--dirs', '--delete', ...DELETE_ONLY, '--filter=- /*']),
    );
    expect(del?.args.slice(-2)).toEqual(['./', 'sst-joiner::m/']);
    expect(send?.args.slice(-3)).toEqual(['./ibdata1', './wsrep_sst_binlog.tar', 'sst-joiner::m/']);
    expect(send?.args).not.toContain('--delete');
  });

  it('spares the database directories at the top of the datadir (a symlinked one is a directory on the joiner)', () => {
    const [, del] = refreshPasses(plan.root, sel(['ibdata1'], true), '/tmp/l', ['shop', 'linked db']);
    const args = del?.args ?? [];
    // Protect rules first: rsync's filters are first-match.
    expect(args.indexOf('--filter=P /shop')).toBeLessThan(args.indexOf('--filter=- /*'));
    expect(args).toContain('--filter=P /linked db');
  });

  it('never deletes in a file-class module, which phase 1 never did either', () => {
    const log = plan.classes.find((p) => p.scope?.key === 'class:log');
    if (log === undefined) throw new Error('no log pass');
    const passes = refreshPasses(log, sel(['.', 'ib_logfile0'], true), '/tmp/l');
    expect(passes).toHaveLength(1);
    expect(passes[0]?.args.slice(-2)).toEqual(['./ib_logfile0', 'sst-joiner::m-log_dir/']);
  });
});
