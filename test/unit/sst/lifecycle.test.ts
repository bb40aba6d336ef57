import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlreadyRunningError, ParentGoneError, TerminatedError } from '../../../src/errors.js';
import { Lifecycle, ancestorsToWatch, procInfo, processAlive } from '../../../src/sst/lifecycle.js';
import { acquireSstLock } from '../../../src/sst/lock.js';
import {
  waitForConnectionsToClose,
  waitForMagic,
  waitForSessionsToEnd,
  writeFailure,
} from '../../../src/sst/waitMagic.js';
import { rsyncCause } from '../../../src/tunnel/rsyncSession.js';
import { chooseBindHost, isLocalAddress } from '../../../src/sst/bindHost.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lifecycle-test-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('Lifecycle', () => {
  it('runs cleanups newest first, once, on success', async () => {
    const order: string[] = [];
    const lc = new Lifecycle({ watchPids: [] });
    lc.onCleanup('a', () => void order.push('a'));
    lc.onCleanup('b', () => void order.push('b'));
    expect(await lc.run(async () => 42)).toBe(42);
    await lc.cleanup();
    expect(order).toEqual(['b', 'a']);
  });

  it('runs cleanups when the role fails, and a failing cleanup does not stop the others', async () => {
    const order: string[] = [];
    const lc = new Lifecycle({ watchPids: [] });
    lc.onCleanup('a', () => void order.push('a'));
    lc.onCleanup('bad', () => {
      throw new Error('boom');
    });
    await expect(lc.run(async () => Promise.reject(new Error('role failed')))).rejects.toThrow('role failed');
    expect(order).toEqual(['a']);
  });

  it('aborts with exit 32 when a watched parent dies', async () => {
    const child = spawn('sleep', ['30']);
    await new Promise((r) => child.once('spawn', r));
    const lc = new Lifecycle({ watchPids: [child.pid as number], pollMs: 20 });
    const running = lc.run(
      (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    );
    child.kill('SIGKILL');
    const error = await running.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ParentGoneError);
    expect((error as ParentGoneError).exitCode).toBe(32);
  });

  it('turns SIGTERM into exit 3 and SIGHUP into exit 32', async () => {
    for (const [sig, code] of [
      ['SIGTERM', 3],
      ['SIGHUP', 32],
    ] as const) {
      const lc = new Lifecycle({ watchPids: [] });
      const running = lc.run(() => new Promise(() => undefined));
      process.kill(process.pid, sig);
      const error = await running.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TerminatedError);
      expect((error as TerminatedError).exitCode).toBe(code);
    }
  });
});

describe('process helpers', () => {
  it('reads /proc for our own process and finds our parent to watch', () => {
    expect(procInfo(process.pid)?.ppid).toBe(process.ppid);
    // Running (or sleeping between ticks), in the process group ps reports.
    expect(['R', 'S']).toContain(procInfo(process.pid)?.state);
    const pgid = Number(
      execFileSync('ps', ['-o', 'pgid=', '-p', String(process.pid)], { encoding: 'utf8' }).trim(),
    );
    expect(procInfo(process.pid)?.pgrp).toBe(pgid);
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(2 ** 22 + 12345)).toBe(false);
    expect(ancestorsToWatch()[0]).toBe(process.ppid);
  });
});

describe('acquireSstLock()', () => {
  it('takes the lock, writes our pid, releases it', async () => {
    const release = await acquireSstLock(dir);
    expect(readFileSync(join(dir, 'wsrep_sst.pid'), 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(join(dir, 'wsrep_sst.pid'))).toBe(false);
  });

  it('removes a stale pid file', async () => {
    writeFileSync(join(dir, 'wsrep_sst.pid'), '999999999\n');
    const release = await acquireSstLock(dir, { waitMs: 0 });
    release();
  });

  it('waits for a live SST, then refuses with EALREADY', async () => {
    const other = spawn('bash', ['-c', 'exec -a wsrep_sst_rsync_tunnel sleep 30']);
    await new Promise((r) => other.once('spawn', r));
    // bash is still to exec `sleep` under the SST's name, and a pid read in that instant (empty cmdline) looks
    // stale: wait until the exec is done and argv[0] is the SST's name.
    const cmdline = (): string => {
      try {
        return readFileSync(`/proc/${other.pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    for (let i = 0; i < 200 && !cmdline().startsWith('wsrep_sst_rsync_tunnel\0'); i++)
      await new Promise((r) => setTimeout(r, 10));
    try {
      writeFileSync(join(dir, 'wsrep_sst.pid'), `${other.pid}\n`);
      const started = Date.now();
      const error = await acquireSstLock(dir, { waitMs: 300, pollMs: 50 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AlreadyRunningError);
      expect((error as AlreadyRunningError).exitCode).toBe(114);
      expect((error as Error).message).toContain(`a previous SST (PID ${other.pid})`);
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('does not wait for a recycled pid that is not an SST', async () => {
    const other = spawn('sleep', ['30']);
    await new Promise((r) => other.once('spawn', r));
    try {
      writeFileSync(join(dir, 'wsrep_sst.pid'), `${other.pid}\n`);
      (await acquireSstLock(dir, { waitMs: 0 }))();
    } finally {
      other.kill('SIGKILL');
    }
  });
});

describe('waitForMagic()', () => {
  const stats = { sessions: 0, active: 0, bytesIn: 0, bytesOut: 0, lastActivityMs: 0, failures: 0 };
  it('returns the magic file once it appears', async () => {
    const path = join(dir, 'magic');
    setTimeout(() => writeFileSync(path, 'x:1 0\n'), 50);
    const text = await waitForMagic(
      path,
      { stats: () => stats },
      { connectTimeoutMs: 5000, idleTimeoutMs: 5000, pollMs: 10 },
      new AbortController().signal,
    );
    expect(text).toBe('x:1 0\n');
  });

  it('gives up when no donor connects within the connect timeout', async () => {
    const error = await waitForMagic(
      join(dir, 'm'),
      { stats: () => stats },
      { connectTimeoutMs: 50, idleTimeoutMs: 5000, pollMs: 10 },
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('No donor connected within 0.05 s ([sst] connect-timeout)');
    expect((error as { exitCode: number }).exitCode).toBe(110);
  });

  it('gives up when an open connection moves no bytes for the idle timeout', async () => {
    const active = { ...stats, sessions: 1, active: 1, bytesIn: 10 };
    const error = await waitForMagic(
      join(dir, 'm'),
      { stats: () => active },
      { connectTimeoutMs: 10, idleTimeoutMs: 60, pollMs: 10 },
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('No data moved for 0.06 s ([sst] idle-timeout)');
  });

  it('names the idle timeout at once when a connection ended because nothing moved', async () => {
    const ended = {
      ...stats,
      sessions: 2,
      active: 0,
      bytesIn: 10,
      lastSession: { error: 'No data moved through the tunnel for 2 s', rsyncExit: null },
    };
    const error = await waitForMagic(
      join(dir, 'm'),
      { stats: () => ended },
      { connectTimeoutMs: 60_000, idleTimeoutMs: 2000, pollMs: 10 },
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('No data moved for 2 s ([sst] idle-timeout)');
    const daemonTimeout = { ...ended, lastSession: { rsyncExit: 30 } };
    const again = await waitForMagic(
      join(dir, 'm'),
      { stats: () => daemonTimeout },
      { connectTimeoutMs: 60_000, idleTimeoutMs: 2000, pollMs: 10 },
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect((again as { exitCode: number }).exitCode).toBe(110);
  });

  it("ends the wait at once when a daemon's transfer failed (exit 11 or 23), naming rsync's cause", () => {
    const cause =
      'rsync: [receiver] write failed on "/db/t.ibd" (in rsync_tunnel_sst): No space left on device (28)';
    const full = writeFailure({ peer: '10.0.0.1:40000', rsyncExit: 11, rsyncMessage: cause });
    expect(full?.exitCode).toBe(255);
    expect(full?.message).toBe(
      `rsync on this node ended with exit 11 (error in file I/O) on the connection from the donor 10.0.0.1:40000: ${cause}. The donor's pass has failed with it: no completion marker will come`,
    );
    expect(writeFailure({ peer: 'p', rsyncExit: 23 })?.message).toMatch(
      /exit 23 \(partial transfer\) on the connection from the donor p: its log lines above say why\./,
    );
    expect(writeFailure({ peer: 'p', rsyncExit: 12 })?.message).toMatch(
      /exit 12 \(the protocol stream broke: the donor's side went away\)/,
    );
    // Not a failure, or one the timeouts judge (30: stalled; 255: the module listing's normal end).
    for (const rsyncExit of [0, 20, 30, 255, null])
      expect(writeFailure({ peer: 'p', rsyncExit })).toBeUndefined();
  });

  it("takes rsync's cause line over its summary line", () => {
    expect(
      rsyncCause([
        'rsync error: error in file IO (code 11) at receiver.c(657) [receiver=3.5.0]',
        'rsync: [receiver] write failed on "x": No space left on device (28)',
      ]),
    ).toBe('rsync: [receiver] write failed on "x": No space left on device (28)');
    expect(rsyncCause(['connect from x', 'rsync error: timeout (code 30)'])).toBe(
      'rsync error: timeout (code 30)',
    );
    expect(rsyncCause(['sent 10 bytes'])).toBeUndefined();
  });

  it('waits for the donor to close its connections after a failure, within a limit', async () => {
    let open = 2;
    setTimeout(() => (open = 0), 60);
    expect(
      await waitForConnectionsToClose({ stats: () => ({ open }) }, 2000, new AbortController().signal, 10),
    ).toBe(true);
    expect(
      await waitForConnectionsToClose({ stats: () => ({ open: 1 }) }, 50, new AbortController().signal, 10),
    ).toBe(false);
  });

  it('lets open connections finish after the marker, within a limit', async () => {
    let active = 1;
    let open = 1;
    setTimeout(() => (active = 0), 80);
    setTimeout(() => (open = 0), 160);
    const started = Date.now();
    expect(
      await waitForSessionsToEnd(
        { stats: () => ({ ...stats, active, open }) },
        2000,
        new AbortController().signal,
        10,
      ),
    ).toBe(true);
    // Not when the sessions ended but when the last socket closed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(
      await waitForSessionsToEnd(
        { stats: () => ({ ...stats, active: 1, open: 1 }) },
        50,
        new AbortController().signal,
        10,
      ),
    ).toBe(false);
  });

  it('waits for a connection that is open but not yet a session (its binding proof still being read)', async () => {
    expect(
      await waitForSessionsToEnd(
        { stats: () => ({ ...stats, active: 0, open: 1 }) },
        50,
        new AbortController().signal,
        10,
      ),
    ).toBe(false);
  });

  it("does not take the joiner daemon's keep-alives for progress of a stalled donor", async () => {
    let out = 100;
    const keepalive = () => ({ ...stats, sessions: 1, active: 1, bytesIn: 5000, bytesOut: (out += 4) });
    const error = await waitForMagic(
      join(dir, 'm'),
      { stats: keepalive },
      { connectTimeoutMs: 60_000, idleTimeoutMs: 60, pollMs: 10 },
      new AbortController().signal,
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe('No data moved for 0.06 s ([sst] idle-timeout)');
  });

  it('keeps waiting while bytes move', async () => {
    let bytes = 0;
    const moving = () => ({ ...stats, sessions: 1, active: 1, bytesIn: (bytes += 1) });
    const path = join(dir, 'magic');
    setTimeout(() => writeFileSync(path, 'done'), 200);
    await expect(
      waitForMagic(
        path,
        { stats: moving },
        { connectTimeoutMs: 50, idleTimeoutMs: 50, pollMs: 10 },
        new AbortController().signal,
      ),
    ).resolves.toBe('done');
  });
});

describe('chooseBindHost()', () => {
  it('binds a local literal address as it is', async () => {
    expect(await chooseBindHost('127.0.0.3')).toEqual({ bind: '127.0.0.3' });
    expect(await chooseBindHost('::1')).toEqual({ bind: '::1' });
  });

  it('widens to the wildcard, with a warning, for an address not on this host', async () => {
    const choice = await chooseBindHost('203.0.113.9');
    expect(choice.bind).toBe('0.0.0.0');
    expect(choice.warning).toContain('203.0.113.9 is not on this host');
  });

  it('binds the local address a name resolves to, never re-resolving it later', async () => {
    expect(await chooseBindHost('db2', async () => ['198.51.100.1', '127.0.0.3'])).toEqual({
      bind: '127.0.0.3',
    });
    const unresolvable = await chooseBindHost('nowhere', async () => Promise.reject(new Error('ENOTFOUND')));
    expect(unresolvable.bind).toBe('::');
    expect(unresolvable.warning).toContain('Cannot resolve advertised name "nowhere"');
  });

  it('recognises loopback and interface addresses', () => {
    expect(isLocalAddress('127.8.9.10')).toBe(true);
    expect(isLocalAddress('10.9.9.9', { eth0: [{ address: '10.9.9.9' } as never] })).toBe(true);
    expect(isLocalAddress('10.9.9.8', { eth0: [{ address: '10.9.9.9' } as never] })).toBe(false);
  });
});
