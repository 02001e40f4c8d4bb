/** whisper-perf/report: output formats, store reports and the HTML page, comparisons of stored runs, transcripts as text, SRT and VTT. */
export { formatRows } from '../guarded.js';
export { reportHtml } from '../report/html.js';
export { buildViews, renderViews, VIEWS, type ViewName, type ReportTable, type ReportData } from '../report/views.js';
export { compareRows, betweenRunSpread, type CompareSide, type CompareOptions, type Comparison, type MetricComparison, type Verdict, type RunSpread } from '../report/compare.js';
export { comparisonMarkdown, comparisonCsv } from '../report/compare-format.js';
export { summarizeRtf, type RtfSummary, type RtfConfiguration, type RtfThreadsGroup } from '../report/rtf.js';
export { qualityMarkdown, QUALITY_COLUMNS } from '../report/quality.js';
export { toTxt, toSrt, toVtt, formatSegments, TRANSCRIPT_FORMATS, type TranscriptFormat } from '../report/transcript.js';
