/** A plain aligned markdown table, for the commands whose answer is not a list of BenchRows. */

/** A markdown table cell: one line, pipes escaped. */
export const mdCell = (s: string): string => s.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
const cell = mdCell;
const numeric = (s: string) => /^[-+]?\d[\d,]*(\.\d+)?(\s?([%×x]|ms|s|MB|GB|W|°C))?$/.test(s.trim());

/**
 * Renders headers and rows as a markdown table with padded columns. A column whose every non-empty
 * cell is a number (optionally with a unit) is right-aligned, unless `right` says otherwise.
 */
export function mdTable(headers: readonly string[], rows: readonly (readonly string[])[], options: { right?: readonly boolean[] } = {}): string {
  const body = rows.map((r) => headers.map((_, i) => cell(r[i] ?? '')));
  const titles = headers.map(cell);
  const right = headers.map((_, i) => options.right?.[i] ?? (body.some((r) => r[i] !== '') && body.every((r) => r[i] === '' || numeric(r[i]))));
  const widths = headers.map((_, i) => Math.max(3, titles[i].length, ...body.map((r) => r[i].length)));
  const pad = (s: string, i: number) => (right[i] ? s.padStart(widths[i]) : s.padEnd(widths[i]));
  const line = (cells: string[]) => `| ${cells.map(pad).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (right[i] ? '-'.repeat(w - 1) + ':' : '-'.repeat(w))).join(' | ')} |`;
  return [line(titles), sep, ...body.map(line)].join('\n') + '\n';
}

/** A column of a table of records: its title, alignment and cell text (empty when it has none). */
export interface RecordColumn<T> {
  title: string;
  right: boolean;
  cell: (r: T) => string;
  /** shown even when every cell is empty */
  keep?: boolean;
}

/** Records as an aligned markdown table (lines); columns empty in every row are left out unless `keep`. */
export function recordTable<T>(rows: readonly T[], cols: readonly RecordColumn<T>[]): string[] {
  const used = cols.filter((c) => c.keep || rows.some((r) => c.cell(r) !== ''));
  const md = mdTable(
    used.map((c) => c.title),
    rows.map((r) => used.map((c) => c.cell(r))),
    { right: used.map((c) => c.right) },
  );
  return md.trimEnd().split('\n');
}

/** A number with `d` decimals, or '' when it is missing or not finite. */
export const fixed = (x: number | undefined, d: number): string => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '');

/** Each warning of the rows once, with the rows it concerns ("all rows", "row 2", "rows 1, 3"); nothing when there is none. */
export function warningLines(rows: readonly { warnings?: readonly string[] }[]): string[] {
  const byText = new Map<string, number[]>();
  rows.forEach((r, i) => {
    for (const w of r.warnings ?? []) byText.set(w, [...(byText.get(w) ?? []), i + 1]);
  });
  if (byText.size === 0) return [];
  const out = ['', 'Warnings:', ''];
  for (const [w, idx] of byText) out.push(`- ${idx.length === rows.length && rows.length > 1 ? 'all rows' : `row${idx.length > 1 ? 's' : ''} ${idx.join(', ')}`}: ${w.replace(/\r?\n|\r/g, ' ')}`);
  return out;
}
