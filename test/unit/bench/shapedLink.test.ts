import { describe, expect, it } from 'vitest';
import {
  parseLinkBytes,
  planLink,
  setupCommands,
  tbfArgs,
  teardownCommands,
} from '../../../src/bench/shapedLink.js';
import {
  renderWanTable,
  wanAppends,
  wanChanges,
  wanRows,
  type WanRecord,
} from '../../../src/bench/wanBench.js';

describe('shaped link', () => {
  it('plans two namespaces, a veth pair, addresses and a tbf on each end; removes both namespaces', () => {
    const link = planLink(4242, 200);
    const cmds = setupCommands(link).map((c) => c.join(' '));
    expect(cmds.slice(0, 3)).toEqual([
      'ip netns add s17-4242-a',
      'ip netns add s17-4242-b',
      'ip link add v4242a netns s17-4242-a type veth peer name v4242b netns s17-4242-b',
    ]);
    expect(cmds).toContain('ip -n s17-4242-b addr add 10.217.0.2/24 dev v4242b');
    expect(cmds.filter((c) => c.includes(' tbf rate 200mbit '))).toHaveLength(2);
    expect(setupCommands(planLink(1, undefined)).some((c) => c.includes('tbf'))).toBe(false);
    expect(teardownCommands(link).map((c) => c.join(' '))).toEqual([
      'ip netns delete s17-4242-a',
      'ip netns delete s17-4242-b',
    ]);
  });

  it('gives tbf a burst of 10 ms of traffic, at least 32 KiB', () => {
    expect(tbfArgs('v1a', 1000)).toContain('1250000');
    expect(tbfArgs('v1a', 10)).toContain(String(32 * 1024));
  });

  it('reads bytes sent and received from ip -s link', () => {
    const text = [
      '5: v1a@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc tbf state UP',
      '    link/ether aa:bb:cc:dd:ee:ff brd ff:ff:ff:ff:ff:ff link-netns s17-1-b',
      '    RX:   bytes packets errors dropped  missed   mcast',
      '        123456     100      0       0       0       0',
      '    TX:   bytes packets errors dropped carrier collsns',
      '      98765432    2000      0       0       0       0',
    ].join('\n');
    expect(parseLinkBytes(text)).toEqual({ rx: 123456, tx: 98765432 });
  });
});

describe('wan data and table', () => {
  it('loads rows of text and numbers in statements a client argument can carry, and changes one row in 20', () => {
    const statements = wanRows(1024).flatMap((b) => b.split(';\n'));
    expect(statements.some((s) => s.startsWith('INSERT INTO wan_db3.t4'))).toBe(true);
    expect(Math.max(...statements.map((s) => s.length))).toBeLessThan(128 * 1024);
    expect(statements.join('\n')).not.toContain('RANDOM_BYTES');
    expect(wanChanges()).toHaveLength(12);
    expect(wanChanges()[0]).toContain('WHERE id % 20 = 7');
    // Appends: one row in 20 more per table, new ids (clustered at the end), in statements of the same shape.
    const appends = wanAppends(1024);
    expect(appends).toHaveLength(12);
    expect(appends[0]).toMatch(
      /^INSERT INTO wan_db1\.t1 \(customer, qty, price, created, note\) SELECT .* FROM wan_db1\.seq_1_to_4474$/,
    );
    expect(Math.max(...appends.map((s) => s.length))).toBeLessThan(128 * 1024);
  });

  it('compares each variant with plain rsync full SST on the same link', () => {
    const run = (variant: string, scenario: 'full' | 'rejoin', wallS: number): WanRecord => ({
      rateMbit: 200,
      scenario,
      variant,
      round: 1,
      wallS,
      dataBytes: 2 ** 30,
      wireBytes: 2 ** 29,
      donorCpuS: 2,
      joinerCpuS: 3,
      checksumsEqual: true,
    });
    const table = renderWanTable([run('rsync', 'full', 60), run('ours-delta', 'rejoin', 10)]);
    expect(table).toContain('| 200 Mbit/s | full | rsync | 60.0 | 1.00 | 0.50 | 2.00 | 3.00 | equal |');
    expect(table).toContain('| 200 Mbit/s | rejoin | ours-delta | 10.0 | 6.00 |');
  });
});
