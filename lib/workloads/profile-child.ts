/**
 * The process a profiler watches (profile.ts): loads a model, prepares the scenario, then runs it
 * between "enable" and "disable" on perf's control FIFO (when WHISPER_PERF_PROFILE_CTL names
 * one), so that perf counts the scenario and not Node's start or the model load. Prints one JSON
 * line with the scenario's own timing on stdout.
 *
 *   node profile-child.js '{"model":"m.bin","what":"encode","threads":2,"repeat":1}'
 */
import { closeSync, openSync, readSync, writeSync } from 'node:fs';

import { loadAudio } from '../audio/load.js';
import { testSignal } from '../audio/generate.js';
import { loadModel } from '../model/model.js';

export interface ProfileChildConfig {
  model: string;
  what: 'encode' | 'decode' | 'transcribe' | 'load';
  threads: number;
  repeat: number;
  file?: string;
}

/** Sends a command to perf through its control FIFO and waits for perf's "ack". */
function control(command: 'enable' | 'disable'): void {
  const ctl = process.env.WHISPER_PERF_PROFILE_CTL;
  const ack = process.env.WHISPER_PERF_PROFILE_ACK;
  if (!ctl || !ack) return;
  const w = openSync(ctl, 'w');
  writeSync(w, `${command}\n`);
  closeSync(w);
  const r = openSync(ack, 'r');
  const buf = Buffer.alloc(16);
  let got = '';
  // perf answers "ack\n"; a read of 0 bytes means the writer went away
  while (!got.includes('ack')) {
    const n = readSync(r, buf, 0, buf.length, null);
    if (n <= 0) break;
    got += buf.toString('utf8', 0, n);
  }
  closeSync(r);
}

/** Runs `once` repeat times between perf's enable and disable; prints the scenario's line. */
async function counted(cfg: ProfileChildConfig, info: { type: string; synthetic: boolean }, once: () => Promise<number>, after?: () => Promise<void>): Promise<void> {
  control('enable');
  const t0 = performance.now();
  const runs: number[] = [];
  for (let i = 0; i < cfg.repeat; i++) runs.push(await once());
  const wall = performance.now() - t0;
  control('disable');
  await after?.();
  process.stdout.write(JSON.stringify({ scenario_wall_ms: wall, runs_ms: runs, model_type: info.type, synthetic: info.synthetic }) + '\n');
}

async function main(cfg: ProfileChildConfig): Promise<void> {
  const model = await loadModel(cfg.model, { useGpu: false });
  if (cfg.what === 'load') {
    // the model loaded and freed, repeat times; this first load stays outside the count (a heat-up of the file cache)
    await model.dispose();
    return counted(cfg, model.info, async () => {
      const m = await loadModel(cfg.model, { useGpu: false });
      await m.dispose();
      return m.loadMs;
    });
  }
  const pcm = cfg.file ? (await loadAudio(cfg.file)).pcm : testSignal(30);
  const t = cfg.threads;
  // preparation, outside the counted part
  if (cfg.what !== 'transcribe') await model.computeMel(testSignal(30), { threads: t });
  if (cfg.what === 'decode') await model.encode({ threads: t });
  await counted(
    cfg,
    model.info,
    async () => {
      if (cfg.what === 'encode') return (await model.benchWorkload({ threads: t, heat: 0, nEncode: 1, nDecode: 0, nBatch: 0, nPrompt: 0 })).wallTotalMs.encode;
      if (cfg.what === 'decode') return (await model.benchWorkload({ threads: t, heat: 0, nEncode: 0, nDecode: 256, nBatch: 0, nPrompt: 0 })).wallTotalMs.decode;
      return (await model.transcribe(pcm, { threads: t, temperatureInc: 0 })).ms;
    },
    () => model.dispose(),
  );
}

if (process.argv[2]) {
  main(JSON.parse(process.argv[2]) as ProfileChildConfig).catch((e: unknown) => {
    process.stderr.write(`profile child: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  });
}
