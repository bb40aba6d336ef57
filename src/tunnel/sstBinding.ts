/**
 * SST binding (issue #18): only the donor of THIS SST attempt may write into the joiner's datadir.
 *
 * The joiner makes a fresh random token per SST and advertises it through the one channel mysqld relays from
 * joiner to donor: the `user:secret@` part of the `ready` line (sst-contract.md 1.3.1, 1.5.2; 11.6+ hands it over
 * on the donor's stdin, contract-drift.md MDEV-31809). The user part is a tag, BINDING_TAG, that tells our donor
 * "this joiner speaks binding v1"; an original socat donor ignores the whole auth part.
 *
 * Why a proof on every connection rather than a per-SST rsync module, a secret in the magic file or a first-
 * connection handshake: the hole is a stale donor whose rsync passes keep retrying against a restarted joiner.
 * A secret module name would travel inside rsync's own stream (and appear in the daemon's log and config file);
 * a secret in the completion marker only stops the wrong final report, not the interleaved writes before it; a
 * check on the first connection alone lets a stale donor's later passes through. So every TLS connection starts,
 * before a single rsync byte, with
 *
 *     MAGIC (8 bytes, "SSTBIND1") || HMAC-SHA256(key = token, data = TLS exporter(EXPORTER_LABEL, 32))
 *
 * The exporter (RFC 5705 / RFC 8446 7.5) is unique to this TLS session, so the proof cannot be replayed on
 * another connection, and the token itself never crosses the wire: a joiner (or anything holding a valid
 * certificate) that receives a proof learns nothing it could reuse. The joiner reads the first bytes before it
 * starts rsync: MAGIC and a matching proof (compared in constant time) admit the connection; an rsync greeting
 * (`@RSYNCD:`, an original or older donor) is admitted unless `[sst] require-donor-binding` is on; anything else,
 * a wrong proof or silence is refused, so no byte of it ever reaches an rsync daemon, let alone the datadir.
 *
 * Towards a joiner that did not advertise the tag (an original socat-based joiner) our donor sends nothing extra:
 * the rsync stream stays byte-identical. The token is kept in memory, passed to connector processes only in the
 * environment (readable by the SST's user alone, never argv), and never logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { TLSSocket } from 'node:tls';

/** The `user` of the ready line's `user:secret@`: letters and digits only, as mysqld's auth check wants. */
export const BINDING_TAG = 'ssttunnelbind1';
/** First bytes of a bound connection; never a prefix of rsync's greeting (which starts with '@'). */
export const BINDING_MAGIC = Buffer.from('SSTBIND1', 'latin1');
/** RFC 5705 exporter label; the "EXPORTER-" prefix marks a private label. */
export const EXPORTER_LABEL = 'EXPORTER-sst-tunnel-binding-v1';
/** The exporter's context value (RFC 5705 4): fixed, both sides pass the same. */
const EXPORTER_CONTEXT = Buffer.from('v1', 'latin1');
const PROOF_BYTES = 32;
/** Bytes the joiner reads before it starts rsync. */
export const PREAMBLE_BYTES = BINDING_MAGIC.length + PROOF_BYTES;
const RSYNC_GREETING = Buffer.from('@RSYNCD:', 'latin1');
const TOKEN_RE = /^[0-9a-f]{32}$/;

/** The joiner's side of one SST: its token and whether unbound donors are refused. */
export interface JoinerBinding {
  token: string;
  required: boolean;
}

/** A fresh token per SST: 128 random bits, hex (digits and letters pass mysqld's auth check). */
export function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** The ready payload with the binding in front: `<tag>:<token>@<address>`. */
export function boundReadyPayload(token: string, address: string): string {
  return `${BINDING_TAG}:${token}@${address}`;
}

/** A protocol line fit for a log: any `user:secret@` of a ready line masked. */
export function redactReadyLine(line: string): string {
  return line.replace(/^(ready [^:@\s]*:)[^@\s]*@/, '$1***@');
}

/** The donor's token from what mysqld relayed, or undefined when the joiner did not ask for binding v1. */
export function donorToken(auth: { remoteUser?: string; remotePassword?: string }): string | undefined {
  if (auth.remoteUser !== BINDING_TAG || auth.remotePassword === undefined) return undefined;
  return TOKEN_RE.test(auth.remotePassword) ? auth.remotePassword : undefined;
}

/** The proof for one TLS session (pure given the exporter output). */
export function proofFor(token: string, exporter: Buffer): Buffer {
  return createHmac('sha256', Buffer.from(token, 'latin1')).update(exporter).digest();
}

function exporterOf(socket: TLSSocket): Buffer {
  return socket.exportKeyingMaterial(PROOF_BYTES, EXPORTER_LABEL, EXPORTER_CONTEXT);
}

/** Donor: the bytes to write first on a connection to a joiner that advertised the tag. */
export function donorPreamble(socket: TLSSocket, token: string): Buffer {
  return Buffer.concat([BINDING_MAGIC, proofFor(token, exporterOf(socket))]);
}

/** What the joiner made of a connection's first bytes. */
export type BindingVerdict = { kind: 'bound' } | { kind: 'unbound' } | { kind: 'refused'; reason: string };

/**
 * Judges the first bytes (pure): `undefined` while more bytes are needed. `head` holds what has arrived so far.
 */
export function judgePreamble(head: Buffer, expected: Buffer, required: boolean): BindingVerdict | undefined {
  const magicPart = head.subarray(0, BINDING_MAGIC.length);
  if (magicPart.equals(BINDING_MAGIC.subarray(0, magicPart.length))) {
    if (head.length < PREAMBLE_BYTES) return undefined;
    const proof = head.subarray(BINDING_MAGIC.length, PREAMBLE_BYTES);
    return timingSafeEqual(proof, expected)
      ? { kind: 'bound' }
      : {
          kind: 'refused',
          reason:
            "its proof does not match this SST's token: a donor of another SST attempt (a stale or retried one)",
        };
  }
  const greetingPart = head.subarray(0, RSYNC_GREETING.length);
  if (greetingPart.equals(RSYNC_GREETING.subarray(0, greetingPart.length))) {
    if (head.length < RSYNC_GREETING.length) return undefined;
    return required
      ? {
          kind: 'refused',
          reason:
            'it sent no binding proof (an original or older donor) and [sst] require-donor-binding is on',
        }
      : { kind: 'unbound' };
  }
  return { kind: 'refused', reason: 'its first bytes are neither a binding proof nor an rsync greeting' };
}

/**
 * Joiner: reads a connection's first bytes and judges them, within timeoutMs. What was read beyond the proof
 * (an rsync greeting) is put back into the socket for rsync; the socket is left paused.
 */
export function checkBinding(
  socket: TLSSocket,
  binding: JoinerBinding,
  timeoutMs: number,
): Promise<BindingVerdict> {
  let expected: Buffer;
  try {
    expected = proofFor(binding.token, exporterOf(socket));
  } catch (error) {
    return Promise.resolve({
      kind: 'refused',
      reason: `no TLS exporter for this session (${(error as Error).message})`,
    });
  }
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const finish = (verdict: BindingVerdict): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      socket.pause();
      if (verdict.kind === 'bound' && head.length > PREAMBLE_BYTES)
        socket.unshift(head.subarray(PREAMBLE_BYTES));
      else if (verdict.kind === 'unbound') socket.unshift(head);
      resolve(verdict);
    };
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const verdict = judgePreamble(head, expected, binding.required);
      if (verdict !== undefined) finish(verdict);
    };
    const onEnd = (): void =>
      finish({ kind: 'refused', reason: 'it closed before sending a binding proof or an rsync greeting' });
    const timer = setTimeout(
      () =>
        finish({
          kind: 'refused',
          reason: `no binding proof or rsync greeting within ${timeoutMs / 1000} s`,
        }),
      timeoutMs,
    );
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
    socket.resume();
  });
}
