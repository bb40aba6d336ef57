// advertisedAddress: mysqld's order (sst-contract.md 1.6), one option per case.
import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { OptionSet, type OptionEntry } from '../../../src/config/optionSet.js';
import { advertisedAddress } from '../../../src/doctor/advertised.js';

function options(values: Record<string, string>): OptionSet {
  const entries: OptionEntry[] = Object.entries(values).map(([name, value], i) => ({
    name: name.replaceAll('_', '-'),
    rawName: name,
    value,
    file: '/etc/my.cnf',
    line: i + 1,
    group: 'mysqld',
  }));
  return new OptionSet(entries);
}

const iface = (address: string, family: 'IPv4' | 'IPv6', internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family,
    internal,
    netmask: '',
    mac: '',
    cidr: null,
    ...(family === 'IPv6' && { scopeid: 0 }),
  }) as NetworkInterfaceInfo;
const interfaces = {
  lo: [iface('127.0.0.1', 'IPv4', true)],
  eth0: [iface('fe80::1', 'IPv6'), iface('192.168.1.7', 'IPv4')],
};

describe('advertisedAddress()', () => {
  it('takes wsrep_sst_receive_address with its port', () => {
    const a = advertisedAddress(
      options({ wsrep_sst_receive_address: '10.0.0.9:5555', wsrep_node_address: '10.0.0.2' }),
      interfaces,
    );
    expect(a).toEqual({
      host: '10.0.0.9',
      port: 5555,
      address: '10.0.0.9:5555',
      source: 'wsrep_sst_receive_address',
      origin: '/etc/my.cnf:1',
    });
  });

  it('skips AUTO and drops the port of wsrep_node_address', () => {
    const a = advertisedAddress(
      options({ wsrep_sst_receive_address: 'AUTO', wsrep_node_address: '10.0.0.2:4567' }),
      interfaces,
    );
    expect(a).toMatchObject({
      host: '10.0.0.2',
      port: 4444,
      address: '10.0.0.2',
      source: 'wsrep_node_address',
    });
  });

  it('brackets IPv6 and accepts a bare IPv6 wsrep_node_address', () => {
    expect(advertisedAddress(options({ wsrep_node_address: 'fd00::2' }), interfaces)).toMatchObject({
      host: 'fd00::2',
      address: '[fd00::2]',
    });
    expect(
      advertisedAddress(options({ wsrep_sst_receive_address: '[fd00::3]:4445' }), interfaces),
    ).toMatchObject({ host: 'fd00::3', port: 4445, address: '[fd00::3]:4445' });
  });

  it('takes bind_address verbatim, but not a wildcard', () => {
    expect(advertisedAddress(options({ bind_address: 'db1.lan' }), interfaces)).toMatchObject({
      host: 'db1.lan',
      source: 'bind_address',
    });
    for (const wildcard of ['*', '0.0.0.0', '::', ''])
      expect(advertisedAddress(options({ bind_address: wildcard }), interfaces)).toMatchObject({
        host: '192.168.1.7',
        source: 'interface',
        origin: 'interface eth0',
      });
  });

  it('is undefined without options and without a non-loopback interface', () => {
    expect(advertisedAddress(options({}), { lo: interfaces.lo })).toBeUndefined();
  });
});
