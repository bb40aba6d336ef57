/**
 * Follows one list of top-level option files through `!include`/`!includedir` the way mysys does, collecting
 * the entries of the wanted groups in read order. optionFiles.ts decides which files and groups; this module
 * knows what mysys does with each file (see the rules listed there).
 */
import { posix } from 'node:path';
import { ConfigError, ExitCode } from '../errors.js';
import type { OptionFs } from './optionFs.js';
import { parseOptionFile } from './optionParse.js';
import { normalizeOptionName, type OptionEntry } from './optionSet.js';

/** mysys stops following `!include`/`!includedir` below this depth (the top file is depth 0). */
const MAX_INCLUDE_DEPTH = 10;

interface Reading {
  fs: OptionFs;
  groups: ReadonlySet<string>;
  entries: OptionEntry[];
  files: string[];
  warn: (message: string) => void;
}

type FileResult = { status: 'read' | 'missing'; why?: string } | { status: 'error'; message: string };

function readFile(r: Reading, path: string, depth: number): FileResult {
  const file = posix.resolve(r.fs.cwd(), path);
  const stat = r.fs.stat(file);
  if (stat === undefined) return { status: 'missing', why: 'no such file or directory' };
  if (stat.regular && (stat.mode & 0o002) !== 0) {
    r.warn(`Ignoring world-writable option file "${file}", as mysqld does`);
    return { status: 'read' };
  }
  const opened = r.fs.read(file);
  if ('error' in opened) return { status: 'missing', why: opened.error };
  if (!r.files.includes(file)) r.files.push(file);
  let group = '';
  let wanted = false;
  for (const event of parseOptionFile(opened.content)) {
    if (event.kind === 'error')
      return { status: 'error', message: `Cannot read option file "${file}": ${event.message}` };
    if (event.kind === 'group') {
      group = event.name;
      wanted = r.groups.has(group.toLowerCase());
    } else if (event.kind === 'option') {
      if (wanted) {
        const { rawName, value, line } = event;
        r.entries.push({ name: normalizeOptionName(rawName), rawName, value, file, line, group });
      }
    } else if (depth >= MAX_INCLUDE_DEPTH) {
      r.warn(
        `Skipping a "!${event.kind === 'bad-directive' ? event.keyword : event.kind}" directive in "${file}" at line ${event.line}: includes nest at most ${MAX_INCLUDE_DEPTH} deep`,
      );
    } else if (event.kind === 'bad-directive') {
      return {
        status: 'error',
        message: `Cannot read option file "${file}": wrong "!${event.keyword}" directive at line ${event.line}: no path`,
      };
    } else {
      const included = event.kind === 'include' ? [event.path] : listIncludeDir(r, event.path);
      if (typeof included === 'string') {
        return {
          status: 'error',
          message: `Cannot read option file "${file}": cannot read directory "${event.path}" of the "!includedir" at line ${event.line}: ${included}`,
        };
      }
      for (const child of included) {
        const result = readFile(r, child, depth + 1);
        // mysys ignores what an included file returns: its error stops that file, the includer carries on.
        if (result.status === 'error')
          r.warn(`${result.message}; the rest of that file is ignored, as mysqld does`);
      }
    }
  }
  return { status: 'read' };
}

/** The `.cnf` files of an includedir in byte order (mysys my_dir with MY_WANT_SORT), or why it cannot be read. */
function listIncludeDir(r: Reading, dir: string): string[] | string {
  let names: string[];
  try {
    names = r.fs.list(posix.resolve(r.fs.cwd(), dir));
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
  return names
    .filter((name) => name.endsWith('.cnf'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((name) => posix.join(dir, name));
}

/** A top-level file; `requiredBy` names the option that makes a missing file fatal (`--defaults-file`). */
export interface TopLevelFile {
  path: string;
  requiredBy: string | undefined;
}

/** Reads `files` in order with their includes; entries of `groups` (case-insensitive) in read order. */
export function readOptionFiles(
  files: readonly TopLevelFile[],
  groups: readonly string[],
  fs: OptionFs,
  warn: (message: string) => void,
): { entries: OptionEntry[]; files: string[] } {
  const r: Reading = {
    fs,
    groups: new Set(groups.map((g) => g.toLowerCase())),
    entries: [],
    files: [],
    warn,
  };
  for (const { path, requiredBy } of files) {
    const result = readFile(r, path, 0);
    // Top-level errors are fatal to mysqld: it refuses to start.
    if (result.status === 'error') throw new ConfigError(result.message);
    if (result.status === 'missing' && requiredBy !== undefined) {
      throw new ConfigError(
        `Cannot open required defaults file "${path}" (${requiredBy}): ${result.why ?? 'cannot open'}`,
        {
          exitCode: ExitCode.ENOENT,
        },
      );
    }
  }
  return { entries: r.entries, files: r.files };
}
