/**
 * Identities of measured cells, shared by the bench engine (which cells to skip on --resume) and
 * the store (which cells a run holds). A cell is one point of a sweep's cartesian product; every
 * row it produced (one, or one per size and type for mulmat) carries the same cell key.
 */

/** The parameters that name a cell. Rows of other measurements (rtf, ...) add `file` and `preset`. */
export interface CellParams {
  what: string;
  model?: string;
  device?: string;
  flash_attn?: boolean;
  threads?: number;
  file?: string;
  preset?: string;
}

/**
 * A cell's key: a short JSON array of its parameters, in a fixed order, absent ones as null.
 * Two rows of the same sweep with the same key came from the same cell.
 */
export function cellKey(p: CellParams): string {
  const v = (x: unknown) => (x === undefined ? null : x);
  return JSON.stringify([p.what, v(p.model), v(p.device), v(p.flash_attn), v(p.threads), v(p.file), v(p.preset)]);
}

/** The cell key of a stored or printed row (any measurement: the fields it lacks are null). */
export function cellKeyOfRow(row: { what: string } & Record<string, unknown>): string {
  const s = (k: string) => (typeof row[k] === 'string' ? (row[k] as string) : undefined);
  return cellKey({
    what: row.what,
    model: s('model'),
    device: s('device'),
    flash_attn: typeof row.flash_attn === 'boolean' ? row.flash_attn : undefined,
    threads: typeof row.threads === 'number' ? row.threads : undefined,
    file: s('file'),
    preset: s('preset'),
  });
}
