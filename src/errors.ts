/**
 * Typed errors with stable codes. Each carries the errno-style exit code that mysqld reads from an SST
 * script (sst-contract.md 2.6); only src/cli.ts turns an error into a process exit.
 */

/** Exit codes of the SST contract (sst-contract.md 2.6), by errno name. */
export const ExitCode = {
  OK: 0,
  /** A required program, file or option is missing. */
  ENOENT: 2,
  /** Ended by SIGINT, SIGQUIT or SIGTERM. */
  TERMINATED: 3,
  /** A child (rsync daemon, helper) died while starting. */
  ECHILD: 10,
  /** rsync exit 22 on the first transfer. */
  ENOMEM: 12,
  /** The listen port is held by another program. */
  EBUSY: 16,
  /** Bad argument, bad option value, bad certificate material. */
  EINVAL: 22,
  /** The SST cannot fit on the joiner's file systems, or one filled up during the transfer. */
  ENOSPC: 28,
  /** mysqld is gone (SIGHUP, SIGPIPE, EPIPE on stdout, parent dead), or the transfer ended without data. */
  EPIPE: 32,
  /** rsync exit 12: protocol incompatibility on the first transfer. */
  EPROTO: 71,
  /** No bytes moved for longer than the configured timeout. mysqld logs "Connection timed out". */
  ETIMEDOUT: 110,
  /** A previous SST is still running. */
  EALREADY: 114,
  /** `sst_error` seen, or a data pass failed. */
  SST_FAILED: 255,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: a stable machine-readable `code`, the process exit code, and the original `cause`. */
export class SstTunnelError extends Error {
  readonly code: string;
  readonly exitCode: number;

  constructor(message: string, options: { code: string; exitCode: number; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.exitCode = options.exitCode;
  }
}

/** A command-line argument or option value is malformed or missing (exit 22, or 2 for a missing one). */
export class UsageError extends SstTunnelError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, {
      code: 'SST_USAGE',
      exitCode: options.exitCode ?? ExitCode.EINVAL,
      cause: options.cause,
    });
  }
}

/** An option file or `[sst]` value is wrong (exit 22). */
export class ConfigError extends SstTunnelError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, {
      code: 'SST_CONFIG',
      exitCode: options.exitCode ?? ExitCode.EINVAL,
      cause: options.cause,
    });
  }
}

/** Certificate, key or CA material cannot be loaded or does not fit together (exit 22, or 2 when missing). */
export class CredentialError extends SstTunnelError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, {
      code: 'SST_CREDENTIALS',
      exitCode: options.exitCode ?? ExitCode.EINVAL,
      cause: options.cause,
    });
  }
}

/** A required program (rsync) cannot be found or run (exit 2). */
export class MissingProgramError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_MISSING_PROGRAM', exitCode: ExitCode.ENOENT, cause: options.cause });
  }
}

/** The TLS port is held by another program (exit 16). */
export class PortBusyError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_PORT_BUSY', exitCode: ExitCode.EBUSY, cause: options.cause });
  }
}

/** A previous SST of this datadir is still running (exit 114). */
export class AlreadyRunningError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_ALREADY_RUNNING', exitCode: ExitCode.EALREADY, cause: options.cause });
  }
}

/** The peer failed TLS authentication: chain, name, protocol version (exit 22 on the donor side). */
export class PeerVerificationError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_PEER_VERIFICATION', exitCode: ExitCode.EINVAL, cause: options.cause });
  }
}

/** Nothing moved for too long, or a peer never came (exit 110). */
export class SstTimeoutError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_TIMEOUT', exitCode: ExitCode.ETIMEDOUT, cause: options.cause });
  }
}

/** mysqld went away: parent dead, stdout closed, SIGHUP or SIGPIPE (exit 32). */
export class ParentGoneError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_PARENT_GONE', exitCode: ExitCode.EPIPE, cause: options.cause });
  }
}

/** The process was asked to stop by a signal (exit 3 for INT/QUIT/TERM, 32 for HUP/PIPE). */
export class TerminatedError extends SstTunnelError {
  readonly signal: NodeJS.Signals;

  constructor(signal: NodeJS.Signals) {
    const exitCode = signal === 'SIGHUP' || signal === 'SIGPIPE' ? ExitCode.EPIPE : ExitCode.TERMINATED;
    super(`Received ${signal}: ending the SST`, { code: 'SST_TERMINATED', exitCode });
    this.signal = signal;
  }
}

/** A data transfer failed (an rsync pass, the tunnel, the binlog tarball); exit code per contract. */
export class TransferError extends SstTunnelError {
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, {
      code: 'SST_TRANSFER',
      exitCode: options.exitCode ?? ExitCode.SST_FAILED,
      cause: options.cause,
    });
  }
}

/** mysqld reported a failed flush by creating `sst_error` (exit 255). */
export class DonorFlushError extends SstTunnelError {
  constructor(message: string) {
    super(message, { code: 'SST_FLUSH_FAILED', exitCode: ExitCode.SST_FAILED });
  }
}

/**
 * mysqld's credentials for the donor are unusable: an 11.6+ mysqld that could not create its temporary SST user
 * (it then never reads our stdout), or a malformed credentials line (exit 22).
 */
export class MysqldAuthError extends SstTunnelError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, { code: 'SST_MYSQLD_AUTH', exitCode: ExitCode.EINVAL, cause: options.cause });
  }
}

/** Maps any thrown value to the exit code the CLI should use. Unknown errors are internal faults (exit 1). */
export function exitCodeOf(error: unknown): number {
  return error instanceof SstTunnelError ? error.exitCode : 1;
}

/** The message of any thrown value, with the chain of causes appended ("...: cause: ..."). */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      current = undefined;
    }
  }
  return parts.filter((part, i) => part !== '' && parts.indexOf(part) === i).join(': ');
}
