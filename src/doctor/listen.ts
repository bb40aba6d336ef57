/**
 * `doctor --listen`: a short-lived TLS listener with this node's credentials that takes one handshake, checks
 * the client as a joiner checks its donor (client certificate required, tls/context serverOptions +
 * verifyPeer), tells the client its verdict in one line, and stops. Two nodes can test each other without an SST.
 */
import { createServer, type TLSSocket } from 'node:tls';
import type { SstSettings } from '../config/settings.js';
import { describeError } from '../errors.js';
import { formatHostPort } from '../sst/address.js';
import { describeHandshakeError, serverOptions, verifyPeer } from '../tls/context.js';
import type { Credentials } from '../tls/credentials.js';
import { ANSWER_ACCEPTED, ANSWER_REFUSED, doctorPolicy } from './policy.js';
import { fail, ok, warn, type CheckResult } from '../preflight/result.js';

/** Where to listen, for how long, and who to tell the real port (port 0 picks a free one). */
export interface ListenOnce {
  host: string;
  port: number;
  creds: Credentials;
  settings: SstSettings;
  timeoutMs: number;
  onListening?: (address: { host: string; port: number }) => void;
}

function endGracefully(socket: TLSSocket, line: string): Promise<void> {
  return new Promise((resolve) => {
    socket.once('close', () => resolve());
    socket.once('error', () => resolve());
    socket.end(`${line}\n`);
    setTimeout(() => (socket.destroy(), resolve()), 2000).unref();
  });
}

async function judge(socket: TLSSocket, settings: SstSettings): Promise<CheckResult[]> {
  const policy = doctorPolicy(settings);
  if (settings.sockopt.commonname !== undefined) policy.expectedName = settings.sockopt.commonname;
  const who = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const cipher = socket.getCipher();
  const results = [
    ok(
      'listen.handshake',
      `TLS handshake with ${who}: ${socket.getProtocol() ?? '?'}, ${cipher.standardName ?? cipher.name}`,
    ),
  ];
  try {
    const check = verifyPeer(socket, policy, 'joiner');
    const subject = check.identity?.subject ?? '(no certificate)';
    results.push(
      policy.verify
        ? ok(
            'listen.verify',
            `The certificate of ${who} verifies against tca (subject "${subject}"${check.match === undefined ? '' : `, matched by ${check.match.field} "${check.match.value}"`})`,
          )
        : warn(
            'listen.verify',
            `The certificate of ${who} was not checked: sockopt verify=0 (subject "${subject}")`,
          ),
    );
    await endGracefully(socket, `${ANSWER_ACCEPTED} ${subject}`);
  } catch (error) {
    const message = describeError(error);
    results.push(fail('listen.verify', message));
    await endGracefully(socket, `${ANSWER_REFUSED} ${message}`);
  }
  return results;
}

/** Listens until one client has shaken hands (or failed to), or the timeout; then stops. */
export async function listenOnce(opts: ListenOnce): Promise<CheckResult[]> {
  const policy = doctorPolicy(opts.settings);
  const server = createServer(serverOptions(opts.creds, policy));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: opts.host, port: opts.port, exclusive: true }, () => resolve());
    });
  } catch (error) {
    return [
      fail(
        'listen.bind',
        `Cannot listen on ${formatHostPort(opts.host, opts.port)}: ${(error as Error).message}`,
      ),
    ];
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : opts.port;
  opts.onListening?.({ host: opts.host, port });
  try {
    return await new Promise<CheckResult[]>((resolve) => {
      const timer = setTimeout(
        () =>
          resolve([
            fail(
              'listen.timeout',
              `No TLS client came to ${formatHostPort(opts.host, port)} within ${opts.timeoutMs / 1000} s`,
            ),
          ]),
        opts.timeoutMs,
      );
      server.once('secureConnection', (socket: TLSSocket) => {
        clearTimeout(timer);
        void judge(socket, opts.settings).then(resolve);
      });
      server.once('tlsClientError', (error: Error, socket: TLSSocket) => {
        clearTimeout(timer);
        const who = formatHostPort(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
        resolve([
          fail('listen.handshake', `TLS handshake with ${who} failed: ${describeHandshakeError(error)}`),
        ]);
      });
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
