/** Plain-text tables for the benchmark's stdout (aligned columns, numbers right-aligned). Pure. */

/** A column: its heading and whether its cells are right-aligned. */
export interface Column {
  title: string;
  align?: 'left' | 'right';
}

/** Renders rows under their headings, with a dashed rule; cells beyond the column count are ignored. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(c.title.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return (c.align ?? 'left') === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [
    line(columns.map((c) => c.title)),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** A number with a fixed count of decimals, or "–" when it is missing or not finite. */
export function fmt(value: number | undefined, digits = 2): string {
  return value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(digits);
}

/** "median [min–max]" with the same decimals; just the median when min equals max. */
export function fmtSpread(s: { median: number; min: number; max: number }, digits = 0): string {
  if (!Number.isFinite(s.median)) return '–';
  if (s.min === s.max) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} [${fmt(s.min, digits)}–${fmt(s.max, digits)}]`;
}
