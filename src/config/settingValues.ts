/**
 * Reading one option value into a typed value, with a ConfigError that names the option, the file and line it
 * came from and what was expected:
 *   Cannot use [sst] idle-timeout = "abc" (/etc/mysql/my.cnf:12): expected a whole number of seconds
 * Pure; settings.ts decides which option feeds which setting.
 */
import { ConfigError } from '../errors.js';
import type { OptionEntry, OptionSet } from './optionSet.js';

/** Longest timeout node's timers can hold (2^31-1 ms), in whole seconds. */
export const MAX_SECONDS = 2_147_483;

/** The ConfigError for a bad value of `entry`, ending with what was expected. */
export function badValue(entry: OptionEntry, expected: string): ConfigError {
  const shown = entry.value === undefined ? ' without a value' : ` = "${entry.value}"`;
  return new ConfigError(
    `Cannot use [${entry.group}] ${entry.rawName}${shown} (${entry.file}:${entry.line}): ${expected}`,
  );
}

/**
 * The last entry of `name` in the first set that has it with a non-empty value, as wsrep_sst_common's parse_cnf
 * looks up '--mysqld|sst': an empty last value (`name=`) counts as unset. A bare flag is returned as is.
 */
export function pick(name: string, ...sets: OptionSet[]): OptionEntry | undefined {
  for (const set of sets) {
    const entry = set.entry(name);
    if (entry !== undefined && entry.value !== '') return entry;
  }
  return undefined;
}

/** A non-empty text value, or undefined when unset; a bare flag is an error. */
export function text(entry: OptionEntry | undefined, expected: string): string | undefined {
  if (entry === undefined) return undefined;
  if (entry.value === undefined) throw badValue(entry, `expected ${expected}`);
  return entry.value;
}

/** Whole seconds in [min, MAX_SECONDS], as milliseconds. */
export function seconds(entry: OptionEntry | undefined, fallback: number, min: number): number {
  if (entry === undefined) return fallback * 1000;
  const expected =
    min === 0 ? 'expected a whole number of seconds' : `expected a whole number of seconds, at least ${min}`;
  if (entry.value === undefined || !/^\d+$/.test(entry.value)) throw badValue(entry, expected);
  const value = Number(entry.value);
  if (value < min) throw badValue(entry, expected);
  if (value > MAX_SECONDS) throw badValue(entry, `expected at most ${MAX_SECONDS} seconds`);
  return value * 1000;
}

/** A whole number in [min, max]; `unit` words the message ("threads"). */
export function integer(
  entry: OptionEntry | undefined,
  fallback: number,
  range: { min: number; max: number; unit: string },
): number {
  if (entry === undefined) return fallback;
  const value =
    entry.value !== undefined && /^[+-]?\d+$/.test(entry.value) ? Number(entry.value) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
    const bounds = range.min === Number.MIN_SAFE_INTEGER ? '' : ` from ${range.min} to ${range.max}`;
    throw badValue(entry, `expected a whole number of ${range.unit}${bounds}`);
  }
  return value;
}

/** The `1024`-based multipliers of pv's rate suffixes. */
const RATE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/**
 * A rate as pv's `-L` reads it (mariabackup passes `rlimit` to pv): bytes per second, with an optional suffix
 * K, M, G or T for 1024-based multiples, either case ("80M" = 80 MiB/s); a fraction is allowed ("1.5g").
 * undefined when the text is not such a rate or is 0.
 */
export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(text);
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * (RATE_UNITS[(m[2] ?? '').toLowerCase()] ?? Number.NaN));
  return Number.isSafeInteger(bytes) && bytes > 0 ? bytes : undefined;
}

/** A rate in bytes per second as pv's `-L` reads it ("80M"); unset or 0 = no limit (undefined). */
export function rate(entry: OptionEntry | undefined): number | undefined {
  if (entry === undefined) return undefined;
  if (entry.value !== undefined && /^\s*0+(\.0+)?\s*[kmgt]?\s*$/i.test(entry.value)) return undefined;
  const bytes = entry.value === undefined ? undefined : parseRate(entry.value);
  if (bytes === undefined)
    throw badValue(
      entry,
      'expected bytes per second, with an optional K, M, G or T suffix (1024-based), e.g. 80M',
    );
  return bytes;
}

/** mysqld's boolean spellings (ON/OFF, TRUE/FALSE, 1/0, any case); a bare flag is ON. */
export function boolean(entry: OptionEntry | undefined, fallback: boolean): boolean {
  if (entry === undefined) return fallback;
  if (entry.value === undefined) return true;
  const word = entry.value.toLowerCase();
  if (['on', 'true', '1'].includes(word)) return true;
  if (['off', 'false', '0'].includes(word)) return false;
  throw badValue(entry, 'expected on or off');
}

/** Levenshtein distance, for "did you mean" on misspelled `[sst]` names. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}
