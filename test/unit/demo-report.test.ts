import { describe, expect, it } from 'vitest';
import { findSummary, renderReport } from '../../src/demo/report.js';

const DONOR =
  'WSREP_SST: [INFO] donor: SST donor finished: 1.5 GiB in 7.2 s (213.3 MiB/s) over 9 TLS connection(s), TLSv1.3 TLS_AES_128_GCM_SHA256, peer verified by SAN IP "127.0.0.11"; stages: root 0.2 s, 6 directories 6.1 s (20261122 08:30:01.123)';
const JOINER =
  'WSREP_SST: [INFO] joiner: SST joiner finished: 1.5 GiB in 7.5 s (204.8 MiB/s) over 9 TLS connection(s), TLSv1.3 TLS_AES_128_GCM_SHA256 (20261122 08:30:01.456)';

describe('findSummary()', () => {
  it('reads the donor summary line, stages included', () => {
    expect(findSummary(`noise\n${DONOR}\nmore noise`, 'donor')).toEqual({
      role: 'donor',
      bytes: '1.5 GiB',
      seconds: 7.2,
      rate: '213.3 MiB/s',
      connections: 9,
      tls: 'TLSv1.3 TLS_AES_128_GCM_SHA256',
      peer: 'SAN IP "127.0.0.11"',
      stages: 'root 0.2 s, 6 directories 6.1 s',
    });
  });

  it('reads the joiner line, and the last of several', () => {
    const older = JOINER.replace('7.5 s', '9.9 s');
    expect(findSummary(`${older}\n${JOINER}`, 'joiner')).toMatchObject({ seconds: 7.5, connections: 9 });
    expect(findSummary('nothing here', 'joiner')).toBeUndefined();
  });
});

describe('renderReport()', () => {
  it('aligns the dots', () => {
    expect(
      renderReport('T', [
        ['a', '1'],
        ['longer', '2'],
      ]),
    ).toBe('T\n  a ......... 1\n  longer .... 2\n');
  });
});
