#!/usr/bin/env node
// Bulk throughput and CPU of the TLS tunnel: sst-tunnel connect + listen against socat in the original
// wsrep_sst_rsync_tunnel shape (default 8 KiB buffer, and -b 131072), interleaved round-robin so host drift hits
// every variant alike (tunnel-performance.md "Noise"). Source: `dd bs=1M` of zeros; sink: `dd bs=1M` to /dev/null (ours), socat -b 1M to /dev/null (socat's).
// CPU per side comes from /proc/<pid>/stat deltas of the long-lived listeners (children included for socat's
// forked workers) and /usr/bin/time for each connector process (Node start-up included, as rsync pays it).
//
//   npx tsc -p tsconfig.build.json && node scripts/bench-tunnel.mjs [--gib 2] [--rounds 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout } from 'node:timers';
import { URL, fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const GIB = opt('gib', 2);
const ROUNDS = opt('rounds', 3);
const BYTES = Math.round(GIB * 1024) * 2 ** 20; // whole MiB
const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const dir = mkdtempSync('/dev/shm/sst-bench-');
const procs = new Set();

const sh = (cmd, a) => execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
function pki() {
  const p = (n) => join(dir, n);
  sh('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    p('ca.key'),
    '-out',
    p('ca.pem'),
    '-subj',
    '/CN=bench CA',
    '-days',
    '2',
  ]);
  for (const n of ['joiner', 'donor']) {
    sh('openssl', [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      p(`${n}.key`),
      '-out',
      p(`${n}.csr`),
      '-subj',
      `/CN=${n}`,
    ]);
    writeFileSync(p(`${n}.ext`), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n');
    sh('openssl', [
      'x509',
      '-req',
      '-in',
      p(`${n}.csr`),
      '-CA',
      p('ca.pem'),
      '-CAkey',
      p('ca.key'),
      '-CAcreateserial',
      '-out',
      p(`${n}.pem`),
      '-days',
      '2',
      '-extfile',
      p(`${n}.ext`),
    ]);
  }
  return {
    ca: p('ca.pem'),
    jc: p('joiner.pem'),
    jk: p('joiner.key'),
    dc: p('donor.pem'),
    dk: p('donor.key'),
  };
}

function startProc(cmd, a, opts = {}) {
  const child = spawn(cmd, a, { stdio: ['ignore', 'ignore', 'pipe'], ...opts });
  let err = '';
  child.stderr?.on('data', (c) => (err += c));
  const exited = new Promise((r) => child.once('close', (code) => r(code)));
  const p = { child, exited, err: () => err };
  procs.add(p);
  exited.then(() => procs.delete(p));
  return p;
}
/** utime+stime (+ reaped children) in seconds, from /proc/<pid>/stat. */
function cpu(pid, withChildren) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const [ut, st, cut, cst] = [11, 12, 13, 14].map((i) => Number(f[i]));
  return (ut + st + (withChildren ? cut + cst : 0)) / TICK;
}
async function freePort() {
  const s = createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}
async function waitPort(port) {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise((r) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`port ${port} never opened`);
}
/** The byte count dd reports on stderr ("N bytes (...) copied"). */
const received = (file) => Number(/^(\d+) bytes/m.exec(readFileSync(file, 'utf8'))?.[1] ?? -1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function setupOurs(k) {
  const sink = join(dir, 'sink.sh');
  // No exec: the shell keeps the pipe to the listener open until wc has read everything (an rsync daemon
  // holds its stdout until it exits; the connector ends when the joiner side ends, as ssh does).
  writeFileSync(sink, `#!/bin/sh\ndd of=/dev/null bs=1M 2> ${join(dir, 'sink-count')}\n`);
  chmodSync(sink, 0o755);
  const listener = startProc(process.execPath, [
    CLI,
    'listen',
    '--port',
    '0',
    '--ca',
    k.ca,
    '--cert',
    k.jc,
    '--key',
    k.jk,
    '--module',
    `x=${dir}`,
    '--rsync',
    sink,
  ]);
  for (let i = 0; i < 200 && !/Listening on 127\.0\.0\.1:(\d+)/.test(listener.err()); i++) await sleep(25);
  const port = Number(/Listening on 127\.0\.0\.1:(\d+)/.exec(listener.err())[1]);
  const spec = {
    host: '127.0.0.1',
    port,
    paths: { tca: k.ca, tcert: k.dc, tkey: k.dk },
    policy: {
      verify: true,
      allowedPeers: [],
      strictIdentity: false,
      minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 10000,
    },
    idleTimeoutMs: 60000,
  };
  return {
    name: 'sst-tunnel',
    async run() {
      const before = cpu(listener.child.pid, false);
      const tf = join(dir, 'time');
      const t0 = process.hrtime.bigint();
      const p = startProc(
        'sh',
        [
          '-c',
          `dd if=/dev/zero bs=1M count=${BYTES / 2 ** 20} status=none | /usr/bin/time -f '%U %S' -o ${tf} ${process.execPath} ${CLI} connect > /dev/null`,
        ],
        { env: { ...process.env, SST_TUNNEL_CONNECT_SPEC: JSON.stringify(spec) } },
      );
      const code = await p.exited;
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      await sleep(300);
      const count = received(join(dir, 'sink-count'));
      rmSync(join(dir, 'sink-count'));
      if (code !== 0 || count !== BYTES) throw new Error(`ours: exit ${code}, ${count} bytes: ${p.err()}`);
      const [u, s] = readFileSync(tf, 'utf8').trim().split(' ').map(Number);
      return { wall, donor: u + s, joiner: cpu(listener.child.pid, false) - before };
    },
  };
}

async function setupSocat(k, buffer) {
  const [a, b] = [await freePort(), await freePort()];
  const bopt = buffer === undefined ? [] : ['-b', String(buffer)];
  const joinerSink = await freePort();
  const joiner = startProc('socat', [
    ...bopt,
    `OPENSSL-LISTEN:${b},bind=127.0.0.1,reuseaddr,fork,cert=${k.jc},key=${k.jk},cafile=${k.ca}`,
    `TCP:127.0.0.1:${joinerSink}`,
  ]);
  const donor = startProc('socat', [
    ...bopt,
    `TCP-LISTEN:${a},bind=127.0.0.1,reuseaddr,fork`,
    `OPENSSL:127.0.0.1:${b},cert=${k.dc},key=${k.dk},cafile=${k.ca}`,
  ]);
  await waitPort(b);
  await waitPort(a);
  return {
    name: buffer === undefined ? 'socat default' : `socat -b ${buffer}`,
    async run() {
      const counted = join(dir, 'socat-sink-count');
      const sink = startProc('socat', [
        '-u',
        '-b',
        '1048576',
        `TCP-LISTEN:${joinerSink},bind=127.0.0.1,reuseaddr`,
        `SYSTEM:dd of=/dev/null bs=1M 2> ${counted}`,
      ]);
      await sleep(150);
      const [d0, j0] = [cpu(donor.child.pid, true), cpu(joiner.child.pid, true)];
      const t0 = process.hrtime.bigint();
      const src = startProc('bash', [
        '-c',
        `dd if=/dev/zero bs=1M count=${BYTES / 2 ** 20} status=none > /dev/tcp/127.0.0.1/${a}`,
      ]);
      await Promise.all([src.exited, sink.exited]);
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      await sleep(300); // let the socat parents reap their forked workers (cutime)
      if (received(counted) !== BYTES) throw new Error(`socat: ${received(counted)} bytes arrived`);
      return { wall, donor: cpu(donor.child.pid, true) - d0, joiner: cpu(joiner.child.pid, true) - j0 };
    },
  };
}

const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
try {
  const k = pki();
  const variants = [await setupOurs(k), await setupSocat(k, undefined), await setupSocat(k, 131072)];
  const results = new Map(variants.map((v) => [v.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const v of variants) {
      const m = await v.run();
      results.get(v.name).push(m);
      console.log(
        `round ${r + 1} ${v.name.padEnd(16)} ${(BYTES / m.wall / 1e6).toFixed(0).padStart(5)} MB/s  donor ${(m.donor / GIB).toFixed(2)}  joiner ${(m.joiner / GIB).toFixed(2)} CPU-s/GiB`,
      );
    }
  }
  console.log(`\n${GIB} GiB x ${ROUNDS} rounds, medians (paired ratio vs socat -b 131072 in the same round)`);
  const ref = results.get('socat -b 131072');
  for (const [name, ms] of results) {
    const mbs = median(ms.map((m) => BYTES / m.wall / 1e6));
    const d = median(ms.map((m) => m.donor / GIB));
    const j = median(ms.map((m) => m.joiner / GIB));
    const ratio = median(ms.map((m, i) => ref[i].wall / m.wall));
    const cpuRatio = median(ms.map((m, i) => (m.donor + m.joiner) / (ref[i].donor + ref[i].joiner)));
    console.log(
      `${name.padEnd(16)} ${mbs.toFixed(0).padStart(5)} MB/s  donor ${d.toFixed(2)} + joiner ${j.toFixed(2)} = ${(d + j).toFixed(2)} CPU-s/GiB  x${ratio.toFixed(2)} speed  x${cpuRatio.toFixed(2)} CPU`,
    );
  }
} finally {
  for (const p of procs) p.child.kill('SIGTERM');
  await sleep(300);
  rmSync(dir, { recursive: true, force: true });
}
