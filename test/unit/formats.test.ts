import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { COLUMNS, csvField, flattenRow, formatRows, sqlLiteral } from '../../lib/report/formats.js';
import { summarize } from '../../lib/measure/stats.js';
import { encoderRow, failedRow, memcpyRow, mulmatRow, sampleRows } from '../fixtures/rows.js';

/** A small RFC 4180 parser: quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        field += c;
      }
      i++;
      continue;
    }
    if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
    i++;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const hasSqlite = spawnSync('sqlite3', ['-version']).status === 0;

describe('flattenRow', () => {
  it('gives every row the same ordered columns', () => {
    const names = COLUMNS.map((c) => c.name);
    for (const r of sampleRows()) expect(Object.keys(flattenRow(r))).toEqual(names);
    expect(new Set(names).size).toBe(names.length);
  });

  it('flattens stats, cold figures and provenance', () => {
    const row = encoderRow();
    const f = flattenRow(row);
    expect(f).toMatchObject({
      what: 'encoder',
      model: '/models/ggml-base.en.bin',
      synthetic: false,
      flash_attn: true,
      threads: 2,
      encode_ms_median: row.encode_ms!.median,
      encode_ms_mean: row.encode_ms!.mean,
      encode_ms_sd: row.encode_ms!.sd,
      encode_ms_min: 495.75,
      encode_ms_max: 510.25,
      encode_ms_ci95: row.encode_ms!.ci95,
      encode_ms_n: 5,
      encode_ms_outliers: 0,
      encode_ms_samples: '500.5;510.25;505;495.75;502',
      memcpy_gbps_median: null,
      cold_encode_ms: 700,
      build_variant: 'cpu-avx2',
      build_type: 'Release',
      build_backends: 'cpu cuda',
      build_sanitizer: false,
      build_options: 'GGML_NATIVE=OFF GGML_AVX2=ON',
      cpu_features: 'sse4_2 avx avx2 fma',
      memory_bytes: 8 * 1024 ** 3,
      error_code: null,
      error_message: null,
    });
  });

  it('maps non-finite numbers to null', () => {
    const row = { ...mulmatRow(), encoder_gflops: NaN, mulmat_size: Infinity };
    expect(flattenRow(row)).toMatchObject({ encoder_gflops: null, mulmat_size: null });
  });
});

describe('formatRows json / jsonl', () => {
  it('json parses back to the rows', () => {
    const rows = sampleRows();
    const text = formatRows(rows, 'json');
    expect(text.startsWith('[\n  {')).toBe(true);
    expect(JSON.parse(text)).toEqual(rows);
    expect(JSON.parse(formatRows([], 'json'))).toEqual([]);
  });

  it('jsonl has one valid JSON row per line', () => {
    const rows = sampleRows();
    const lines = formatRows(rows, 'jsonl').trimEnd().split('\n');
    expect(lines).toHaveLength(rows.length);
    lines.forEach((l, i) => expect(JSON.parse(l)).toEqual(rows[i]));
    expect(formatRows([], 'jsonl')).toBe('');
  });
});

describe('formatRows csv', () => {
  it('quotes only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(true)).toBe('true');
    expect(csvField(1.5)).toBe('1.5');
  });

  it('parses back to the same header and values', () => {
    const rows = sampleRows();
    const table = parseCsv(formatRows(rows, 'csv'));
    expect(table[0]).toEqual(COLUMNS.map((c) => c.name));
    expect(table).toHaveLength(rows.length + 1);
    rows.forEach((row, i) => {
      const f = flattenRow(row);
      expect(table[i + 1]).toEqual(COLUMNS.map((c) => csvField(f[c.name]).replace(/^"|"$/g, '').replace(/""/g, '"')));
    });
    const col = (name: string) => table[0].indexOf(name);
    const failed = table[2];
    expect(failed[col('model')]).toBe('/models/ggml-large, "v3".bin');
    expect(failed[col('error_message')]).toBe("can't load \"model\", bad magic\nsecond line");
    expect(failed[col('error_code')]).toBe('MODEL_INVALID');
    expect(failed[col('encode_ms_median')]).toBe('');
    expect(table[1][col('encode_ms_median')]).toBe(String(encoderRow().encode_ms!.median));
    expect(table[1][col('flash_attn')]).toBe('true');
    expect(table[1][col('warnings')]).toBe('encode_ms: 1 statistical outlier, "odd", maybe caches');
    expect(table[4][col('mulmat_type')]).toBe('Q8_0');
  });

  it('has just a header without rows', () => {
    expect(formatRows([], 'csv')).toBe(COLUMNS.map((c) => c.name).join(',') + '\n');
  });
});

describe('formatRows sql', () => {
  it('writes literals', () => {
    expect(sqlLiteral(null)).toBe('NULL');
    expect(sqlLiteral(true)).toBe('1');
    expect(sqlLiteral(false)).toBe('0');
    expect(sqlLiteral(2.5)).toBe('2.5');
    expect(sqlLiteral(NaN)).toBe('NULL');
    expect(sqlLiteral("it's")).toBe("'it''s'");
  });

  it('creates the table and inserts one row per BenchRow', () => {
    const rows = sampleRows();
    const sql = formatRows(rows, 'sql');
    expect(sql.startsWith('CREATE TABLE IF NOT EXISTS bench (\n  what TEXT,\n')).toBe(true);
    for (const c of COLUMNS) expect(sql).toContain(`\n  ${c.name} ${c.type}`);
    expect(sql).toContain('  threads INTEGER,');
    expect(sql).toContain('  encode_ms_median REAL,');
    const inserts = sql.match(/^INSERT INTO bench \(what, model, .*?\) VALUES \(/gm) ?? [];
    expect(inserts).toHaveLength(rows.length);
    expect(sql).toContain("'can''t load \"model\", bad magic\nsecond line'");
    expect(sql).toContain("'MODEL_INVALID'");
    expect(sql.trimEnd().endsWith(');')).toBe(true);
    expect(formatRows([], 'sql')).not.toContain('INSERT');
  });

  it.skipIf(!hasSqlite)('loads into sqlite3 with the right types and values', () => {
    const rows = sampleRows();
    const msg = failedRow().error!.message;
    const query = [
      'SELECT count(*) FROM bench;',
      "SELECT hex(error_message) FROM bench WHERE error_code = 'MODEL_INVALID';",
      "SELECT DISTINCT typeof(threads), typeof(encode_ms_median), typeof(synthetic), flash_attn, encode_ms_n FROM bench WHERE what = 'encoder' AND error_code IS NULL;",
      "SELECT count(*) FROM bench WHERE encode_ms_median IS NULL;",
      "SELECT memcpy_gbps_median FROM bench WHERE what = 'memcpy';",
    ].join('\n');
    const out = execFileSync('sqlite3', ['-batch', ':memory:'], {
      input: formatRows(rows, 'sql') + formatRows(rows.slice(0, 1), 'sql') + query,
      encoding: 'utf8',
    })
      .trim()
      .split('\n');
    expect(out[0]).toBe(String(rows.length + 1));
    expect(out[1]).toBe(Buffer.from(msg, 'utf8').toString('hex').toUpperCase());
    expect(out[2]).toBe('integer|real|integer|1|5');
    expect(out[3]).toBe('3');
    expect(Number(out[4])).toBe(memcpyRow().memcpy_gbps!.median);
  });
});

describe('formatRows md', () => {
  it('has a header, a separator and one line per row, then the warnings', () => {
    const rows = sampleRows();
    const md = formatRows(rows, 'md');
    const lines = md.split('\n');
    const table = lines.filter((l) => l.startsWith('|'));
    expect(table).toHaveLength(2 + rows.length);
    expect(lines.slice(0, table.length)).toEqual(table);
    const header = table[0].split('|').map((s) => s.trim()).filter(Boolean);
    expect(header).toEqual([
      'model',
      'model_type',
      'ftype',
      'synthetic',
      'backend/device',
      'threads',
      'fa',
      'encode ms',
      'decode ms/tok',
      'batchd ms/tok',
      'prompt ms/tok',
      'load ms',
      'enc GFLOPS',
      'memcpy GB/s',
      'type',
      'size',
      'GFLOPS',
      'error',
    ]);
    expect(table[1]).toMatch(/^\| -+ \| -+ \|/);
    expect(table[1]).toContain('-: |');
    // every line of the table has the same width (padded)
    expect(new Set(table.map((l) => l.length)).size).toBe(1);
    const enc = encoderRow();
    expect(table[2]).toContain('ggml-base.en.bin');
    expect(table[2]).not.toContain('/models/');
    expect(table[2]).toContain(`${enc.encode_ms!.median.toFixed(2)} ± ${enc.encode_ms!.sd.toFixed(2)}`);
    expect(table[2]).toContain('| CPU ');
    expect(table[3]).toContain('CUDA/0');
    // a failed row ran on nothing: it shows the device it asked for, not one it claims
    expect(table[3]).toContain('| none (asked CUDA/0) |');
    // nor does it know whether its weights were synthetic: its model never loaded
    const cellOf = (line: string, title: string) => line.split('|')[table[0].split('|').findIndex((c) => c.trim() === title)].trim();
    expect(cellOf(table[2], 'synthetic')).toBe(enc.synthetic ? 'yes' : 'no');
    expect(cellOf(table[3], 'synthetic')).toBe('');
    expect(table[3]).toContain('MODEL_INVALID: can\'t load "model", bad magic second line');
    expect(table[4]).toContain('12.50 ± 0.25');
    expect(table[5]).toContain('Q8_0');
    expect(table[5]).toContain('|  256 |');
    expect(md).toContain('\nWarnings:\n\n- row 1 (ggml-base.en.bin, 2 threads): encode_ms: 1 statistical outlier');
  });

  it('makes columns only for the timings some row has', () => {
    const md = formatRows([memcpyRow()], 'md');
    const header = md.split('\n')[0];
    expect(header).toContain('memcpy GB/s');
    expect(header).not.toContain('encode ms');
    expect(header).not.toContain('model');
    expect(header).not.toContain('error');
    expect(md).not.toContain('Warnings');
    const onlyEncode = { ...encoderRow(), decode_ms: undefined, batchd_ms: undefined, prompt_ms: undefined };
    const h2 = formatRows([onlyEncode], 'md').split('\n')[0];
    expect(h2).toContain('encode ms');
    expect(h2).not.toContain('decode');
  });

  it('escapes pipes', () => {
    const row = { ...encoderRow(), model: '/m/a|b.bin', warnings: [], encode_ms: summarize([1, 2, 3]) };
    expect(formatRows([row], 'md')).toContain('a\\|b.bin');
  });
});
