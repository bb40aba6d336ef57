/**
 * Who holds a TCP port, from /proc (no lsof: it is slow, optional, and unusable on some systems, peers.md B6).
 * /proc/net/tcp{,6} gives the listening socket's inode; /proc/<pid>/fd links name `socket:[inode]`.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { canonicalIp } from '../tls/ipAddress.js';

/** One listening socket from /proc/net/tcp or tcp6. */
export interface ListeningSocket {
  host: string;
  port: number;
  inode: number;
}

/** Decodes a /proc/net address: IPv4 as one little-endian word, IPv6 as four (on little-endian hosts). */
export function decodeProcAddress(hex: string): string {
  const bytes = (word: string): number[] =>
    (word.match(/../g) ?? []).map((b) => Number.parseInt(b, 16)).reverse();
  if (hex.length === 8) return bytes(hex).join('.');
  const all = (hex.match(/.{8}/g) ?? []).flatMap(bytes);
  const groups = [];
  for (let i = 0; i < 16; i += 2) groups.push((((all[i] ?? 0) << 8) | (all[i + 1] ?? 0)).toString(16));
  return canonicalIp(groups.join(':')) ?? groups.join(':');
}

/** The LISTEN entries (state 0A) of a /proc/net/tcp{,6} table. */
export function parseProcNetTcp(text: string): ListeningSocket[] {
  return text
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((fields) => fields[3] === '0A' && fields[1] !== undefined)
    .map((fields) => {
      const [addr = '', port = '0'] = (fields[1] ?? '').split(':');
      return {
        host: decodeProcAddress(addr),
        port: Number.parseInt(port, 16),
        inode: Number(fields[9] ?? 0),
      };
    });
}

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The process holding a listening socket on `host:port` (or on a wildcard address at that port), if visible. */
export function findPortOwner(host: string, port: number): { pid: number; command: string } | undefined {
  const wanted = canonicalIp(host) ?? host;
  const sockets = [
    ...parseProcNetTcp(readOr('/proc/net/tcp')),
    ...parseProcNetTcp(readOr('/proc/net/tcp6')),
  ].filter((s) => s.port === port && (s.host === wanted || s.host === '0.0.0.0' || s.host === '::'));
  const inodes = new Set(sockets.map((s) => `socket:[${s.inode}]`));
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // another user's process, or gone
    }
    for (const fd of fds) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${entry}/fd/${fd}`);
      } catch {
        continue;
      }
      if (inodes.has(target)) {
        const command = readOr(`/proc/${entry}/cmdline`).split('\0').filter(Boolean).join(' ');
        return { pid: Number(entry), command: command || readOr(`/proc/${entry}/comm`).trim() };
      }
    }
  }
  return undefined;
}
