/**
 * The logger: pino, always to stderr (fd 2), written synchronously so the last line before an exit survives.
 * stdout belongs to mysqld (sst-contract.md 2.1/2.2): nothing here may ever touch fd 1.
 *
 * Default format is the one mysqld error logs already hold for SST scripts (sst-contract.md 2.5):
 *   WSREP_SST: [INFO] <text> (YYYYMMDD HH:MM:SS.mmm)
 * `SST_TUNNEL_LOG_FORMAT=json` (or `setLogFormat('json')`) switches to pino's JSON lines.
 */
import { writeSync } from 'node:fs';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';
export type LogFormat = 'text' | 'json';

const LEVEL_NAMES: Record<number, string> = {
  10: 'DEBUG',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARNING',
  50: 'ERROR',
  60: 'ERROR',
};

/** pino's own bookkeeping fields, left out of the text line. */
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'component']);

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYYMMDD HH:MM:SS.mmm` in local time, as the shell scripts print with `date +%Y%m%d %H:%M:%S.%3N`. */
export function wsrepTimestamp(date: Date): string {
  return (
    `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`
  );
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/** Turns one pino JSON line into the `WSREP_SST:` text shape; extra fields become `key=value` pairs. */
export function formatWsrepLine(jsonLine: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(jsonLine) as Record<string, unknown>;
  } catch {
    return jsonLine.endsWith('\n') ? jsonLine : `${jsonLine}\n`;
  }
  const level = LEVEL_NAMES[Number(record.level)] ?? 'INFO';
  const component = typeof record.component === 'string' ? `${record.component}: ` : '';
  const extras = Object.entries(record)
    .filter(([key, value]) => !RESERVED.has(key) && value !== undefined)
    .map(([key, value]) => `${key}=${formatValue(value)}`);
  const time = typeof record.time === 'number' ? new Date(record.time) : new Date();
  const text = [`${component}${String(record.msg ?? '')}`, ...extras].join(' ');
  return `WSREP_SST: [${level}] ${text} (${wsrepTimestamp(time)})\n`;
}

/** A synchronous stderr destination; writeSync keeps lines whole and ordered even right before exit. */
function stderrDestination(format: LogFormat): DestinationStream {
  return {
    write(line: string): void {
      const out = format === 'json' ? line : formatWsrepLine(line);
      try {
        writeSync(2, out);
      } catch {
        // stderr closed or full: logging must never take the SST down.
      }
    },
  };
}

function formatFromEnv(): LogFormat {
  return process.env.SST_TUNNEL_LOG_FORMAT === 'json' ? 'json' : 'text';
}

function levelFromEnv(): string {
  const level = process.env.SST_TUNNEL_LOG_LEVEL;
  return level !== undefined && ['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info';
}

function makeLogger(format: LogFormat): Logger {
  return pino(
    { level: levelFromEnv(), base: null, timestamp: pino.stdTimeFunctions.epochTime },
    stderrDestination(format),
  );
}

let root: Logger = makeLogger(formatFromEnv());

/** Switches the output format of every logger handed out afterwards (CLI `--log-format`). */
export function setLogFormat(format: LogFormat): void {
  root = makeLogger(format);
}

/** The process-wide logger, or a child tagged with a component name. */
export function logger(component?: string): Logger {
  return component === undefined ? root : root.child({ component });
}
