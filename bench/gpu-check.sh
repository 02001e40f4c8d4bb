#!/usr/bin/env bash
# CPU against GPU on a machine with an NVIDIA GPU and a CUDA toolkit with cuBLAS, within a time
# budget (default 10 minutes for everything, the build included):
#
#   1. checks the machine: nvidia-smi, nvcc, cuBLAS, the GPU's compute capability;
#   2. builds the CUDA variant of the addon into build-cuda/ (one CUDA architecture, the GPU's own,
#      all cores), unless build-cuda/ already holds a CUDA build;
#   3. writes synthetic tiny, base and small models (real shapes, random weights) into the cache;
#   4. runs `whisper-perf bench --build cuda --device cpu,0` per model, smallest first (the same
#      binary on the CPU and on the GPU; the GPU monitor samples utilisation, memory, temperature
#      and power while each GPU cell runs), skipping a model when the budget left cannot hold it;
#   5. writes rows.json (every row), results.md (the bench table and a CPU-vs-GPU summary),
#      gpu.txt, build.txt and log.txt into the results folder.
#
# usage: bench/gpu-check.sh [--out DIR] [--budget SECONDS] [--models tiny,base,small] [-r N]
#                           [--threads N] [--warmup N] [--no-build] [--cpu-only] [--dry-run]
#   --cpu-only  no GPU needed: the default build, CPU cells only (tests the script's other parts)
#   --dry-run   check the machine and print the plan; build and measure nothing
# Needs: `npm install` done (node_modules, vendor/whisper.cpp) and `npm run build` (dist/).
set -euo pipefail
cd "$(dirname "$0")/.."

start=$SECONDS
budget=600
out="bench/results/gpu-check-$(date -u +%Y%m%dT%H%M%SZ)"
models="tiny,base,small"
reps=3
warmup=1
threads="$(nproc)"
mode=gpu
dry=0
build=1

while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --budget) budget="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    -r|--repetitions) reps="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --cpu-only) mode=cpu; shift ;;
    --dry-run) dry=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu-check: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
case "$budget" in ''|*[!0-9]*) echo "gpu-check: --budget: a number of seconds" >&2; exit 2 ;; esac
case "$reps" in ''|*[!0-9]*|0) echo "gpu-check: -r: a number from 1" >&2; exit 2 ;; esac
case "$warmup" in ''|*[!0-9]*) echo "gpu-check: --warmup: a number from 0" >&2; exit 2 ;; esac
case "$threads" in ''|*[!0-9]*|0) echo "gpu-check: --threads: a number from 1" >&2; exit 2 ;; esac

left() { echo $(( budget - (SECONDS - start) )); }
log() { echo "[gpu-check +$(( SECONDS - start ))s] $*" >&2; }
fail() { log "error: $*"; exit 1; }

cli=(node dist/cli/main.js)
cache="${WHISPER_PERF_CACHE:-$HOME/.cache/whisper-perf}/synthetic"
# rough seconds a model's CPU + GPU cells take (generation included), to skip what cannot fit
need_for() { case "$1" in tiny*) echo 40 ;; base*) echo 70 ;; small*) echo 150 ;; medium*) echo 400 ;; *) echo 600 ;; esac; }

# ------------------------------------------------------------------ 1. the machine
problems=()
[ -f dist/cli/main.js ] || problems+=("dist/ is missing: run npm run build")
[ -d node_modules ] || problems+=("node_modules/ is missing: run npm install")
cuda_home=""
arch=""
gpu_line=""
if [ "$mode" = gpu ]; then
  if command -v nvidia-smi >/dev/null; then
    gpu_line="$(nvidia-smi --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader 2>/dev/null | head -1 || true)"
    [ -n "$gpu_line" ] || problems+=("nvidia-smi finds no GPU")
    cap="$(echo "$gpu_line" | awk -F', ' '{print $4}')"
    arch="${cap/./}"
  else
    problems+=("no nvidia-smi: not an NVIDIA machine (use --cpu-only)")
  fi
  # the toolkit: CUDA_HOME, /usr/local/cuda*, or where nvcc lives (/usr/local/bin/nvcc may be a wrapper)
  nvcc_path=""
  for d in "${CUDA_HOME:-}" "${CUDA_PATH:-}" /usr/local/cuda /usr/local/cuda-*; do
    [ -n "$d" ] && [ -x "$d/bin/nvcc" ] && { nvcc_path="$d/bin/nvcc"; break; }
  done
  [ -n "$nvcc_path" ] || nvcc_path="$(command -v nvcc || true)"
  if [ -n "$nvcc_path" ]; then
    cuda_home="$(dirname "$(dirname "$nvcc_path")")"
    export PATH="$cuda_home/bin:$PATH"
    ls "$cuda_home"/lib64/libcublas.so* "$cuda_home"/targets/*/lib/libcublas.so* /usr/lib/x86_64-linux-gnu/libcublas.so* >/dev/null 2>&1 ||
      problems+=("no cuBLAS in $cuda_home (the CUDA toolkit's libcublas; apt install cuda-libraries-dev or libcublas-dev)")
  else
    problems+=("no CUDA toolkit (nvcc not on PATH nor in /usr/local/cuda*)")
  fi
fi

build_name=cuda
devices="cpu,0"
if [ "$mode" = cpu ]; then build_name=default; devices=cpu; fi
have_cuda_build=0
if [ -f build-cuda/Release/whisper-perf-build.json ] && grep -q '"cuda"' build-cuda/Release/whisper-perf-build.json; then have_cuda_build=1; fi
build_cmd=(npm run build:native -- --cuda --out build-cuda -j "$(nproc)")
[ -n "$arch" ] && build_cmd+=("-DCMAKE_CUDA_ARCHITECTURES=$arch")

plan() {
  echo "gpu-check plan (mode $mode, budget ${budget}s, results in $out):"
  if [ "$mode" = gpu ]; then
    echo "  GPU: ${gpu_line:-none found}; CUDA: ${cuda_home:-none found}"
    if [ $build = 1 ] && [ $have_cuda_build = 0 ]; then echo "  build: ${build_cmd[*]}"; else echo "  build: reuse build-cuda/ (--no-build or already a CUDA build)"; fi
  fi
  IFS=, read -ra ms <<< "$models"
  for m in "${ms[@]}"; do
    echo "  model $m: ${cli[*]} models synth $m -o $cache/ggml-$m-f16-seed0.bin (when missing)"
    echo "           ${cli[*]} bench --build $build_name -m <it> --device $devices -t $threads -r $reps --warmup $warmup --quick -o json (about $(need_for "$m") s)"
  done
  echo "  outputs: rows.json, results.md, gpu.txt, build.txt, log.txt"
}

if [ $dry = 1 ]; then
  plan
  if [ ${#problems[@]} -gt 0 ]; then printf '  missing: %s\n' "${problems[@]}"; else echo "  machine: ready"; fi
  exit 0
fi
[ ${#problems[@]} -eq 0 ] || { printf 'gpu-check: %s\n' "${problems[@]}" >&2; exit 1; }

mkdir -p "$out"
exec 2> >(tee -a "$out/log.txt" >&2)
plan >&2
[ -n "$gpu_line" ] && { nvidia-smi > "$out/gpu.txt" 2>&1 || true; }

# ------------------------------------------------------------------ 2. the CUDA build
if [ "$mode" = gpu ] && [ $build = 1 ] && [ $have_cuda_build = 0 ]; then
  allow=$(( $(left) - $(need_for tiny) ))
  [ $allow -gt 30 ] || fail "no time left to build (budget ${budget}s)"
  log "building the CUDA variant (at most ${allow}s): ${build_cmd[*]}"
  timeout "$allow" "${build_cmd[@]}" >> "$out/log.txt" 2>&1 || fail "the CUDA build failed or ran out of time: see $out/log.txt"
fi
"${cli[@]}" builds --no-check > "$out/build.txt" || true

# ------------------------------------------------------------------ 3 + 4. models and runs
mkdir -p "$cache"
IFS=, read -ra ms <<< "$models"
files=()
skipped=()
for m in "${ms[@]}"; do
  need=$(need_for "$m")
  if [ "$(left)" -lt "$need" ]; then
    skipped+=("$m: $(left)s left, needs about ${need}s")
    log "skipping $m: $(left)s left, needs about ${need}s"
    continue
  fi
  model="$cache/ggml-$m-f16-seed0.bin"
  if [ ! -f "$model" ]; then
    log "writing synthetic $m"
    "${cli[@]}" models synth "$m" -o "$model.tmp.$$" >/dev/null && mv "$model.tmp.$$" "$model"
  fi
  log "bench $m on $devices ($(left)s left)"
  if timeout "$(( $(left) > 10 ? $(left) - 5 : 5 ))" "${cli[@]}" bench --build "$build_name" -m "$model" --device "$devices" -t "$threads" -r "$reps" --warmup "$warmup" --quick --no-progress -o json --out "$out/rows-$m.json"; then
    files+=("$out/rows-$m.json")
  else
    rc=$?
    [ -f "$out/rows-$m.json" ] && files+=("$out/rows-$m.json")
    log "bench $m exited with $rc"
    [ $rc = 124 ] && skipped+=("$m: stopped at the budget")
  fi
done

# ------------------------------------------------------------------ 5. the results
SKIPPED="$(printf '%s\n' "${skipped[@]+"${skipped[@]}"}")" node --input-type=module - "$out" "$mode" "${files[@]+"${files[@]}"}" <<'EOF'
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { formatRows } from './dist/index.js';
const [out, mode, ...files] = process.argv.slice(2);
const rows = files.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')));
writeFileSync(join(out, 'rows.json'), JSON.stringify(rows, null, 2) + '\n');
const med = (s) => (s && Number.isFinite(s.median) ? s.median : undefined);
const f = (x, d = 1) => (x === undefined ? '–' : x.toFixed(d));
const lines = ['| model | device that ran | encode ms | decode ms/tok | prompt ms/tok | peak RSS MB | CPU % | GPU util % mean/peak | GPU mem MiB peak | GPU W mean/peak | °C peak | encode speed-up vs CPU |', '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |'];
const cpuEnc = new Map(rows.filter((r) => !r.error && r.device === 'cpu').map((r) => [r.model, med(r.encode_ms)]));
for (const r of rows) {
  if (r.error) { lines.push(`| ${basename(r.model || '?')} | ${r.device} | error: ${r.error.code}: ${r.error.message.replace(/\|/g, '/')} | | | | | | | | | |`); continue; }
  const g = r.gpu ?? {};
  const speed = r.device !== 'cpu' && cpuEnc.get(r.model) && med(r.encode_ms) ? `${(cpuEnc.get(r.model) / med(r.encode_ms)).toFixed(1)}×` : '';
  lines.push(`| ${r.model_type} (${basename(r.model)}) | ${r.backend ?? r.device} | ${f(med(r.encode_ms))} | ${f(med(r.decode_ms), 2)} | ${f(med(r.prompt_ms), 3)} | ${f(r.peak_rss_mb, 0)} | ${f(r.cpu_pct, 0)} | ${g.util_pct ? `${f(g.util_pct.mean, 0)}/${f(g.util_pct.peak, 0)}` : '–'} | ${g.mem_used_mib ? f(g.mem_used_mib.peak, 0) : '–'} | ${g.power_w ? `${f(g.power_w.mean, 0)}/${f(g.power_w.peak, 0)}` : '–'} | ${g.temp_c ? f(g.temp_c.peak, 0) : '–'} | ${speed} |`);
}
const skipped = (process.env.SKIPPED ?? '').split('\n').filter(Boolean);
const first = rows.find((r) => !r.error);
const head = `# gpu-check (${mode})\n\n${first ? `${first.cpu_model}, ${first.cpu_cores} cores; whisper.cpp ${first.whisper_version}; build ${first.build?.variant} (${(first.build?.backends ?? []).join(', ')}); ${first.synthetic ? 'synthetic weights (timings real, transcripts meaningless)' : ''}` : 'no rows'}\n\n`;
const md = head + lines.join('\n') + '\n' + (skipped.length ? `\nSkipped:\n\n${skipped.map((s) => `- ${s}`).join('\n')}\n` : '') + '\n## Every row\n\n' + formatRows(rows, 'md');
writeFileSync(join(out, 'results.md'), md);
process.stdout.write(md);
EOF
log "done in $(( SECONDS - start ))s: $out/results.md, $out/rows.json"
