/**
 * The stdout protocol with mysqld (sst-contract.md 2.1, 2.2, 6.7). stdout belongs to mysqld: only these lines
 * go there, each whole with its newline in one write(2), so mysqld's fgets (512/128-byte buffers) never sees
 * a torn line. An EPIPE means mysqld is gone (exit 32).
 */
import { writeSync } from 'node:fs';
import { ParentGoneError, UsageError } from '../errors.js';
import { logger } from '../log.js';
import { redactReadyLine } from '../tunnel/sstBinding.js';

const log = logger('protocol');

// mysqld reads the joiner's lines with a 512-byte buffer and the donor's with 128 bytes (contract 2.1.2, 2.2.1).
const MAX_LINE = { joiner: 511, donor: 127 } as const;

/** A GTID-style state, `<uuid>:<seqno>[ <domain_id>]`, as mysqld parses it (contract 2.1.6). */
export interface SstState {
  uuid: string;
  seqno: bigint;
  domainId?: number;
}

const STATE =
  /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}):(-?\d+)(?: (\d+))?$/;

/** Parses a state line; undefined when mysqld would reject it. */
export function parseState(line: string): SstState | undefined {
  const m = STATE.exec(line.trim());
  if (m === null) return undefined;
  const state: SstState = { uuid: (m[1] ?? '').toLowerCase(), seqno: BigInt(m[2] ?? '0') };
  if (m[3] !== undefined) state.domainId = Number(m[3]);
  return state;
}

/** The canonical text of a state: `<uuid>:<seqno> <domain>` (domain only when known). */
export function formatState(state: SstState): string {
  return `${state.uuid}:${state.seqno}${state.domainId === undefined ? '' : ` ${state.domainId}`}`;
}

/** Something that takes whole lines; the real one writes to fd 1, tests may capture. */
export type LineSink = (text: string) => void;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Writes `text` to fd 1 completely, retrying short writes and EAGAIN; EPIPE becomes ParentGoneError. */
export function writeStdout(text: string): void {
  let buffer = Buffer.from(text, 'utf8');
  for (let attempt = 0; buffer.length > 0;) {
    try {
      const written = writeSync(1, buffer);
      buffer = buffer.subarray(written);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN' && attempt++ < 1000) {
        sleepMs(5);
        continue;
      }
      if (code === 'EPIPE' || code === 'EBADF') {
        throw new ParentGoneError('Cannot write to mysqld: its end of stdout is closed', { cause: error });
      }
      throw error;
    }
  }
}

/** The protocol channel of one role: validates and writes each line once, whole. */
export class Protocol {
  constructor(
    private readonly role: 'joiner' | 'donor',
    private readonly sink: LineSink = writeStdout,
  ) {}

  private send(line: string): void {
    if (line.includes('\n') || Buffer.byteLength(line) > MAX_LINE[this.role]) {
      throw new UsageError(
        `Cannot send "${redactReadyLine(line)}" to mysqld: a protocol line must fit one ${this.role} read`,
      );
    }
    // A ready line's `user:secret@` is this SST's binding token: never in a log.
    log.debug({ line: redactReadyLine(line) }, 'to mysqld');
    this.sink(`${line}\n`);
  }

  /** Joiner: the first line; the payload is what the donor will be told to connect to. */
  ready(payload: string): void {
    this.send(`ready ${payload}`);
  }

  /** Joiner with --progress 1: start of a stage of `bytes`. */
  total(bytes: number): void {
    this.send(`total ${Math.max(0, Math.floor(bytes))}`);
  }

  /** Joiner with --progress 1: bytes done so far. */
  complete(bytes: number): void {
    this.send(`complete ${Math.max(0, Math.floor(bytes))}`);
  }

  /** Joiner: the final line; success is decided by it alone (contract 2.1.5). */
  state(state: SstState): void {
    this.send(formatState(state));
  }

  /** Donor: ask mysqld for FLUSH TABLES WITH READ LOCK and `tables_flushed`. */
  flushTables(): void {
    this.send('flush tables');
  }

  /** Donor: release the lock mysqld took for `flush tables`. */
  continue(): void {
    this.send('continue');
  }

  /** Donor: the transfer is complete; mysqld reports success at once (contract 2.2.5). */
  done(state: SstState): void {
    this.send(`done ${formatState(state)}`);
  }
}
