import { createServer, connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { loopbackClientUid, ownerInTable, procNetAddress } from '../../../src/tunnel/loopbackOwner.js';

// Two sockets of one connection 127.0.0.1:40000 -> 127.0.0.1:4444, owned by uids 998 (client) and 0 (server).
const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:115C 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1000 1 0 100 0 0 10 0
   1: 0100007F:9C40 0100007F:115C 01 00000000:00000000 00:00000000 00000000   998        0 1001 1 0 20 4 30 10 -1
   2: 0100007F:115C 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 1002 1 0 20 4 30 10 -1
`;

describe('loopback socket owner', () => {
  it('writes addresses as /proc/net/tcp does (little-endian IPv4, hex port)', () => {
    expect(procNetAddress('127.0.0.1', 4444)).toBe('0100007F:115C');
    expect(procNetAddress('10.1.2.3', 80)).toBe('0302010A:0050');
    expect(procNetAddress('::1', 80)).toBeUndefined();
    expect(procNetAddress('127.0.0.256', 80)).toBeUndefined();
  });

  it('finds the uid of the client side, not of the server side or the listener', () => {
    expect(ownerInTable(TABLE, '0100007F:9C40', '0100007F:115C')).toBe(998);
    expect(ownerInTable(TABLE, '0100007F:115C', '0100007F:9C40')).toBe(0);
    expect(ownerInTable(TABLE, '0100007F:9C41', '0100007F:115C')).toBeUndefined();
    expect(
      loopbackClientUid(
        { address: '127.0.0.1', port: 40000 },
        { address: '127.0.0.1', port: 4444 },
        () => TABLE,
      ),
    ).toBe(998);
    expect(
      loopbackClientUid({ address: '127.0.0.1', port: 40000 }, { address: '127.0.0.1', port: 4444 }, () => {
        throw new Error('EACCES');
      }),
    ).toBeUndefined();
  });

  it('reads a table that comes in chunks cutting lines anywhere, and stops at the line sought', () => {
    for (let size = 1; size <= 60; size++) {
      const chunks: string[] = [];
      for (let i = 0; i < TABLE.length; i += size) chunks.push(TABLE.slice(i, i + size));
      expect(ownerInTable(chunks, '0100007F:9C40', '0100007F:115C'), `chunks of ${size}`).toBe(998);
      expect(ownerInTable(chunks, '0100007F:115C', '0100007F:9C40'), `chunks of ${size}`).toBe(0);
      expect(ownerInTable(chunks, '0100007F:9C41', '0100007F:115C'), `chunks of ${size}`).toBeUndefined();
    }
    // The last line without its newline still counts.
    expect(ownerInTable([TABLE.trimEnd()], '0100007F:115C', '0100007F:9C40')).toBe(0);
    // Nothing after the line sought is read: the kernel builds the table as it is read.
    const [head, rest] = [TABLE.slice(0, TABLE.indexOf('   2:')), TABLE.slice(TABLE.indexOf('   2:'))];
    function* lazy(): Generator<string> {
      yield head;
      throw new Error(`read past the line sought (${rest.length} more bytes)`);
    }
    expect(ownerInTable(lazy(), '0100007F:9C40', '0100007F:115C')).toBe(998);
  });

  it('tells the owner of a real connection on this host: this process', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const client = connect({ port, host: '127.0.0.1' });
    const side = await accepted;
    const uid = loopbackClientUid(
      { address: side.remoteAddress ?? '', port: side.remotePort ?? 0 },
      { address: '127.0.0.1', port },
    );
    client.destroy();
    side.destroy();
    server.close();
    expect(uid).toBe(process.getuid?.());
  });
});
