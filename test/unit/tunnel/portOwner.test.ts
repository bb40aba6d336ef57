import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { decodeProcAddress, findPortOwner, parseProcNetTcp } from '../../../src/tunnel/portOwner.js';

describe('/proc/net/tcp parsing', () => {
  it('decodes IPv4 and IPv6 addresses as the kernel prints them', () => {
    expect(decodeProcAddress('0100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('00000000')).toBe('0.0.0.0');
    expect(decodeProcAddress('00000000000000000000000001000000')).toBe('::1');
    expect(decodeProcAddress('0000000000000000FFFF00000100007F')).toBe('127.0.0.1');
    expect(decodeProcAddress('B80D0120000000000000000002000000')).toBe('2001:db8::2');
  });

  it('keeps only LISTEN sockets', () => {
    const table = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 12345 1 0000000000000000 100 0 0 10 0
   1: 0100007F:115C 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 20 4 30 10 -1`;
    expect(parseProcNetTcp(table)).toEqual([{ host: '127.0.0.1', port: 4444, inode: 12345 }]);
  });

  it('finds this very process holding a port', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      expect(findPortOwner('127.0.0.1', port)).toMatchObject({ pid: process.pid });
      expect(findPortOwner('127.0.0.1', 1)).toBeUndefined();
    } finally {
      server.close();
    }
  });
});
