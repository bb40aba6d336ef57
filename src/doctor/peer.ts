/**
 * `doctor --peer HOST[:PORT]`: one TLS handshake to another node's listener, checked exactly as a donor checks
 * its joiner (tls/context clientOptions + verifyPeer), then the listener's verdict on this node's certificate:
 * a `doctor --listen` answers ACCEPTED/REFUSED, a real joiner's rsync daemon greets with `@RSYNCD:`.
 */
import { connect, type TLSSocket } from 'node:tls';
import type { SstSettings } from '../config/settings.js';
import { describeError } from '../errors.js';
import { formatHostPort } from '../sst/address.js';
import { clientOptions, describeHandshakeError, verifyPeer } from '../tls/context.js';
import type { Credentials } from '../tls/credentials.js';
import { ANSWER_ACCEPTED, ANSWER_REFUSED, doctorPolicy } from './policy.js';
import { fail, ok, warn, type CheckResult } from '../preflight/result.js';

/** Where to connect and how long to wait for each step. */
export interface PeerProbe {
  host: string;
  port: number;
  creds: Credentials;
  settings: SstSettings;
  /** Connect + handshake deadline; default the settings' handshake timeout. */
  timeoutMs?: number;
  /** How long to wait for the listener's verdict after the handshake; default 5 s. */
  answerTimeoutMs?: number;
}

/** The first line the listener sends, or how the wait ended. */
function firstLine(socket: TLSSocket, timeoutMs: number): Promise<string | 'closed' | 'timeout'> {
  return new Promise((resolve) => {
    let buffer = '';
    const done = (value: string | 'closed' | 'timeout'): void => {
      clearTimeout(timer);
      socket.removeAllListeners('data');
      resolve(value);
    };
    const timer = setTimeout(() => done(buffer === '' ? 'timeout' : buffer), timeoutMs);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const nl = buffer.indexOf('\n');
      if (nl >= 0) done(buffer.slice(0, nl));
    });
    socket.once('close', () => done(buffer === '' ? 'closed' : buffer));
    socket.once('error', () => undefined);
  });
}

function verdict(line: string | 'closed' | 'timeout', where: string): CheckResult {
  if (line.startsWith(ANSWER_ACCEPTED))
    return ok('peer.accepted', `The listener at ${where} accepted this node's certificate`);
  if (line.startsWith(ANSWER_REFUSED)) {
    return fail(
      'peer.accepted',
      `The listener at ${where} refused this node's certificate: ${line.slice(ANSWER_REFUSED.length).trim()}`,
    );
  }
  if (line.startsWith('@RSYNCD:')) {
    return ok(
      'peer.accepted',
      `The joiner at ${where} accepted this node's certificate: its rsync daemon answered`,
    );
  }
  if (line === 'closed') {
    return fail(
      'peer.accepted',
      `The listener at ${where} closed the connection without an answer: it refused this node's certificate`,
      'run "sst-tunnel doctor --listen" there to see why',
    );
  }
  if (line === 'timeout')
    return warn('peer.accepted', `The listener at ${where} gave no verdict on this node's certificate`);
  return warn(
    'peer.accepted',
    `The listener at ${where} answered "${line.slice(0, 80)}": not an SST listener?`,
  );
}

/** Connects, verifies the peer as a donor would, and reports each step. */
export async function probePeer(probe: PeerProbe): Promise<CheckResult[]> {
  const where = formatHostPort(probe.host, probe.port);
  const policy = doctorPolicy(probe.settings);
  policy.expectedName = probe.settings.sockopt.commonname ?? probe.host;
  const timeoutMs = probe.timeoutMs ?? probe.settings.handshakeTimeoutMs;
  const socket = connect(clientOptions(probe.creds, policy, probe.host, probe.port));
  // A reset after the handshake must not become an unhandled 'error' event; each step reports its own outcome.
  socket.on('error', () => undefined);
  try {
    const connected = await new Promise<true | Error>((resolve) => {
      const timer = setTimeout(
        () => resolve(new Error(`no TLS handshake within ${timeoutMs} ms`)),
        timeoutMs,
      );
      socket.once('secureConnect', () => (clearTimeout(timer), resolve(true)));
      socket.once('error', (error) => (clearTimeout(timer), resolve(error)));
    });
    if (connected !== true) {
      const code = (connected as NodeJS.ErrnoException).code ?? '';
      if (/^E[A-Z]+$/.test(code) && !code.startsWith('ERR_')) {
        return [
          fail(
            'peer.connect',
            `Cannot connect to ${where}: ${connected.message}`,
            'is "sst-tunnel doctor --listen" (or an SST joiner) running there, and the port open in the firewall?',
          ),
        ];
      }
      return [
        fail('peer.handshake', `TLS handshake with ${where} failed: ${describeHandshakeError(connected)}`),
      ];
    }
    const results: CheckResult[] = [
      ok(
        'peer.handshake',
        `TLS handshake with ${where}: ${socket.getProtocol() ?? '?'}, ${socket.getCipher().standardName ?? socket.getCipher().name}`,
      ),
    ];
    try {
      const check = verifyPeer(socket, policy, 'donor');
      if (!policy.verify) {
        results.push(warn('peer.verify', `The certificate of ${where} was not checked: sockopt verify=0`));
      } else {
        results.push(
          ok(
            'peer.verify',
            `The certificate of ${where} verifies against tca and matches "${policy.expectedName}" by ${check.match?.field ?? '?'} "${check.match?.value ?? ''}" (subject "${check.identity?.subject ?? ''}")`,
          ),
        );
      }
    } catch (error) {
      results.push(fail('peer.verify', describeError(error)));
      return results;
    }
    results.push(verdict(await firstLine(socket, probe.answerTimeoutMs ?? 5000), where));
    return results;
  } finally {
    socket.destroy();
  }
}
