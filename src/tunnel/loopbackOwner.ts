/**
 * Who owns the other end of a loopback TCP connection. TCP has no SO_PEERCRED, but Linux lists every socket of
 * the network namespace in /proc/net/tcp with its owner's uid: the donor relay's plaintext port on 127.0.0.1
 * accepts a connection only when the client socket belongs to the SST's own user (the original's localhost
 * port accepted anyone on the host, peers.md "Local plaintext").
 */
import { closeSync, openSync, readSync } from 'node:fs';

/** `127.0.0.1:4444` as /proc/net/tcp writes it: the IPv4 address as a little-endian hex word, the port in hex. */
export function procNetAddress(ipv4: string, port: number): string | undefined {
  const parts = ipv4.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) return undefined;
  const word = parts
    .reverse()
    .map((p) => p.toString(16).padStart(2, '0'))
    .join('');
  return `${word}:${port.toString(16).padStart(4, '0')}`.toUpperCase();
}

/** The uid column of a /proc/net/tcp line whose local and remote ends are these; undefined when it is another. */
function ownerOfLine(line: string, local: string, remote: string): number | undefined {
  const cols = line.trim().split(/\s+/);
  if (cols[1] !== local || cols[2] !== remote) return undefined;
  const uid = Number(cols[7]);
  return Number.isInteger(uid) ? uid : undefined;
}

/**
 * The uid owning the socket whose local end is `local` and remote end is `remote` in a /proc/net/tcp table
 * (columns: sl, local_address, rem_address, st, tx:rx queue, tr:when, retrnsmt, uid, ...); undefined when absent.
 * The table may come in chunks that cut lines anywhere; reading stops at the line sought.
 */
export function ownerInTable(
  table: string | Iterable<string>,
  local: string,
  remote: string,
): number | undefined {
  let carry = '';
  let header = true;
  for (const chunk of typeof table === 'string' ? [table] : table) {
    const lines = (carry + chunk).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (header) {
        header = false;
        continue;
      }
      const uid = ownerOfLine(line, local, remote);
      if (uid !== undefined) return uid;
    }
  }
  return header ? undefined : ownerOfLine(carry, local, remote);
}

/**
 * /proc/net/tcp in 4 KiB reads. The kernel builds the table as it is read, walking its whole established-socket
 * hash (262 144 buckets on a 24 GiB host) for a full read: 3.5-4.5 ms of CPU a connection on the donor. Stopping
 * at the line sought, as ownerInTable does, takes 1.5 ms.
 */
function* procNetTcp(): Generator<string> {
  const fd = openSync('/proc/net/tcp', 'r');
  try {
    const buffer = Buffer.allocUnsafe(4096);
    for (;;) {
      const n = readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) return;
      yield buffer.toString('latin1', 0, n);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The uid of the process side of a connection accepted on `server` from `client` (both IPv4 loopback), read
 * from /proc/net/tcp; undefined when it cannot be told (then the caller refuses the connection).
 */
export function loopbackClientUid(
  client: { address: string; port: number },
  server: { address: string; port: number },
  readTable: () => string | Iterable<string> = procNetTcp,
): number | undefined {
  const local = procNetAddress(client.address, client.port);
  const remote = procNetAddress(server.address, server.port);
  if (local === undefined || remote === undefined) return undefined;
  try {
    return ownerInTable(readTable(), local, remote);
  } catch {
    return undefined;
  }
}
