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
});
