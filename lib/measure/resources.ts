/**
 * Memory and CPU of a measured cell: peak RSS (sampled while the cell runs, and the OS's own
 * high-water mark from /proc/self/status where it can be reset) and CPU use (process CPU time
 * over wall time: 190% on 2 threads means both busy).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface ResourceFigures {
  /** highest resident set size seen during the cell, MB (10^6 bytes) */
  peak_rss_mb: number;
  /** process CPU time / wall time during the cell, percent (100 = one core busy) */
  cpu_pct: number;
  /** wall time the monitor ran, ms */
  wall_ms: number;
  /** process CPU time during the cell, ms */
  cpu_ms: number;
  /** how the peak was taken: 'hwm' (the kernel's VmHWM, reset for the cell) or 'sampled' */
  peak_source: 'hwm' | 'sampled';
}

export interface ResourceMonitor {
  /** stops sampling and returns the cell's figures */
  stop(): ResourceFigures;
}

/** Resets the kernel's peak-RSS mark for this process (Linux ≥ 4.0: write 5 to clear_refs); false where not allowed. */
function resetHighWaterMark(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

function highWaterMarkBytes(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

/**
 * Starts measuring a cell: samples RSS every `intervalMs` (default 20) on the JavaScript thread
 * (the work runs on native threads, so the timer keeps firing) and reads the kernel's high-water
 * mark at the end when it could be reset at the start.
 */
export function startResourceMonitor(intervalMs = 20): ResourceMonitor {
  const hwm = resetHighWaterMark();
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const r = process.memoryUsage.rss();
    if (r > peak) peak = r;
  }, intervalMs);
  timer.unref();
  let done: ResourceFigures | undefined;
  return {
    stop(): ResourceFigures {
      if (done) return done;
      clearInterval(timer);
      const wall = performance.now() - t0;
      const cpu = cpuMs(process.cpuUsage(cpu0));
      const now = process.memoryUsage.rss();
      if (now > peak) peak = now;
      const mark = hwm ? highWaterMarkBytes() : undefined;
      const peakBytes = mark !== undefined ? Math.max(peak, mark) : peak;
      done = {
        peak_rss_mb: Math.round(peakBytes / 1e5) / 10,
        cpu_pct: wall > 0 ? Math.round((cpu / wall) * 1000) / 10 : 0,
        wall_ms: wall,
        cpu_ms: cpu,
        peak_source: mark !== undefined ? 'hwm' : 'sampled',
      };
      return done;
    },
  };
}
