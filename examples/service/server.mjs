#!/usr/bin/env node
// The service from the command line:
//   node examples/service/server.mjs --model ggml-base.en.bin --port 8080 --threads 4
// Prints its address on stdout (one line) once it listens; logs go to stderr. SIGTERM or SIGINT
// shuts it down gracefully and it exits 0.
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { createService } from './service.mjs';

const HELP = `usage: node examples/service/server.mjs [options]

  --model PATH            ggml model (env WHISPER_SERVICE_MODEL; default: the synthetic tiny.en)
  --host HOST             address to listen on (default 127.0.0.1)
  --port N                port, 0 for any free one (env PORT; default 8080)
  --threads N             compute threads per transcription (default: min(4, cores) / max-concurrent)
  --max-concurrent N      transcriptions at once, one whisper state each (default 1)
  --max-waiting N         requests waiting before 503 QUEUE_FULL (default 16)
  --timeout-ms N          per request: decode, wait and transcription (default 60000) → 504 TIMEOUT
  --max-body-bytes N      largest upload (default 26214400) → 413 PAYLOAD_TOO_LARGE
  --max-audio-seconds N   longest audio (default 600) → 413 AUDIO_TOO_LONG
  --upload-timeout-ms N   time to send the whole request (default 30000) → 408 REQUEST_TIMEOUT
  --grace-ms N            shutdown: time for transcriptions in flight (default 10000)
  --max-field-bytes N     largest form field of a multipart request (default 16384) → 413 FIELD_TOO_LARGE
  --max-event-loop-delay-ms N   shed transcription requests (503 OVERLOADED) while the event loop
                          lags more (default 1000; 0: off)
  --max-event-loop-utilization X  ... while the event loop is busier than X, 0-1 (default 0: off)
  --max-heap-bytes N      ... while the V8 heap holds more (default 0: off)
  --max-rss-bytes N       ... while the resident set is larger (default 0: off)
  --model-name NAME       the model name OpenAI's route answers with (default: the model file's name)
  --max-tokens N          tokens per segment (default 32; 0: no limit)
  --audio-ctx N           encoder context, 0 = full 1500 frames (default 0)
  --language CODE         (default en)
  --no-ffmpeg             accept WAV and raw PCM only
  --quiet                 no request log
  -h, --help
`;

const INT_OPTIONS = {
  threads: 'threads',
  'max-concurrent': 'maxConcurrent',
  'max-waiting': 'maxWaiting',
  'timeout-ms': 'timeoutMs',
  'max-body-bytes': 'maxBodyBytes',
  'max-audio-seconds': 'maxAudioSeconds',
  'upload-timeout-ms': 'uploadTimeoutMs',
  'grace-ms': 'graceMs',
  'max-field-bytes': 'maxFieldBytes',
  'max-event-loop-delay-ms': 'maxEventLoopDelayMs',
  'max-heap-bytes': 'maxHeapBytes',
  'max-rss-bytes': 'maxRssBytes',
};
/** options where 0 is allowed (a queue of none; a pressure check turned off) */
const ZERO_OK = new Set(['max-waiting', 'max-event-loop-delay-ms', 'max-heap-bytes', 'max-rss-bytes']);

/** Parses the command line into createService options, or throws a usage message. */
export function parseCommandLine(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      port: { type: 'string', default: process.env.PORT ?? '8080' },
      ...Object.fromEntries(Object.keys(INT_OPTIONS).map((k) => [k, { type: 'string' }])),
      'max-tokens': { type: 'string' },
      'max-event-loop-utilization': { type: 'string' },
      'model-name': { type: 'string' },
      'audio-ctx': { type: 'string' },
      language: { type: 'string' },
      'no-ffmpeg': { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  const int = (name, min) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name}: ${JSON.stringify(values[name])} is not an integer ≥ ${min}`);
    return v;
  };
  const options = {
    model: values.model ?? process.env.WHISPER_SERVICE_MODEL,
    ffmpeg: !values['no-ffmpeg'],
    transcribe: {},
    logger: values.quiet ? false : { level: 'info', stream: process.stderr },
  };
  for (const [flag, key] of Object.entries(INT_OPTIONS)) if (values[flag] !== undefined) options[key] = int(flag, ZERO_OK.has(flag) ? 0 : 1);
  if (values['max-event-loop-utilization'] !== undefined) {
    const v = Number(values['max-event-loop-utilization']);
    if (!(v >= 0 && v <= 1) || values['max-event-loop-utilization'].trim() === '') throw new Error(`--max-event-loop-utilization: ${JSON.stringify(values['max-event-loop-utilization'])} is not a number from 0 to 1`);
    options.maxEventLoopUtilization = v;
  }
  if (values['model-name'] !== undefined) options.modelName = values['model-name'];
  if (values['max-tokens'] !== undefined) options.transcribe.maxTokens = int('max-tokens', 0);
  if (values['audio-ctx'] !== undefined) options.transcribe.audioCtx = int('audio-ctx', 0);
  if (values.language !== undefined) options.transcribe.language = values.language;
  return { help: values.help, host: values.host, port: int('port', 0), options };
}

export async function main(argv = process.argv.slice(2)) {
  let cmd;
  try {
    cmd = parseCommandLine(argv);
  } catch (e) {
    process.stderr.write(`${e.message}\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (cmd.help) {
    process.stdout.write(HELP);
    return;
  }
  const log = (msg) => process.stderr.write(`[whisper-service] ${msg}\n`);
  const service = await createService(cmd.options);
  const { model } = service;
  log(`model ${model.info.path} (${model.info.type}${model.info.synthetic ? ', synthetic' : ''}) loaded in ${model.loadMs.toFixed(0)} ms; ` +
    `${service.options.maxConcurrent} transcriber(s) × ${service.options.threads} thread(s), queue ${service.options.maxWaiting}`);
  const address = await service.app.listen({ host: cmd.host, port: cmd.port });
  process.stdout.write(`${address}\n`);

  const onSignal = async (signal) => {
    log(`${signal}: shutting down (grace ${service.options.graceMs} ms)`);
    // a second signal does not wait any more
    process.once(signal, () => {
      log(`${signal} again: exiting now`);
      process.exit(1);
    });
    try {
      await service.close();
      log('model disposed; bye');
      // the event loop ends by itself once everything is closed; if something still holds it, say so
      setTimeout(() => {
        log('still alive 5 s after shutdown: exiting');
        process.exit(1);
      }, 5000).unref();
    } catch (e) {
      log(`shutdown failed: ${e.stack ?? e}`);
      process.exit(1);
    }
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e) => {
    process.stderr.write(`[whisper-service] ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    process.exitCode = 1;
  });
}
