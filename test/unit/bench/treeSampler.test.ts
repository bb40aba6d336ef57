import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { classifyComm, TreeCpuSampler } from '../../../src/bench/treeSampler.js';

describe('classifyComm', () => {
  it('counts our node processes, stunnel and socat as tunnel, rsync as rsync, the rest as other', () => {
    expect(classifyComm('node')).toBe('tunnel');
    expect(classifyComm('stunnel')).toBe('tunnel');
    expect(classifyComm('stunnel4')).toBe('tunnel');
    expect(classifyComm('socat')).toBe('tunnel');
    expect(classifyComm('rsync')).toBe('rsync');
    expect(classifyComm('bash')).toBe('other');
    expect(classifyComm('nodejs-helper')).toBe('other');
  });
});

describe('TreeCpuSampler', () => {
  it('adds up the CPU of descendants started after it, by class, and not the root itself', async () => {
    const sampler = new TreeCpuSampler(() => [process.pid]);
    sampler.start();
    // A grandchild that burns about 0.4 s of CPU in node (class "tunnel") under a shell (class "other").
    const child = spawn('sh', [
      '-c',
      `"${process.execPath}" -e "const t=Date.now(); while (Date.now()-t<400);"; true`,
    ]);
    await new Promise((resolve) => child.once('exit', resolve));
    const [side] = sampler.stop();
    // At most one 100 ms interval is lost per process that exits.
    expect(side?.tunnel).toBeGreaterThan(0.2);
    expect(side?.tunnel).toBeLessThan(1);
    expect(side?.rsync).toBe(0);
  });
});
