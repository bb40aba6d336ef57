/** The listener's own edges, in process: a busy port names its holder, close() frees the port and ends children. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PortBusyError } from '../../src/errors.js';
import { liveChildren } from '../../src/rsync/child.js';
import { renderRsyncdConf } from '../../src/rsync/conf.js';
import { loadCredentials, type Credentials } from '../../src/tls/credentials.js';
import { startListener } from '../../src/tunnel/listener.js';
import type { ListenerOptions } from '../../src/tunnel/listenerTypes.js';
import { createCa, issueCert, tempDir } from '../helpers/pki.js';
import { freePort } from '../helpers/procs.js';

const dir = tempDir('tunnel-listener');
let creds: Credentials;
let base: Omit<ListenerOptions, 'port'>;

beforeAll(() => {
  const ca = createCa(dir.path, 'ca');
  creds = loadCredentials({ tca: ca.cert, tcert: issueCert(ca, 'joiner').combined });
  mkdirSync(join(dir.path, 'm'));
  const configPath = join(dir.path, 'rsyncd.conf');
  writeFileSync(
    configPath,
    renderRsyncdConf({
      modules: [{ name: 'm', path: join(dir.path, 'm') }],
      uid: 0,
      gid: 0,
      timeoutSeconds: 30,
    }),
  );
  base = {
    host: '127.0.0.1',
    credentials: creds,
    policy: {
      verify: true,
      allowedPeers: [],
      strictIdentity: false,
      minVersion: 'TLSv1.2',
      handshakeTimeoutMs: 2000,
    },
    rsync: { binary: 'rsync', configPath },
    idleTimeoutMs: 5000,
  };
});
afterAll(() => dir.cleanup());

describe('startListener()', () => {
  it('names the process holding a busy port', async () => {
    const holder = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
    try {
      const error = await startListener({ ...base, port }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortBusyError);
      expect((error as PortBusyError).exitCode).toBe(16);
      expect((error as Error).message).toMatch(
        new RegExp(
          `^Cannot listen on "127\\.0\\.0\\.1:${port}": the port is in use by process ${process.pid} \\(.*node.*\\)$`,
        ),
      );
    } finally {
      holder.close();
    }
  });

  it('frees the port on close() and can listen again at once', async () => {
    const first = await startListener({ ...base, port: 0 });
    const { port } = first.address;
    expect(first.stats()).toMatchObject({ sessions: 0, active: 0, failures: 0 });
    await first.close();
    expect(liveChildren()).toBe(0);
    const second = await startListener({ ...base, port });
    await second.close();
  });
});
