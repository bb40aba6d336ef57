import { describe, expect, it, vi } from 'vitest';
import { ProgressTicker, formatProgress } from '../../../src/sst/progress.js';
import { bindingLine, formatBytes, summaryLine } from '../../../src/sst/roleContext.js';

describe('formatProgress()', () => {
  it('gives bytes, share, rate and ETA when the total is known', () => {
    expect(formatProgress({ doneBytes: 512 * 2 ** 20, totalBytes: 2 ** 31, elapsedMs: 4000 })).toBe(
      '512.0 MiB of 2.0 GiB (25%), 128.0 MiB/s, ETA 12 s',
    );
  });

  it('leaves out share and ETA without a total, and ETA when done', () => {
    expect(formatProgress({ doneBytes: 2048, totalBytes: undefined, elapsedMs: 1000 })).toBe(
      '2.0 KiB, 2.0 KiB/s',
    );
    expect(formatProgress({ doneBytes: 10, totalBytes: 10, elapsedMs: 1000 })).toBe(
      '10 B of 10 B (100%), 10 B/s',
    );
    expect(formatProgress({ doneBytes: 0, totalBytes: 10, elapsedMs: 0 })).toBe('0 B of 10 B (0%), 0 B/s');
  });
});

describe('ProgressTicker', () => {
  it('emits at the interval, not more often, and stops', () => {
    vi.useFakeTimers();
    try {
      let t = 0;
      let bytes = 0;
      const lines: string[] = [];
      const ticker = new ProgressTicker(
        () => bytes,
        (line) => lines.push(line),
        { intervalMs: 1000, totalBytes: 100, now: () => t },
      );
      bytes = 50;
      t = 500;
      vi.advanceTimersByTime(999);
      expect(lines).toEqual([]);
      t = 1000;
      vi.advanceTimersByTime(1);
      expect(lines).toEqual(['50 B of 100 B (50%), 50 B/s, ETA 1 s']);
      ticker.stop();
      vi.advanceTimersByTime(5000);
      expect(lines).toHaveLength(1);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('summaryLine()', () => {
  it('names bytes, time, rate, TLS and the verified peer', () => {
    const line = summaryLine(
      'donor',
      [
        {
          bytesIn: 100,
          bytesOut: 2 ** 30,
          protocol: 'TLSv1.3',
          cipher: 'TLS_AES_128_GCM_SHA256',
          match: { field: 'SAN IP', value: '127.0.0.3' },
        },
        { bytesIn: 50, bytesOut: 50 },
      ],
      2000,
    );
    expect(line).toBe(
      'SST donor finished: 1.0 GiB in 2.0 s (512.0 MiB/s) over 2 TLS connection(s), TLSv1.3 TLS_AES_128_GCM_SHA256, peer verified by SAN IP "127.0.0.3"',
    );
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
  it('names the peer certificate when its chain was verified and no name had to match (any donor of the CA)', () => {
    const line = summaryLine(
      'joiner',
      [
        {
          bytesIn: 10,
          bytesOut: 0,
          protocol: 'TLSv1.3',
          cipher: 'TLS_AES_128_GCM_SHA256',
          subject: 'CN=node1',
        },
        { bytesIn: 10, bytesOut: 0, subject: 'CN=node1' },
      ],
      1000,
    );
    expect(line).toMatch(/TLS_AES_128_GCM_SHA256, peer "CN=node1" \(chain verified\)$/);
  });
  it('says the peer was not verified under sockopt verify=0', () => {
    const line = summaryLine(
      'joiner',
      [{ bytesIn: 1024, bytesOut: 0, protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' }],
      1000,
      false,
    );
    expect(line).toBe(
      'SST joiner finished: 1.0 KiB in 1.0 s (1.0 KiB/s) over 1 TLS connection(s), TLSv1.3 TLS_AES_128_GCM_SHA256, peer NOT verified (sockopt verify=0)',
    );
  });
});

describe('bindingLine()', () => {
  const tls = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', subject: 'CN=node1' };
  it("says the donor proved this SST's token on every connection", () => {
    const sessions = [
      { bytesIn: 10, bytesOut: 0, ...tls, binding: 'bound' as const },
      { bytesIn: 10, bytesOut: 0, binding: 'bound' as const },
    ];
    expect(bindingLine(sessions)).toBe(
      "SST binding: the donor proved this SST's token on all 2 connection(s)",
    );
  });
  it('counts the connections without a proof, and ignores the ones never judged (refused)', () => {
    const sessions = [
      { bytesIn: 10, bytesOut: 0, ...tls, binding: 'bound' as const },
      { bytesIn: 10, bytesOut: 0, binding: 'unbound' as const },
      { bytesIn: 0, bytesOut: 0, error: 'refused' },
    ];
    expect(bindingLine(sessions)).toBe(
      "SST binding: 1 of 2 connection(s) carried no proof of this SST's token (an original or older donor)",
    );
  });
  it('says nothing when no binding was asked or judged', () => {
    expect(bindingLine([{ bytesIn: 1, bytesOut: 0, ...tls }])).toBeUndefined();
    expect(bindingLine([])).toBeUndefined();
  });
});
