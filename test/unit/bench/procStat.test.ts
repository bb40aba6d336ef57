import { describe, expect, it } from 'vitest';
import { parseProcStat, parseStatusKb, parseTimeLines, TIME_FORMAT } from '../../../src/bench/procStat.js';

// A real /proc/<pid>/stat line of a socat parent (fields 14-17: utime stime cutime cstime).
const SOCAT =
  '4242 (socat) S 1 4242 4242 0 -1 4194560 520 1802 0 0 17 9 1234 567 20 0 1 0 88123 9994240 512 18446744073709551615 1 1 0 0 0 0 0 4096 16384 0 0 0 17 1 0 0 0 0 0 0 0 0 0 0 0 0 0';

describe('parseProcStat()', () => {
  it('reads pid, comm, state, ppid, own and reaped children CPU ticks and threads', () => {
    expect(parseProcStat(SOCAT)).toEqual({
      pid: 4242,
      comm: 'socat',
      state: 'S',
      ppid: 1,
      utime: 17,
      stime: 9,
      cutime: 1234,
      cstime: 567,
      numThreads: 1,
    });
  });
  it('counts fields from the last ")" so a comm with spaces and parentheses does not shift them', () => {
    const odd = SOCAT.replace('(socat)', '(we ird) (x) y)');
    const s = parseProcStat(odd);
    expect(s.comm).toBe('we ird) (x) y');
    expect([s.utime, s.stime, s.cutime, s.cstime]).toEqual([17, 9, 1234, 567]);
  });
  it('refuses a line without "(comm)" or with a field that is not a number', () => {
    expect(() => parseProcStat('garbage')).toThrow('Cannot parse /proc stat line "garbage": no "(comm)"');
    expect(() => parseProcStat('1 (x) S 1 2')).toThrow(/field 14 is ""/);
  });
});

describe('parseStatusKb()', () => {
  const status =
    'Name:\tnode\nVmPeak:\t  1105548 kB\nVmHWM:\t    94208 kB\nVmRSS:\t    51200 kB\nThreads:\t11\n';
  it('reads a kB field in bytes', () => {
    expect(parseStatusKb(status, 'VmHWM')).toBe(94208 * 1024);
    expect(parseStatusKb(status, 'VmRSS')).toBe(51200 * 1024);
  });
  it('is undefined for a missing or non-kB field', () => {
    expect(parseStatusKb(status, 'VmSwap')).toBeUndefined();
    expect(parseStatusKb(status, 'Threads')).toBeUndefined();
  });
});

describe('parseTimeLines()', () => {
  it('reads every line /usr/bin/time wrote with TIME_FORMAT, skipping its other messages', () => {
    expect(TIME_FORMAT).toBe('TIME %e %U %S %M');
    const text =
      'TIME 0.32 0.17 0.02 51200\nCommand exited with non-zero status 1\nTIME 1.50 0.90 0.40 60000\n\n';
    expect(parseTimeLines(text)).toEqual([
      { wallS: 0.32, userS: 0.17, sysS: 0.02, maxRssBytes: 51200 * 1024 },
      { wallS: 1.5, userS: 0.9, sysS: 0.4, maxRssBytes: 60000 * 1024 },
    ]);
    expect(parseTimeLines('')).toEqual([]);
  });
});
