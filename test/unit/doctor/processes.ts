/** Running the built CLI for doctor integration tests: one-shot runs and a `doctor --listen` in the background. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { resolve } from 'node:path';

/** The built CLI (npm test builds it first). */
export const CLI = resolve(import.meta.dirname, '../../../dist/cli.js');

/** Throws a clear message when the CLI has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`"${CLI}" is missing: run "npm run build" first (npm test does)`);
}

/** Runs `sst-tunnel doctor ...args` to completion. */
export function doctor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [CLI, 'doctor', ...args], { encoding: 'utf8', timeout: 30_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Same, without blocking the event loop (needed while an in-process server must answer). */
export function doctorAsync(
  ...args: string[]
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, 'doctor', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

/** A free TCP port on 127.0.0.1 (closed again; a race with other programs is possible but unlikely). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  await new Promise<void>((r) => server.close(() => r()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

/** A running `doctor --listen`: its port once listening, and its outcome when it exits. */
export interface Listener {
  port: number;
  child: ChildProcess;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `doctor --listen --bind 127.0.0.1 --port 0 ...args` and waits for its "Listening on" line. */
export async function startListener(...args: string[]): Promise<Listener> {
  const child = spawn(
    process.execPath,
    [CLI, 'doctor', '--listen', '--bind', '127.0.0.1', '--port', '0', '--timeout', '20', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stdout = '';
  let stderr = '';
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((r) =>
    child.on('close', (code) => r({ code, stdout, stderr })),
  );
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`listener did not start: ${stdout}${stderr}`)), 15_000);
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
      const match = /Listening on 127\.0\.0\.1:(\d+)/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolvePort(Number(match[1]));
      }
    });
    child.on('close', () => reject(new Error(`listener exited: ${stdout}${stderr}`)));
  });
  return { port, child, done };
}

/** Kills a child that is still running (tests call this in finally). */
export function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}
