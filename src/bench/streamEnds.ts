/**
 * Source and sink of the tunnel-only benchmark. The source writes zeros in 1 MiB writes into a TCP socket (the
 * tunnel's entry: our relay's port, socat's, stunnel's) and reads what comes back. The sink is
 * a small Node program that reads 1 MiB at a time into one static buffer (`onread`, no allocation per read) and
 * appends "<bytes> <epoch ms>" to a report file when its stream ends: as a TCP server for the other tunnels, and
 * on its stdin for ours, where the listener starts it per connection in place of `rsync --server --daemon`.
 * The "no tunnel" variant measures src -> sink alone, so a slow source or sink would show there first.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startProcess, waitPort, type BenchProcess } from './procs.js';

const SINK_SOURCE = `
import { Socket, connect, createServer } from 'node:net';
import { appendFileSync, writeSync } from 'node:fs';
const [mode, report, host, port] = process.argv.slice(2);
const done = (n) => appendFileSync(report, n + ' ' + Date.now() + '\\n');
const counter = () => {
  const state = { n: 0 };
  return { state, onread: { buffer: Buffer.allocUnsafe(1 << 20), callback: (k) => { state.n += k; return true; } } };
};
if (mode === 'source') {
  // N MiB of zeros in 1 MiB writes, then a half-close; whatever comes back (the stand-in's greeting) is read and
  // dropped, since closing a socket with unread data sends a reset that would cut the stream short.
  const mib = Number(report);
  const s = connect({ host, port: Number(port), allowHalfOpen: true });
  const chunk = Buffer.alloc(1 << 20);
  let sent = 0;
  const pump = () => {
    while (sent < mib) {
      sent++;
      if (!s.write(chunk)) return void s.once('drain', pump);
    }
    s.end();
  };
  s.once('connect', pump);
  s.on('data', () => undefined);
  s.on('end', () => s.destroy());
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
} else if (mode === 'pipe') {
  const { state, onread } = counter();
  // Greet first, as an rsync daemon does: the connector reports a joiner that sends nothing as a refusal.
  writeSync(1, '@RSYNCD: 31.0\\n');
  const s = new Socket({ fd: 0, readable: true, writable: false, onread, allowHalfOpen: true });
  s.on('end', () => { done(state.n); process.exit(0); });
} else {
  // Accepted sockets cannot take onread (net.Server has no such option): count 'data' chunks instead.
  createServer({ allowHalfOpen: true, highWaterMark: 1 << 20 }, (s) => {
    let n = 0;
    s.on('data', (c) => { n += c.length; });
    s.on('end', () => { done(n); s.end(); });
    s.on('error', () => undefined);
  }).listen(Number(port), host);
}
`;

/** The sink's files and its TCP server. */
export interface Sink {
  /** Program our listener runs per connection (ignores rsync's arguments, reads stdin). */
  program: string;
  /** The Node script behind the sink, which is also the source (`source <mib> <host> <port>`). */
  script: string;
  port: number;
  server: BenchProcess;
  /** Empties the report before a run. */
  reset(): void;
  /** Streams finished since reset(): bytes and end time of each. */
  finished(): { bytes: number; endMs: number }[];
}

/** Writes the sink program and starts its TCP server on `host:port`. */
export async function startSink(dir: string, host: string, port: number): Promise<Sink> {
  const script = join(dir, 'sink.mjs');
  const report = join(dir, 'sink-report.txt');
  writeFileSync(script, SINK_SOURCE);
  writeFileSync(report, '');
  const program = join(dir, 'sink-pipe.sh');
  writeFileSync(program, `#!/bin/sh\nexec '${process.execPath}' '${script}' pipe '${report}'\n`);
  chmodSync(program, 0o755);
  const server = startProcess(process.execPath, [script, 'tcp', report, host, String(port)]);
  await waitPort(host, port);
  return {
    program,
    script,
    port,
    server,
    reset: () => writeFileSync(report, ''),
    finished: () =>
      readFileSync(report, 'utf8')
        .split('\n')
        .filter(Boolean)
        // The port probe above connects and closes without data: it leaves a "0 <ms>" line before the first reset.
        .map((l) => {
          const [bytes, endMs] = l.split(' ').map(Number);
          return { bytes: bytes ?? 0, endMs: endMs ?? 0 };
        })
        .filter((s) => s.bytes > 0),
  };
}

/** Starts one source stream of `mib` MiB into `host:port` (the sink's script in source mode). */
export function tcpSource(sink: Sink, mib: number, host: string, port: number): BenchProcess {
  return startProcess(process.execPath, [sink.script, 'source', String(mib), host, String(port)]);
}
