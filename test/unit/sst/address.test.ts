import { describe, expect, it } from 'vitest';
import { formatHostPort, moduleOf, parseSstAddress } from '../../../src/sst/address.js';

describe('parseSstAddress()', () => {
  it.each([
    ['10.0.0.2', { host: '10.0.0.2', port: 4444, explicitPort: false, path: [], family: 4 }],
    ['10.0.0.2:4555', { host: '10.0.0.2', port: 4555, explicitPort: true, path: [], family: 4 }],
    [
      'db2.example:4444/rsync_tunnel_sst',
      { host: 'db2.example', port: 4444, path: ['rsync_tunnel_sst'], family: 0 },
    ],
    ['[fd00::2]', { host: 'fd00::2', port: 4444, family: 6 }],
    [
      '[::1]:4445/rsync_tunnel_sst/1234/1',
      { host: '::1', port: 4445, path: ['rsync_tunnel_sst', '1234', '1'] },
    ],
  ])('parses %s', (raw, expected) => {
    expect(parseSstAddress(raw)).toMatchObject(expected);
  });

  it.each([
    ['', 'it is empty'],
    ['host name', 'only letters, digits and "-_.:[]/" are allowed'],
    ['fd00::2:4444', 'an IPv6 address must be written in brackets, e.g. "[fd00::2]:4444"'],
    ['[fd00::2', '"[" without a matching "]"'],
    ['[db2]:4444', '"db2" in brackets is not an IPv6 address'],
    ['h:0', 'port "0" is not a number from 1 to 65535'],
    ['h:70000', 'port "70000" is not a number from 1 to 65535'],
    ['h:', 'port "" is not a number from 1 to 65535'],
    [':4444', 'the host is empty'],
    ['[::1]x', 'unexpected "x" after "]"'],
  ])('refuses %j: %s', (raw, why) => {
    expect(() => parseSstAddress(raw)).toThrow(`Cannot parse SST address "${raw}": ${why}`);
  });

  it('names the module, rsync_tunnel_sst by default', () => {
    expect(moduleOf(parseSstAddress('h:1/custom'))).toBe('custom');
    expect(moduleOf(parseSstAddress('h:1'))).toBe('rsync_tunnel_sst');
  });

  it('brackets IPv6 next to a port', () => {
    expect(formatHostPort('::1', 4444)).toBe('[::1]:4444');
    expect(formatHostPort('10.0.0.1', 4444)).toBe('10.0.0.1:4444');
  });
});
