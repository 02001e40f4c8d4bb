/** Progress on stderr: a redrawn bar on a terminal, nothing otherwise (logs stay clean). */
export interface ProgressSink {
  update(done: number, total: number, label: string, etaMs?: number): void;
  note(message: string): void;
  done(): void;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function renderBar(done: number, total: number, label: string, etaMs: number | undefined, width: number): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const barW = 24;
  const filled = Math.round(frac * barW);
  const bar = '█'.repeat(filled) + '░'.repeat(barW - filled);
  const eta = etaMs === undefined ? '' : ` ETA ${formatDuration(etaMs)}`;
  const line = `${bar} ${done}/${total}${eta}  ${label}`;
  return line.length > width ? line.slice(0, Math.max(10, width - 1)) : line;
}

export function progressSink(stream: NodeJS.WriteStream = process.stderr, enabled = stream.isTTY === true): ProgressSink {
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  return {
    update(done, total, label, etaMs) {
      if (!enabled) return;
      stream.write('\r\x1b[2K' + renderBar(done, total, label, etaMs, stream.columns || 80));
      shown = true;
    },
    note(message) {
      clear();
      stream.write(message + '\n');
    },
    done() {
      clear();
    },
  };
}
