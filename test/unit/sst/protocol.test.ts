import { describe, expect, it } from 'vitest';
import { Protocol, formatState, parseState } from '../../../src/sst/protocol.js';

const UUID = '1f9b2c7e-1c3a-11ef-9a8b-5e1f2a3b4c5d';

describe('parseState()', () => {
  it('parses uuid:seqno with and without a domain', () => {
    expect(parseState(`${UUID}:73421 0`)).toEqual({ uuid: UUID, seqno: 73421n, domainId: 0 });
    expect(parseState(`${UUID}:-1\n`)).toEqual({ uuid: UUID, seqno: -1n });
    expect(parseState(`${UUID.toUpperCase()}:5 2`)?.uuid).toBe(UUID);
  });

  it.each(['', 'garbage', `${UUID}`, `${UUID}:x`, `${UUID}:1 x`, `abc:1 0`, `${UUID}:1 0 extra`])(
    'rejects %j as mysqld would',
    (line) => expect(parseState(line)).toBeUndefined(),
  );

  it('formats back to the canonical line', () => {
    expect(formatState({ uuid: UUID, seqno: 7n, domainId: 3 })).toBe(`${UUID}:7 3`);
    expect(formatState({ uuid: UUID, seqno: 7n })).toBe(`${UUID}:7`);
  });
});

describe('Protocol', () => {
  it('writes each line whole, with its newline, in one write', () => {
    const writes: string[] = [];
    const joiner = new Protocol('joiner', (text) => writes.push(text));
    joiner.ready('127.0.0.3:4444/rsync_tunnel_sst');
    joiner.total(1000.7);
    joiner.complete(-5);
    joiner.state({ uuid: UUID, seqno: 9n, domainId: 0 });
    const donor = new Protocol('donor', (text) => writes.push(text));
    donor.flushTables();
    donor.continue();
    donor.done({ uuid: UUID, seqno: 9n, domainId: 0 });
    expect(writes).toEqual([
      'ready 127.0.0.3:4444/rsync_tunnel_sst\n',
      'total 1000\n',
      'complete 0\n',
      `${UUID}:9 0\n`,
      'flush tables\n',
      'continue\n',
      `done ${UUID}:9 0\n`,
    ]);
  });

  it('refuses a line longer than mysqld reads at once', () => {
    const donor = new Protocol('donor', () => undefined);
    expect(() => donor.done({ uuid: UUID, seqno: 10n ** 120n })).toThrow(/must fit one donor read/);
    const joiner = new Protocol('joiner', () => undefined);
    expect(() => joiner.ready('x'.repeat(600))).toThrow(/must fit one joiner read/);
  });
});
