// The service's metrics on prom-client: its own counters, gauges and histograms in a registry of
// its own (one per service, so tests can run several in one process), plus prom-client's default
// metrics (process CPU, memory and file descriptors, Node.js heap, GC and event-loop lag) under
// the names stock Node.js dashboards expect.
import client from 'prom-client';

const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/**
 * Builds the registry and the service's metrics. `read` gives the gauges read at scrape time.
 * @param {{ queueDepth: () => number, inFlight: () => number, transcribing: () => number }} read
 */
export function createMetrics(read) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const m = {
    requests: new client.Counter({ name: 'whisper_service_requests_total', help: 'HTTP requests answered, by route, method and status (499: the client went away first)', labelNames: ['route', 'method', 'status'], registers }),
    errors: new client.Counter({ name: 'whisper_service_errors_total', help: 'Error answers by error code', labelNames: ['code'], registers }),
    duration: new client.Histogram({ name: 'whisper_service_request_duration_seconds', help: 'Time from the request to its answer, by route', labelNames: ['route'], buckets: DURATION_BUCKETS, registers }),
    whisper: new client.Histogram({ name: 'whisper_service_transcribe_duration_seconds', help: 'Time of whisper.cpp transcriptions that completed', buckets: DURATION_BUCKETS, registers }),
    transcriptions: new client.Counter({ name: 'whisper_service_transcriptions_total', help: 'whisper.cpp transcriptions started, by outcome (ok, aborted, failed)', labelNames: ['outcome'], registers }),
    aborts: new client.Counter({ name: 'whisper_service_aborts_total', help: 'whisper.cpp transcriptions aborted through their signal, by reason (client, timeout, shutdown)', labelNames: ['reason'], registers }),
    audio: new client.Counter({ name: 'whisper_service_audio_seconds_total', help: 'Seconds of audio transcribed', registers }),
    shed: new client.Counter({ name: 'whisper_service_shed_total', help: 'Requests refused under memory or event-loop pressure, by what was over its limit', labelNames: ['reason'], registers }),
    queue: gauge('whisper_service_queue_depth', 'Requests waiting for a transcriber', read.queueDepth),
    inFlight: gauge('whisper_service_in_flight', 'Requests in a transcription handler: reading, decoding, waiting, transcribing or answering', read.inFlight),
    busy: gauge('whisper_service_transcribing', 'whisper.cpp transcriptions running now', read.transcribing),
    info: new client.Gauge({ name: 'whisper_service_model_info', help: 'The model loaded (value 1)', labelNames: ['path', 'type', 'ftype', 'synthetic', 'threads', 'max_concurrent'], registers }),
  };
  return { registry, m };

  function gauge(name, help, value) {
    return new client.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  }
}

/**
 * Parses exposition text back into `{ 'name{labels}': value }` with the labels sorted by name (for
 * tests and the load test: it reads the lines prom-client writes, not every corner of the format).
 */
export function parseMetrics(text) {
  /** @type {Record<string, number>} */
  const out = {};
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const v = line.slice(sp + 1);
    out[sortLabels(line.slice(0, sp))] = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
  }
  return out;
}

/** `name{b="2",a="1"}` → `name{a="1",b="2"}` (values hold no `",` here: paths, codes, numbers). */
function sortLabels(series) {
  const open = series.indexOf('{');
  if (open < 0) return series;
  const pairs = series.slice(open + 1, -1).match(/[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*"/g) ?? [];
  return `${series.slice(0, open)}{${pairs.sort().join(',')}}`;
}
