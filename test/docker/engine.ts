/**
 * Is there a Docker engine to run the container tests against? Answers within a few seconds and never throws, so a
 * machine without one (only the docker client, or nothing) skips the suite with one line instead of hanging in
 * testcontainers' own discovery. A unix socket or plain tcp:// DOCKER_HOST gets an HTTP `/_ping`; anything else
 * (TLS, ssh) is left to testcontainers' discovery under a deadline.
 */
import { existsSync } from 'node:fs';
import { request, type RequestOptions } from 'node:http';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The probe's verdict: where the engine answered, or why the suite skips. */
export type EngineProbe = { ok: true; endpoint: string } | { ok: false; reason: string };

/** GET /_ping: true when the engine answers "OK" within `timeoutMs`. */
function ping(target: RequestOptions, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(res.statusCode === 200 && body.trim() === 'OK'));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** The unix sockets Docker, rootless Docker and Docker Desktop listen on, where they exist. */
function localSockets(): string[] {
  const home = homedir();
  const runtime = process.env.XDG_RUNTIME_DIR;
  return [
    '/var/run/docker.sock',
    ...(runtime ? [join(runtime, 'docker.sock')] : []),
    join(home, '.docker/run/docker.sock'),
    join(home, '.docker/desktop/docker.sock'),
  ].filter((path) => existsSync(path));
}

/** Looks for an answering engine; `timeoutMs` bounds each ping. */
export async function probeDockerEngine(timeoutMs = 2000): Promise<EngineProbe> {
  const host = process.env.DOCKER_HOST;
  if (host !== undefined && host !== '') {
    if (host.startsWith('unix://')) {
      const socketPath = host.slice('unix://'.length);
      return (await ping({ socketPath }, timeoutMs))
        ? { ok: true, endpoint: host }
        : { ok: false, reason: `no Docker engine answers /_ping at DOCKER_HOST=${host}` };
    }
    const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(host);
    if (tcp !== null && process.env.DOCKER_TLS_VERIFY !== '1') {
      return (await ping({ host: tcp[1], port: Number(tcp[2]) }, timeoutMs))
        ? { ok: true, endpoint: host }
        : { ok: false, reason: `no Docker engine answers /_ping at DOCKER_HOST=${host}` };
    }
    return viaTestcontainers(host, timeoutMs * 5);
  }
  const sockets = localSockets();
  for (const socketPath of sockets) {
    if (await ping({ socketPath }, timeoutMs)) return { ok: true, endpoint: `unix://${socketPath}` };
  }
  return {
    ok: false,
    reason:
      sockets.length === 0
        ? 'no Docker engine (DOCKER_HOST is unset and there is no docker.sock; the docker client alone is not enough)'
        : `no Docker engine answers /_ping at ${sockets.join(', ')}`,
  };
}

/** TLS or ssh endpoints: testcontainers' own client, given `deadlineMs` to answer. */
async function viaTestcontainers(host: string, deadlineMs: number): Promise<EngineProbe> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<EngineProbe>((resolve) => {
    timer = setTimeout(
      () =>
        resolve({
          ok: false,
          reason: `no Docker engine answered at DOCKER_HOST=${host} within ${deadlineMs} ms`,
        }),
      deadlineMs,
    );
  });
  const probe = import('testcontainers')
    .then(async ({ getContainerRuntimeClient }) => {
      const client = await getContainerRuntimeClient();
      return { ok: true, endpoint: client.info.containerRuntime.host } as EngineProbe;
    })
    .catch(
      (error: unknown) =>
        ({ ok: false, reason: `no Docker engine at DOCKER_HOST=${host}: ${String(error)}` }) as EngineProbe,
    );
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
  }
}
