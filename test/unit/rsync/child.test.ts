import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MissingProgramError } from '../../../src/errors.js';
import { endAllChildren, liveChildren, startChild } from '../../../src/rsync/child.js';

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../fixtures/tunnel/${name}`, import.meta.url));

async function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  for await (const chunk of stream) return String(chunk).split('\n')[0] ?? '';
  return '';
}

describe('startChild()', () => {
  it('reports exit code, stderr lines and tail', async () => {
    const lines: string[] = [];
    const child = await startChild(process.execPath, [fixture('exit-with.mjs'), 'one', 'two'], {
      env: { ...process.env, EXIT_CODE: '7' },
      onStderrLine: (line) => lines.push(line),
    });
    const result = await child.result;
    expect(result).toMatchObject({
      exitCode: 7,
      signal: null,
      timedOut: false,
      terminated: false,
      stderrTail: 'one\ntwo',
    });
    expect(lines).toEqual(['one', 'two']);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('fails to start a missing program with MissingProgramError, never a spawned child', async () => {
    await expect(startChild('/nonexistent/rsync', ['--version'])).rejects.toThrow(MissingProgramError);
    await expect(startChild('/nonexistent/rsync', [])).rejects.toThrow(
      /Cannot run "\/nonexistent\/rsync": spawn \/nonexistent\/rsync ENOENT/,
    );
    expect(liveChildren()).toBe(0);
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const child = await startChild(process.execPath, [fixture('ignore-sigterm.mjs')], { killAfterMs: 300 });
    expect(await firstLine(child.process.stdout!)).toBe('ready');
    const result = await child.terminate();
    expect(result).toMatchObject({ signal: 'SIGKILL', terminated: true });
    expect(result.stderrTail).toContain('ignoring SIGTERM');
  });

  it('ends a child after its time limit and says so', async () => {
    const child = await startChild(process.execPath, [fixture('ignore-sigterm.mjs')], {
      timeoutMs: 200,
      killAfterMs: 100,
    });
    const result = await child.result;
    expect(result.timedOut).toBe(true);
    // SIGTERM if it came before the fixture installed its handler (a loaded machine), else SIGKILL.
    expect(['SIGTERM', 'SIGKILL']).toContain(result.signal);
  });

  it('endAllChildren() ends every live child', async () => {
    const a = await startChild(process.execPath, [fixture('forever.mjs')]);
    const b = await startChild(process.execPath, [fixture('ignore-sigterm.mjs')], { killAfterMs: 200 });
    await Promise.all([firstLine(a.process.stdout!), firstLine(b.process.stdout!)]);
    expect(liveChildren()).toBe(2);
    await endAllChildren();
    expect(liveChildren()).toBe(0);
    expect((await a.result).exitCode).toBe(0);
    expect((await b.result).signal).toBe('SIGKILL');
  });

  it('with processGroup, ending the child also ends the grandchild it started (rsync and its connector)', async () => {
    const child = await startChild('sh', ['-c', 'sleep 30 & wait'], { processGroup: true });
    let grandchild = NaN;
    for (let i = 0; i < 100 && Number.isNaN(grandchild); i++) {
      const text = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim();
      if (text !== '') grandchild = Number(text.split(' ')[0]);
      else await new Promise((r) => setTimeout(r, 20));
    }
    expect(Number.isInteger(grandchild)).toBe(true);
    expect((await child.terminate()).terminated).toBe(true);
    // Gone (or a zombie about to be reaped by init): never still sleeping.
    const alive = (): boolean => {
      try {
        return !/\) Z /.test(readFileSync(`/proc/${grandchild}/stat`, 'utf8'));
      } catch {
        return false;
      }
    };
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 20));
    expect(alive()).toBe(false);
  });

  it('keeps the first stdoutBytes of stdout only when asked', async () => {
    const child = await startChild('sh', ['-c', 'printf "abcdef"'], { stdoutBytes: 4 });
    expect((await child.result).stdout).toBe('abcd');
  });
});
