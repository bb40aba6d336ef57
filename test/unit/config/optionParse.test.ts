import { describe, expect, it } from 'vitest';
import { parseOptionFile, type OptionEvent } from '../../../src/config/optionParse.js';

const parse = (text: string | Buffer): OptionEvent[] => parseOptionFile(Buffer.from(text));
/** `name=value` pairs of the option events, `name` alone for a bare flag. */
const options = (text: string | Buffer): string[] =>
  parse(text).flatMap((e) =>
    e.kind === 'option' ? [e.value === undefined ? e.rawName : `${e.rawName}=${e.value}`] : [],
  );

describe('parseOptionFile()', () => {
  it('reads groups and options with their line numbers', () => {
    expect(parse('# c\n[mysqld]\ndatadir = /var/lib/mysql\n\nskip-name-resolve\n')).toEqual([
      { kind: 'group', name: 'mysqld', line: 2 },
      { kind: 'option', rawName: 'datadir', value: '/var/lib/mysql', line: 3 },
      { kind: 'option', rawName: 'skip-name-resolve', value: undefined, line: 5 },
    ]);
  });

  it('trims names and values, keeps inner spaces and an empty value', () => {
    expect(options('[a]\n  x  =  a b  \ny=\nz =   \n')).toEqual(['x=a b', 'y=', 'z=']);
  });

  it('treats # as a comment anywhere outside quotes, ; only at the start of a line', () => {
    expect(options('[a]\n; c\nx=1 # c\ny=1#c\nz=1 ; not a comment\nq="a # b" # c\nr=\'a#b\'\n')).toEqual([
      'x=1',
      'y=1',
      'z=1 ; not a comment',
      'q=a # b',
      'r=a#b',
    ]);
  });

  it('removes one pair of matching outer quotes only', () => {
    expect(options('[a]\na="x"\nb=\'x\'\nc="x\'\nd="\ne=""\nf="a"b"\ng=x"y"\n')).toEqual([
      'a=x',
      'b=x',
      'c="x\'',
      'd="',
      'e=',
      'f=a"b',
      'g=x"y"',
    ]);
  });

  it('unescapes \\n \\t \\r \\b \\s \\" \\\' \\\\ and keeps unknown escapes and a final backslash', () => {
    expect(options('[a]\nx=a\\nb\\tc\\rd\\be\\sf\\"g\\\'h\\\\i\\qj\nt=end\\\n')).toEqual([
      'x=a\nb\tc\rd\be f"g\'h\\i\\qj',
      't=end\\',
    ]);
  });

  it('lets an escaped quote inside quotes protect a #, but not a backslash outside quotes', () => {
    expect(options('[a]\nx="a\\"#b"\ny=a\\#b\n')).toEqual(['x=a"#b', 'y=a\\']);
  });

  it('counts latin1 0xA0 as whitespace, so a trailing UTF-8 "à" loses a byte', () => {
    const [event] = parse(
      Buffer.concat([Buffer.from('[a]\nx=voil'), Buffer.from([0xc3, 0xa0]), Buffer.from('\n')]),
    ).slice(1);
    expect(event).toEqual({ kind: 'option', rawName: 'x', value: 'voil\ufffd', line: 2 });
  });

  it('handles CRLF, vertical tab, form feed and a NUL that ends the line early', () => {
    expect(options('[a]\r\nx=1\r\ny=\v2\f\nk\0junk=1\n')).toEqual(['x=1', 'y=2', 'k']);
  });

  it('continues a line longer than 4094 bytes as a new line, as fgets does', () => {
    const events = parse(`[a]\nx=${'A'.repeat(4092)}BBy=2\n`);
    expect(events.slice(1)).toEqual([
      { kind: 'option', rawName: 'x', value: 'A'.repeat(4092), line: 2 },
      { kind: 'option', rawName: 'BBy', value: '2', line: 3 },
    ]);
  });

  it('reads group names up to the first "]", trimming trailing blanks only', () => {
    const groups = parse('[a ]\n[ b]\n[c] x=1\n[d]]\n[]\n').flatMap((e) =>
      e.kind === 'group' ? [e.name] : [],
    );
    expect(groups).toEqual(['a', ' b', 'c', 'd', '']);
  });

  it('reads !include and !includedir with whitespace after the keyword, raw paths, case-sensitive', () => {
    const text =
      '!include /a.cnf\n! includedir /d/\n!include  /b.cnf # c  \n!INCLUDE /x\n!includex /x\n!include"/x"\n!foo\n';
    expect(parse(text)).toEqual([
      { kind: 'include', path: '/a.cnf', line: 1 },
      { kind: 'includedir', path: '/d/', line: 2 },
      { kind: 'include', path: '/b.cnf # c', line: 3 },
    ]);
  });

  it('drops the last byte of an !include path when the file ends without a newline', () => {
    expect(parse('!include /a.cnf')).toEqual([{ kind: 'include', path: '/a.cn', line: 1 }]);
    expect(parse('!include x')).toEqual([{ kind: 'bad-directive', keyword: 'include', line: 1 }]);
    expect(parse('!include')).toEqual([]);
  });

  it('reports an !include without a path', () => {
    expect(parse('[a]\n!includedir   \n')).toEqual([
      { kind: 'group', name: 'a', line: 1 },
      { kind: 'bad-directive', keyword: 'includedir', line: 2 },
    ]);
  });

  it('stops at an option before any group, and at a group without "]"', () => {
    expect(parse('!include /a\nx=1\n[a]\n')).toEqual([
      { kind: 'include', path: '/a', line: 1 },
      { kind: 'error', message: 'found an option without a preceding group at line 2', line: 2 },
    ]);
    expect(parse('[a]\nx=1\n[b\ny=2\n').at(-1)).toEqual({
      kind: 'error',
      message: 'wrong group definition at line 3',
      line: 3,
    });
  });

  it('says when a UTF-8 byte order mark hides the first group', () => {
    expect(parse('\ufeff[a]\nx=1\n')).toEqual([
      {
        kind: 'error',
        message:
          'found an option without a preceding group at line 1 (the file starts with a UTF-8 byte order mark)',
        line: 1,
      },
    ]);
  });

  it('makes the rest of the line the name when an indented line starts with "="', () => {
    expect(options('[a]\n  =x\n=y\n')).toEqual(['=x\n=x', '=y']);
  });
});
