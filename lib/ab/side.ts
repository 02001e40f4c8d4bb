#!/usr/bin/env node
/**
 * The addon's side of `ab` and bench:parity, as a process of its own: a fresh one per block, so
 * that whatever a process brings with it (where its memory landed, the order it was started in) is
 * drawn anew in every block and averages out, instead of being fixed for a whole run.
 *
 * A process holds one slot, or several (`ab --processes shared`): each slot is a side's model with
 * its own build, threads, options and injected slowdown, loaded in the order the slots are named,
 * so that the sides of a block share one process and what it drew.
 *
 * It speaks the native driver's line protocol (bench/native-bench.cc): one command per line on
 * stdin, one JSON line per command on stdout. A command may start with @SLOT (default: the first).
 *   run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT  → the chunk's timings (model.benchWorkload)
 *   load                                                     → a fresh model: its load time, ms, and the OS thread it loaded on
 *   serve                                                    → served mode's traffic; the OS thread ids
 *   quit
 * It prints {"ready":true,"pid":…,"glibcTunables":…,"loadMs":…,"loadTid":…,"addonPath":…,"slots":{…}} once its models are loaded (and,
 * with --served, the first has served a transcription and the traffic once); the fields outside
 * `slots` are the first slot's.
 *
 * With --caller-thread every slot loads and computes on the process's main thread (blocking it):
 * the slots then share one OpenMP team, the team a process with one model has, where a compute
 * thread per model would give each its own (and two teams slow decode down), and whisper.cpp's
 * buffers come from the main thread's malloc arena, where a slot loading on a compute thread of its
 * own keeps that thread's arena, and its layout, from reload to reload.
 *
 * usage: node dist/ab/side.js [SLOT OPTIONS] [--slot NAME SLOT OPTIONS]… [--served] [--caller-thread]
 *   slot options: -m MODEL -t N [-nfa] [-ng] [--device N] [--addon FILE.node] [--inject F]
 * Options before the first --slot apply to every slot. Without --addon, WHISPER_PERF_ADDON picks the
 * build and the side refuses to run on any other (the loader would otherwise fall back to another
 * build without a word). With --inject F (default WHISPER_PERF_INJECT_SLOWDOWN) every measured call
 * of the slot is slowed by the fraction F (the calibration's side).
 */
import { pbkdf2 } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';

import { testSignal } from '../audio/generate.js';
import { benchWorkloadHere, loadThreadOf, Model } from '../model/model.js';
import { loadBindingAt, packageRoot, type BindingModule } from '../native.js';
import { buildInfo, buildInfoOf } from '../system.js';

const pbkdf2Async = promisify(pbkdf2);
const reply = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');

interface SlotSpec {
  name: string;
  model: string;
  threads: number;
  nfa: boolean;
  ng: boolean;
  device?: number;
  addon?: string;
  inject: number;
}
const USAGE = 'usage: node dist/ab/side.js [-m MODEL -t N [-nfa] [-ng] [--device N] [--addon FILE] [--inject F]] [--slot NAME SLOT OPTIONS]… [--served] [--caller-thread]\n';
const envInject = Number(process.env.WHISPER_PERF_INJECT_SLOWDOWN ?? 0);
const defaults: SlotSpec = { name: '', model: '', threads: NaN, nfa: false, ng: false, inject: envInject };
const specs: SlotSpec[] = [];
let served = false;
let callerThread = false;
let bad = false;
const argv = process.argv.slice(2);
for (let i = 0, cur = defaults; i < argv.length; i++) {
  const a = argv[i];
  const val = () => (i + 1 < argv.length ? argv[++i] : ((bad = true), ''));
  if (a === '--slot') specs.push((cur = { ...defaults, name: val() }));
  else if (a === '-m') cur.model = val();
  else if (a === '-t') cur.threads = Number(val());
  else if (a === '--device') cur.device = Number(val());
  else if (a === '--addon') cur.addon = val();
  else if (a === '--inject') cur.inject = Number(val());
  else if (a === '--served') served = true;
  else if (a === '--caller-thread') callerThread = true;
  else if (a === '-nfa') cur.nfa = true;
  else if (a === '-ng') cur.ng = true;
  else bad = true;
}
if (specs.length === 0) specs.push(defaults);
const okSlot = (s: SlotSpec) =>
  s.model !== '' && Number.isInteger(s.threads) && s.threads >= 1 && (s.device === undefined || (Number.isInteger(s.device) && s.device >= 0)) && s.inject >= 0 && s.inject < 1;
if (bad || !specs.every(okSlot) || new Set(specs.map((s) => s.name)).size !== specs.length || (served && (specs.length > 1 || callerThread))) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const pcm = testSignal(5);

/** A slot: its model, and the build it runs on. */
interface Slot {
  spec: SlotSpec;
  binding?: BindingModule;
  model: Model;
}

// a GPU index only when one was named: with none, the loader's own default (and no GPU build is fine)
const loadOpts = (s: SlotSpec) => ({ flashAttn: !s.nfa, useGpu: !s.ng, ...(s.device !== undefined ? { gpuDevice: s.device } : {}) });
const loadSlot = (s: SlotSpec, binding?: BindingModule) => Model.load(s.model, loadOpts(s), binding, callerThread);

/**
 * Traffic a served model sees: mel, encode and decodes issued while every libuv pool thread is
 * busy with unrelated work (file reads, pbkdf2), as in a service. Returns the compute thread ids.
 */
async function serveTraffic(model: Model, threads: number): Promise<number[]> {
  const busy: Promise<unknown>[] = [
    ...Array.from({ length: 8 }, () => fsp.readFile(resolve(packageRoot, 'package.json'))),
    ...Array.from({ length: 4 }, () => pbkdf2Async('x', 'y', 20000, 32, 'sha256')),
  ];
  const tids = new Set<number>();
  tids.add((await model.computeMel(pcm, { threads })).tid);
  tids.add((await model.encode({ threads })).tid);
  for (let i = 0; i < 4; i++) {
    busy.push(fsp.stat(packageRoot));
    tids.add((await model.decode([0], i, { threads })).tid);
  }
  await model.timings();
  await Promise.all(busy);
  return [...tids];
}

async function main(): Promise<void> {
  const slots = new Map<string, Slot>();
  const info: Record<string, Record<string, unknown>> = {};
  const wanted = process.env.WHISPER_PERF_ADDON;
  for (const spec of specs) {
    const addon = spec.addon ? resolve(spec.addon) : undefined;
    const binding = addon ? loadBindingAt(addon) : undefined;
    const model = await loadSlot(spec, binding);
    const b = binding ? buildInfoOf(binding, addon!) : buildInfo();
    if (!binding && wanted && resolve(wanted) !== b.addonPath) {
      throw new Error(`asked for the addon ${resolve(wanted)} but ${b.addonPath} loaded`);
    }
    slots.set(spec.name, { spec, binding, model });
    info[spec.name] = {
      loadMs: model.loadMs,
      loadTid: loadThreadOf(model),
      addonPath: b.addonPath,
      variant: b.variant,
      whisperVersion: b.whisperVersion,
      pin: `${b.pin.package}@${b.pin.version}`,
      backends: b.backends,
    };
  }
  const first = slots.get(specs[0].name)!;
  const ready: Record<string, unknown> = { ready: true, pid: process.pid, glibcTunables: process.env.GLIBC_TUNABLES ?? '', ...info[specs[0].name], slots: info };
  if (served) {
    const threads = first.spec.threads;
    const t = await first.model.transcribe(testSignal(3), { threads, maxTokens: 8, noFallback: true, singleSegment: true });
    ready.tids = [...new Set([t.tid, ...(await serveTraffic(first.model, threads))].filter((x) => typeof x === 'number'))];
  }
  reply(ready);

  for await (const line of createInterface({ input: process.stdin })) {
    const words = line.trim().split(/\s+/);
    try {
      const slot = words[0]?.startsWith('@') ? slots.get(words.shift()!.slice(1)) : first;
      if (!slot) throw new Error(`unknown slot in ${JSON.stringify(line.trim())}`);
      const [cmd, ...args] = words;
      const { spec } = slot;
      if (cmd === 'quit') break;
      if (cmd === 'run') {
        const n = args.map(Number);
        if (n.length !== 6 || !n.every((x) => Number.isInteger(x) && x >= 0)) throw new Error('usage: run HEAT HEAT_DECODES N_ENCODE N_DECODE N_BATCH N_PROMPT');
        const [heat, heatDecodes, nEncode, nDecode, nBatch, nPrompt] = n;
        // the addon reads the injection at each bench call (binding/model.cc): this slot's own
        if (spec.inject > 0) process.env.WHISPER_PERF_INJECT_SLOWDOWN = String(spec.inject);
        else delete process.env.WHISPER_PERF_INJECT_SLOWDOWN;
        const o = { threads: spec.threads, heat, heatDecodes, nEncode, nDecode, nBatch, nPrompt };
        const r = await (callerThread ? benchWorkloadHere(slot.model, o) : slot.model.benchWorkload(o));
        if (spec.inject > 0 ? !(r.injected > 0) : r.injected !== 0) throw new Error(`the addon did not apply the injected slowdown of ${spec.inject} (it applied ${r.injected})`);
        reply(r);
      } else if (cmd === 'load') {
        await slot.model.dispose();
        slot.model = await loadSlot(spec, slot.binding);
        reply({ loadMs: slot.model.loadMs, loadTid: loadThreadOf(slot.model) });
      } else if (cmd === 'serve') {
        reply({ tids: await serveTraffic(slot.model, spec.threads) });
      } else if (cmd) {
        throw new Error(`unknown command ${JSON.stringify(cmd)}`);
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      reply({ error: `${err?.code ? err.code + ': ' : ''}${err?.message ?? e}` });
    }
  }
  for (const s of slots.values()) await s.model.dispose();
}

main().catch((e) => {
  const err = e as { code?: string; message?: string };
  reply({ error: `${err?.code ? err.code + ': ' : ''}${err?.message ?? e}` });
  process.exitCode = 1;
});
