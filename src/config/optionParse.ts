/**
 * The line grammar of MariaDB option files, as mysys `search_default_file_with_ext` applies it (10.11), turned
 * into a list of events. Pure: bytes in, events out; the reader (optionFiles.ts) follows includes and picks groups.
 *
 * Every rule here was settled by experiment against `my_print_defaults` 10.11 (see
 * test/integration/option-files-oracle.test.ts), including its odd corners:
 * - Text is handled as bytes with latin1 `isspace`, so 0xA0 counts as whitespace: a value ending in UTF-8 "à"
 *   (C3 A0) loses its last byte, exactly as mysqld sees it.
 * - Lines are read with fgets into a 4096-byte buffer: a line longer than 4094 bytes continues as a new "line".
 * - `#` starts a comment anywhere outside quotes (no space needed); `;` only at the start of a line.
 * - One pair of matching outer quotes is removed from a value; `\n \t \r \b \s \" \' \\` are unescaped, any other
 *   backslash is kept.
 * - `!include`/`!includedir` need whitespace after the keyword and are case-sensitive; other `!` lines are
 *   ignored. The path is not unquoted, a `#` in it is part of it, and its last byte is dropped when the file
 *   ends without a newline (mysys trims one character blindly).
 */

/** One thing an option file says, in file order. */
export type OptionEvent =
  | { kind: 'group'; name: string; line: number }
  | { kind: 'option'; rawName: string; value: string | undefined; line: number }
  | { kind: 'include' | 'includedir'; path: string; line: number }
  /** A directive whose argument is empty: an error, unless the include depth limit skips it first. */
  | { kind: 'bad-directive'; keyword: 'include' | 'includedir'; line: number }
  /** Parsing stopped here (mysys returns an error for the whole file). */
  | { kind: 'error'; message: string; line: number };

/** fgets(buff, sizeof(buff) - 1) with a 4096-byte buffer reads at most 4094 bytes per call. */
const CHUNK = 4094;

/** my_isspace with my_charset_latin1: space, \t \n \v \f \r and 0xA0 (no-break space). */
function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\v' || c === '\f' || c === '\r' || c === '\u00a0';
}

/** Bytes kept as latin1 code units while parsing go back to UTF-8 text at the end. */
function utf8(latin1: string): string {
  return Buffer.from(latin1, 'latin1').toString('utf8');
}

/** Index of the `#` that starts a trailing comment, or the length; quotes (with `\` escapes inside) protect it. */
function commentStart(text: string): number {
  let quote: string | undefined;
  let escape = false;
  for (let k = 0; k < text.length; k++) {
    const c = text[k];
    if ((c === '"' || c === "'") && !escape) {
      if (quote === undefined) quote = c;
      else if (quote === c) quote = undefined;
    } else if (quote === undefined && c === '#') {
      return k;
    }
    escape = quote !== undefined && c === '\\' && !escape;
  }
  return text.length;
}

const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  s: ' ',
  '"': '"',
  "'": "'",
  '\\': '\\',
};

/** Backslash escapes of a value; an unknown escape keeps its backslash, a final lone backslash stays. */
function unescape(raw: string): string {
  let out = '';
  for (let k = 0; k < raw.length; k++) {
    const c = raw[k] as string;
    if (c === '\\' && k !== raw.length - 1) {
      const next = raw[++k] as string;
      out += ESCAPES[next] ?? `\\${next}`;
    } else {
      out += c;
    }
  }
  return out;
}

/** The value after `=`: trimmed, one pair of matching outer quotes removed, escapes applied. */
function parseValue(text: string, from: number): string {
  let start = from;
  while (start < text.length && isSpace(text[start])) start++;
  let end = text.length;
  while (end > start && isSpace(text[end - 1])) end--;
  const first = text[start];
  if ((first === '"' || first === "'") && start + 1 < end && text[end - 1] === first) {
    start++;
    end--;
  }
  return unescape(text.slice(start, end));
}

/** A directive's argument as mysys `get_argument` cuts it, or undefined when nothing is left. */
function directiveArgument(chunk: string, from: number): string | undefined {
  let start = from;
  while (isSpace(chunk[start])) start++;
  // mysys starts at the last character and drops it unconditionally (normally the newline), then trims.
  let end = chunk.length - 1;
  while (end > 0 && isSpace(chunk[end - 1])) end--;
  return end > start ? chunk.slice(start, end) : undefined;
}

function directive(chunk: string, at: number, line: number): OptionEvent | undefined {
  let k = at + 1;
  while (isSpace(chunk[k])) k++;
  for (const keyword of ['includedir', 'include'] as const) {
    if (chunk.startsWith(keyword, k) && isSpace(chunk[k + keyword.length])) {
      const path = directiveArgument(chunk, k + keyword.length);
      return path === undefined
        ? { kind: 'bad-directive', keyword, line }
        : { kind: keyword, path: utf8(path), line };
    }
  }
  return undefined;
}

/** The chunks fgets hands out: up to 4094 bytes, each ending at a newline or at the buffer limit. */
function* chunks(text: string): Generator<string> {
  let pos = 0;
  while (pos < text.length) {
    const newline = text.indexOf('\n', pos);
    const end = Math.min(newline === -1 ? text.length : newline + 1, pos + CHUNK);
    const chunk = text.slice(pos, end);
    pos = end;
    const nul = chunk.indexOf('\0');
    yield nul === -1 ? chunk : chunk.slice(0, nul);
  }
}

/** Parses one option file's bytes into events; stops at the first error, as mysys does. */
export function parseOptionFile(content: Uint8Array): OptionEvent[] {
  const events: OptionEvent[] = [];
  let line = 0;
  let inGroup = false;
  for (const chunk of chunks(Buffer.from(content).toString('latin1'))) {
    line++;
    let at = 0;
    while (isSpace(chunk[at])) at++;
    const first = chunk[at];
    if (first === undefined || first === '#' || first === ';') continue;
    if (first === '!') {
      const event = directive(chunk, at, line);
      if (event !== undefined) events.push(event);
      continue;
    }
    if (first === '[') {
      const close = chunk.indexOf(']', at + 1);
      if (close === -1) {
        events.push({ kind: 'error', message: `wrong group definition at line ${line}`, line });
        return events;
      }
      let end = close;
      while (isSpace(chunk[end - 1])) end--;
      events.push({ kind: 'group', name: utf8(chunk.slice(at + 1, end)), line });
      inGroup = true;
      continue;
    }
    if (!inGroup) {
      // A UTF-8 byte order mark is not whitespace to mysys: the first "[group]" line then reads as an option.
      const bom =
        line === 1 && chunk.startsWith('\u00ef\u00bb\u00bf')
          ? ' (the file starts with a UTF-8 byte order mark)'
          : '';
      events.push({
        kind: 'error',
        message: `found an option without a preceding group at line ${line}${bom}`,
        line,
      });
      return events;
    }
    events.push(optionEvent(chunk, at, line));
  }
  return events;
}

function optionEvent(chunk: string, at: number, line: number): OptionEvent {
  const text = chunk.slice(0, at + commentStart(chunk.slice(at)));
  const equals = text.indexOf('=', at);
  let nameEnd = equals === -1 ? text.length : equals;
  while (nameEnd > 0 && isSpace(text[nameEnd - 1])) nameEnd--;
  // An empty name after indentation makes mysys's trim run past the name's start, and strmake then copies the
  // rest of the line (newline included). Absurd, but it is what mysqld receives.
  const rawName = nameEnd < at ? text.slice(at) : text.slice(at, nameEnd);
  const value = equals === -1 ? undefined : utf8(parseValue(text, equals + 1));
  return { kind: 'option', rawName: utf8(rawName), value, line };
}
