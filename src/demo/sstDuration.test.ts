import { describe, expect, it } from 'vitest';
import { lineTime, sstDurationFromLog, sstTimingFromLog } from './sstDuration.js';

// Trimmed from a real joiner log (MariaDB 10.11.19, galera-4 26.4.23, wsrep_sst_method=rsync).
const REAL = `2026-11-22  7:13:11 2 [Note] WSREP: Server status change connected -> joiner
2026-11-22  7:13:11 0 [Note] WSREP: Running: 'wsrep_sst_rsync --role 'joiner' --address '127.0.0.3:4444' --datadir '/d/' --parent 13451 --progress 0'
2026-11-22  7:13:11 0 [Note] WSREP: Joiner monitor thread started to monitor
WSREP_SST: [INFO] rsync SST started on joiner (20261122 07:13:11.384)
WSREP_SST: [INFO] 'ss' is selected as a socket information utility. (20261122 07:13:11.662)
2026-11-22  7:13:11 2 [Note] WSREP: Requesting state transfer: success, donor: 0
2026-11-22  7:13:15 0 [Note] WSREP: 0.0 (node1): State transfer to 1.0 (node2) complete.
WSREP_SST: [INFO] rsync SST completed on joiner (20261122 07:13:15.144)
WSREP_SST: [INFO] Joiner cleanup done. (20261122 07:13:15.692)
2026-11-22  7:13:15 3 [Note] WSREP: SST received
2026-11-22  7:13:15 0 [Note] InnoDB: Completed initialization of buffer pool
2026-11-22  7:13:15 3 [Note] WSREP: SST received: 2bd0a174-e644-11f1-8633-2f6f3caf9ec9:17
2026-11-22  7:13:15 3 [Note] WSREP: SST succeeded for position 2bd0a174-e644-11f1-8633-2f6f3caf9ec9:17
2026-11-22  7:13:15 2 [Note] WSREP: Synchronized with group, ready for connections
`;

describe('sstDurationFromLog()', () => {
  it('measures from the script start line to its last line, in milliseconds', () => {
    expect(sstDurationFromLog(REAL)).toBe(15_692 - 11_384);
    const timing = sstTimingFromLog(REAL);
    expect(timing?.precision).toBe('ms');
    expect(timing?.endLine).toContain('Joiner cleanup done.');
  });

  it('falls back to mysqld lines (second precision) when the script logs no start line', () => {
    const quiet = REAL.split('\n')
      .filter((l) => !l.startsWith('WSREP_SST'))
      .join('\n');
    const timing = sstTimingFromLog(quiet);
    expect(timing).toMatchObject({ durationMs: 4_000, precision: 's' });
    expect(timing?.startLine).toContain("Running: 'wsrep_sst_rsync --role 'joiner'");
    expect(timing?.endLine).toContain('SST succeeded for position');
  });

  it('falls back to "Requesting state transfer" and "Synchronized with group"', () => {
    const bare = REAL.split('\n')
      .filter((l) => !l.startsWith('WSREP_SST') && !l.includes('Running:') && !l.includes('SST succeeded'))
      .join('\n');
    expect(sstTimingFromLog(bare)).toMatchObject({ durationMs: 4_000, precision: 's' });
  });

  it('takes the last SST of a log that holds two', () => {
    const second = REAL.replaceAll('7:13:', '7:20:')
      .replaceAll('07:13:', '07:20:')
      .replace('15.692', '19.000');
    expect(sstDurationFromLog(REAL + second)).toBe(19_000 - 11_384);
  });

  it('returns undefined without a finished SST', () => {
    expect(sstDurationFromLog('')).toBeUndefined();
    expect(sstDurationFromLog(REAL.split('\n').slice(0, 7).join('\n'))).toBeUndefined();
  });

  it('reads both timestamp shapes as local time', () => {
    expect(lineTime('2026-11-22  7:13:11 0 [Note] x')).toEqual({
      ms: new Date(2026, 10, 22, 7, 13, 11).getTime(),
      precision: 's',
    });
    expect(lineTime('WSREP_SST: [INFO] x (20261122 07:13:11.384)')).toEqual({
      ms: new Date(2026, 10, 22, 7, 13, 11, 384).getTime(),
      precision: 'ms',
    });
    expect(lineTime('Version: 10.11')).toBeUndefined();
  });
});
