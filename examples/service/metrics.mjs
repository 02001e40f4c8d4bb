// A minimal Prometheus registry: counters, gauges and histograms with labels, rendered in the
// text exposition format (version 0.0.4). Enough for one service; no dependency.

/** Escapes a label value as the exposition format asks (backslash, double quote, newline). */
function escapeLabel(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="2"}` for a label object, '' for none. Keys are sorted so one series has one key. */
function labelText(labels) {
  const keys = Object.keys(labels).sort();
  if (keys.length === 0) return '';
  return '{' + keys.map((k) => `${k}="${escapeLabel(labels[k])}"`).join(',') + '}';
}

/** A number as Prometheus writes it: +Inf, -Inf, NaN, or the shortest decimal. */
function num(v) {
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

class Metric {
  /** @param {string} name @param {string} help @param {string} type */
  constructor(name, help, type) {
    this.name = name;
    this.help = help;
    this.type = type;
    /** @type {Map<string, { labels: Record<string, string>, value: any }>} */
    this.series = new Map();
  }

  _get(labels, init) {
    const key = labelText(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: init() };
      this.series.set(key, s);
    }
    return s;
  }

  header() {
    return `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n`;
  }
}

/** A metric with one number per series: a counter or a gauge. */
class Scalar extends Metric {
  /** @param {Record<string, string | number>} [labels] @param {number} [by] */
  inc(labels = {}, by = 1) {
    this._get(labels, () => 0).value += by;
  }
  /** The current value of one series (0 when it has none yet). */
  get(labels = {}) {
    return this.series.get(labelText(labels))?.value ?? 0;
  }
  render() {
    let out = this.header();
    for (const s of this.series.values()) out += `${this.name}${labelText(s.labels)} ${num(s.value)}\n`;
    return out;
  }
}

export class Counter extends Scalar {
  constructor(name, help) {
    super(name, help, 'counter');
  }
}

export class Gauge extends Scalar {
  /** @param {string} name @param {string} help @param {() => number} [collect] read at render time */
  constructor(name, help, collect) {
    super(name, help, 'gauge');
    this.collect = collect;
  }
  set(value, labels = {}) {
    this._get(labels, () => 0).value = value;
  }
  dec(labels = {}, by = 1) {
    this.inc(labels, -by);
  }
  render() {
    if (this.collect) this.set(this.collect());
    return super.render();
  }
}

export class Histogram extends Metric {
  /** @param {string} name @param {string} help @param {number[]} buckets upper bounds, ascending */
  constructor(name, help, buckets) {
    super(name, help, 'histogram');
    this.buckets = [...buckets].sort((a, b) => a - b);
  }
  observe(value, labels = {}) {
    const s = this._get(labels, () => ({ counts: new Array(this.buckets.length).fill(0), sum: 0, count: 0 }));
    for (let i = 0; i < this.buckets.length; i++) if (value <= this.buckets[i]) s.value.counts[i]++;
    s.value.sum += value;
    s.value.count++;
  }
  /** Observations of one series so far. */
  count(labels = {}) {
    return this.series.get(labelText(labels))?.value.count ?? 0;
  }
  render() {
    let out = this.header();
    for (const s of this.series.values()) {
      // bucket counts are cumulative already: each observation was counted in every bucket it fits
      this.buckets.forEach((le, i) => {
        out += `${this.name}_bucket${labelText({ ...s.labels, le: num(le) })} ${s.value.counts[i]}\n`;
      });
      out += `${this.name}_bucket${labelText({ ...s.labels, le: '+Inf' })} ${s.value.count}\n`;
      out += `${this.name}_sum${labelText(s.labels)} ${num(s.value.sum)}\n`;
      out += `${this.name}_count${labelText(s.labels)} ${s.value.count}\n`;
    }
    return out;
  }
}

export class Registry {
  constructor() {
    /** @type {Metric[]} */
    this.metrics = [];
  }
  /** @template {Metric} M @param {M} m @returns {M} */
  add(m) {
    this.metrics.push(m);
    return m;
  }
  /** The whole registry in the text exposition format. */
  render() {
    return this.metrics.map((m) => m.render()).join('');
  }
}

/** Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * Parses exposition text back into `{ 'name{labels}': value }` (for tests and the load test:
 * it reads only what Registry writes, not every corner of the format).
 */
export function parseMetrics(text) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const v = line.slice(sp + 1);
    out[line.slice(0, sp)] = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
  }
  return out;
}
