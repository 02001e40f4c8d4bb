import { describe, expect, it } from 'vitest';

import { chartSpecs, reportHtml } from '../../lib/report/html.js';
import { buildViews, DEFAULT_VIEWS, renderViews, type ReportTable } from '../../lib/report/views.js';
import { reportData } from '../fixtures/report.js';

const view = (name: Parameters<typeof buildViews>[1][number], metric?: string): ReportTable => buildViews(reportData(), [name], { metric })[0];
const col = (t: ReportTable, name: string) => t.rows.map((r) => r[t.columns.indexOf(name)]);

describe('report views', () => {
  it('runs: one line per run with its tags, commit and result count', () => {
    const t = view('runs');
    expect(col(t, 'run')).toEqual([1, 2, 3]);
    expect(col(t, 'tags')).toEqual(['nightly', 'nightly', '']);
    expect(col(t, 'commit')).toEqual(['aaaa111111', 'bbbb222222', 'cccc333333']);
    expect(col(t, 'results')).toEqual([4, 2, 3]);
  });

  it('fastest: per model the stored cell with the lowest encode median; failed cells left out', () => {
    const t = view('fastest');
    expect(col(t, 'model')).toEqual(['ggml-base.bin', 'ggml-tiny.bin']);
    expect(col(t, 'threads')).toEqual([2, 4]);
    expect(col(t, 'encode_ms')).toEqual([400, 100]);
    expect(col(t, 'cells')).toEqual([1, 4]);
  });

  it('threads: samples pooled over runs per thread count, best thread count, speed-up and knee', () => {
    const t = view('threads');
    const tiny = t.rows[col(t, 'model').indexOf('ggml-tiny.bin')];
    const get = (k: string) => tiny[t.columns.indexOf(k)];
    expect(get('threads_measured')).toBe('1,2,4');
    expect(get('best_threads')).toBe(4);
    expect(get('encode_ms')).toBe(100);
    expect(get('speedup')).toBe(2);
    expect(get('efficiency')).toBe(0.5);
    // 2 → 4 threads gains under 10% over the pooled 2-thread median (107.5): the knee is 2
    expect(get('knee')).toBe(2);
  });

  it('rtf: mean and best RTF per model, preset and threads', () => {
    const t = view('rtf');
    expect(t.rows.map((r) => [r[0], r[2], r[4], r[5]])).toEqual([
      ['ggml-base.bin', 2, 0.31, 0.3],
      ['ggml-tiny.bin', 1, 0.21, 0.2],
      ['ggml-tiny.bin', 2, 0.12, 0.11],
    ]);
  });

  it('stages, memory and history', () => {
    const st = view('stages');
    expect(st.columns).toEqual(['model', 'device', 'fa', 'threads', 'load_ms', 'mel_ms', 'encode_ms', 'decode_ms', 'batchd_ms', 'prompt_ms', 'cells']);
    const tiny2 = st.rows.find((r) => r[0] === 'ggml-tiny.bin' && r[3] === 2)!;
    expect(tiny2[6]).toBe(107.5); // pooled median of 110,111,109,105,106,104
    expect(tiny2[10]).toBe(2);
    const mem = view('memory');
    expect(mem.rows.find((r) => r[0] === 'ggml-tiny.bin')!.slice(1, 3)).toEqual([6, 330]); // 4 encoder and 2 rtf cells
    const h = view('history', 'rtf');
    expect(h.title).toBe('History of rtf');
    expect(col(h, 'rtf')).toEqual([0.21, 0.12, 0.31]);
    expect(col(view('history'), 'run')).toEqual([1, 1, 1, 1, 2, 3, 3, 3]); // the rtf fixture rows carry encode_ms too
  });

  it('renders md sections, json objects and one csv table', () => {
    const d = reportData();
    const md = renderViews(buildViews(d, DEFAULT_VIEWS), 'md');
    for (const title of ['## Runs', '## Fastest configuration per model', '## Best thread count per model', '## Real-time factor', '## Stage breakdown', '## Memory per model', '## History of encode_ms']) expect(md).toContain(title);
    const json = JSON.parse(renderViews(buildViews(d, ['fastest', 'rtf']), 'json')) as Record<string, Record<string, unknown>[]>;
    expect(Object.keys(json)).toEqual(['fastest', 'rtf']);
    expect(json.fastest[0]).toMatchObject({ model: 'ggml-base.bin', encode_ms: 400 });
    const csv = renderViews(buildViews(d, ['results']), 'csv').trim().split('\n');
    expect(csv[0]).toMatch(/^run,seq,started,host,tags,commit,what,model,threads,device,fa,file,preset,native,load_ms,encode_ms,/);
    expect(csv).toHaveLength(10);
    expect(csv[0]).toContain('rtf');
    expect(csv[0]).toContain('peak_rss_mb');
    expect(() => renderViews(buildViews(d, ['runs', 'fastest']), 'csv')).toThrow(/one table/);
  });

  it('an empty selection prints each view as empty, not an error', () => {
    const md = renderViews(buildViews({ runs: [], results: [] }, DEFAULT_VIEWS), 'md');
    expect(md).toContain('(no runs)');
    expect(md).toContain('(no results for this view)');
  });
});

describe('report --html: the page', () => {
  it('has every chart the data allows, the library inlined and nothing fetched', () => {
    const d = reportData();
    const { charts, missing } = chartSpecs(d);
    expect(charts.map((c) => c.id)).toEqual(['scaling', 'stages', 'rtf', 'memory', 'history', 'quality']);
    expect(missing).toEqual([]);
    const html = reportHtml(d, { subtitle: 'test' });
    expect(html).toMatch(/^<!doctype html>/);
    expect(html.length).toBeGreaterThan(150_000); // Chart.js is in the page
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)[^"' )]*\.(js|css)/i);
    for (const c of charts) expect(html).toContain(`id="chart-${c.id}"`);
  });

  it('leaves out a chart without data and says so', () => {
    const d = reportData();
    d.results = d.results.filter((r) => r.row.what === 'encoder');
    const { charts, missing } = chartSpecs(d);
    expect(charts.map((c) => c.id)).toEqual(['scaling', 'stages', 'memory', 'history']);
    expect(missing.join('; ')).toMatch(/no rtf results.*no WER results/);
    expect(reportHtml(d)).toContain('Not drawn: RTF by model and threads (no rtf results)');
  });

  it('text from the store cannot break out of the page', () => {
    const d = reportData();
    (d.results[0].row as Record<string, unknown>).model = '/m/</script><script>alert(1)</script>.bin';
    d.runs[0].tags = ['<b>x</b>'];
    const html = reportHtml(d);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).not.toContain('<b>x</b>');
  });
});
