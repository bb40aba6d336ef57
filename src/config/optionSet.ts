/**
 * Option entries and lookup by name the way mysqld's my_getopt matches them: `-` and `_` are the same, case does
 * not matter (mariadbd 10.11 takes `--Port=3307` and `--LOOSE-port=3309`), and a `loose-` prefix is dropped.
 */

/** One `name[=value]` line of an option file, in a group that was asked for. */
export interface OptionEntry {
  /** Normalized: lower case, `_` -> `-`, `loose-` prefix removed. */
  name: string;
  /** As written in the file (what `my_print_defaults` prints after `--`). */
  rawName: string;
  /** undefined for a bare flag (`skip-name-resolve`); `''` for `name=`. */
  value: string | undefined;
  /** Absolute path of the file the line is in. */
  file: string;
  line: number;
  /** The group as written in the file, e.g. `mysqld.node1`. */
  group: string;
}

/** The name mysqld would look up for `raw`: ASCII lower case, `_` as `-`, one `loose-` prefix removed. */
export function normalizeOptionName(raw: string): string {
  const name = raw.replace(/[A-Z]/g, (c) => c.toLowerCase()).replaceAll('_', '-');
  return name.startsWith('loose-') ? name.slice('loose-'.length) : name;
}

/** Entries of some groups, looked up by name; the last occurrence wins, as on mysqld's command line. */
export class OptionSet {
  readonly #byName = new Map<string, OptionEntry[]>();

  constructor(entries: readonly OptionEntry[]) {
    for (const entry of entries) {
      const key = normalizeOptionName(entry.name);
      const list = this.#byName.get(key);
      if (list === undefined) this.#byName.set(key, [entry]);
      else list.push(entry);
    }
  }

  /** The last value of `name` (any `-`/`_`/case form); undefined when absent or a bare flag. */
  get(name: string): string | undefined {
    return this.entry(name)?.value;
  }

  /** True when `name` occurs at all, with or without a value. */
  has(name: string): boolean {
    return this.#byName.has(normalizeOptionName(name));
  }

  /** The last entry of `name`, for messages that name the file and line. */
  entry(name: string): OptionEntry | undefined {
    return this.#byName.get(normalizeOptionName(name))?.at(-1);
  }

  /** Every entry of `name`, in read order. */
  all(name: string): OptionEntry[] {
    return [...(this.#byName.get(normalizeOptionName(name)) ?? [])];
  }

  /** The normalized names present, in order of first appearance. */
  names(): string[] {
    return [...this.#byName.keys()];
  }
}
