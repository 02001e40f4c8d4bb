/** A plain aligned markdown table, for the commands whose answer is not a list of BenchRows. */

const cell = (s: string) => s.replace(/\r?\n|\r/g, ' ').replace(/\|/g, '\\|');
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
