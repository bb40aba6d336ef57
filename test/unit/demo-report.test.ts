import { describe, expect, it } from 'vitest';
import { findSummary, lastTransferChoice, renderReport } from '../../src/demo/report.js';
import { summaryLine, type SessionFigures } from '../../src/sst/roleContext.js';
import { wireVersusData } from '../../src/sst/transferMode.js';

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

describe('findSummary() on the lines the roles write today', () => {
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384' };
  const sessions: SessionFigures[] = [
    { bytesIn: 1000, bytesOut: 600 * 1024 * 1024, ...tls, match: { field: 'SAN IP', value: '127.0.0.11' } },
    { bytesIn: 1000, bytesOut: 400 * 1024 * 1024, ...tls },
  ];
  const stamp = ' (20261205 23:59:01.123)';

  it('reads the donor line with its transfer note and stages (a note once hid the whole summary)', () => {
    const line = `WSREP_SST: [INFO] donor: ${summaryLine('donor', sessions, 5_000)}; transfer whole files: ${wireVersusData(
      1000 * 1024 * 1024,
      1000 * 1024 * 1024 + 2000,
    )}; stages: root 0.3 s, 3 directories 4.1 s${stamp}`;
    expect(findSummary(line, 'donor')).toEqual({
      role: 'donor',
      bytes: '1000.0 MiB',
      seconds: 5,
      rate: '200.0 MiB/s',
      connections: 2,
      tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
      peer: 'SAN IP "127.0.0.11"',
      stages: 'root 0.3 s, 3 directories 4.1 s',
      wire: 'whole files: 1000.0 MiB of data, 1000.0 MiB on the wire (1.00x)',
    });
  });

  it('reads the joiner line, peer named by subject, with its data-against-wire note', () => {
    const joinerSessions = sessions.map(({ match: _match, ...rest }) => ({ ...rest, subject: 'CN=node1' }));
    const line = `WSREP_SST: [INFO] joiner: ${summaryLine('joiner', joinerSessions, 5_000)}; ${wireVersusData(
      2048 * 1024 * 1024,
      1000 * 1024 * 1024,
    )}${stamp}`;
    expect(findSummary(line, 'joiner')).toMatchObject({
      connections: 2,
      tls: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
      peer: '"CN=node1" (chain verified)',
      wire: '2.0 GiB of data, 1000.0 MiB on the wire (0.49x)',
    });
  });

  it('reads a summary without TLS details or peer (verify off)', () => {
    const line = summaryLine('donor', [{ bytesIn: 10, bytesOut: 2048 }], 1_000, false);
    expect(findSummary(line, 'donor')).toEqual({
      role: 'donor',
      bytes: '2.0 KiB',
      seconds: 1,
      rate: '2.0 KiB/s',
      connections: 1,
    });
  });
});

describe('lastTransferChoice()', () => {
  const stamp = ' (20261207 02:13:37.524)';
  const probed = `WSREP_SST: [INFO] donor: Transfer: whole files + zstd (auto: the joiner holds no datadir of a cluster it names; the link moved 75.8 MiB/s on the probe (~108.3 MiB/s for a long copy), below the 240.0 MiB/s zstd feeds on 2 core(s); zstd pays on a slow link)${stamp}`;
  const fixed = `WSREP_SST: [INFO] donor: Transfer: delta ([sst] transfer = delta)${stamp}`;
  const rootPass = `WSREP_SST: [INFO] donor: Transfer: whole files for the remaining passes (auto: the first pass moved 432.4 MiB/s on the wire, at least 240.0 MiB/s: compression would cost more than it saves)${stamp}`;

  it("reads the last SST's mode, whether auto chose it, and the link it read", () => {
    expect(lastTransferChoice(`${fixed}\nnoise\n${probed}\n`)).toEqual({
      mode: 'whole files + zstd',
      auto: true,
      link: '75.8 MiB/s',
    });
    expect(lastTransferChoice(`${probed}\n${fixed}`)).toEqual({ mode: 'delta', auto: false });
    // An original joiner: auto judged the link from the first pass.
    expect(lastTransferChoice(rootPass)).toEqual({
      mode: 'whole files for the remaining passes',
      auto: true,
      link: '432.4 MiB/s',
    });
    expect(lastTransferChoice('WSREP_SST: [INFO] donor: Sending 1.0 GiB\n')).toBeUndefined();
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
