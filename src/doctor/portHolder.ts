/**
 * Who holds a TCP port, from /proc (no lsof, peers.md part B 6): /proc/net/tcp{,6} gives the listening
 * socket's inode, /proc/<pid>/fd links name it as `socket:[inode]`, /proc/<pid>/cmdline names the program.
 * Without root only the caller's own processes are visible; the result is then empty, not an error.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { PortHolder } from './checks/system.js';

const LISTEN = '0A';

/** Inodes of sockets in state LISTEN on `port` in a /proc/net/tcp or tcp6 table. Pure. */
export function listeningInodes(table: string, port: number): number[] {
  const inodes: number[] = [];
  for (const line of table.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const local = fields[1];
    const state = fields[3];
    const inode = Number(fields[9]);
    if (local === undefined || state !== LISTEN || !Number.isInteger(inode) || inode === 0) continue;
    if (Number.parseInt(local.split(':')[1] ?? '', 16) === port) inodes.push(inode);
  }
  return inodes;
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Processes with a listening socket on `port`, any address; `proc` is the procfs root (tests). */
export function portHolders(port: number, proc = '/proc'): PortHolder[] {
  const inodes = new Set([
    ...listeningInodes(read(`${proc}/net/tcp`), port),
    ...listeningInodes(read(`${proc}/net/tcp6`), port),
  ]);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  let pids: string[] = [];
  try {
    pids = readdirSync(proc).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`${proc}/${pid}/fd/${fd}`));
        return match !== null && inodes.has(Number(match[1]));
      } catch {
        return false;
      }
    });
    if (holds) {
      const cmdline = read(`${proc}/${pid}/cmdline`)
        .split('\0')
        .filter((a) => a !== '')
        .join(' ');
      holders.push({ pid: Number(pid), command: cmdline || read(`${proc}/${pid}/comm`).trim() || '?' });
    }
  }
  return holders;
}
