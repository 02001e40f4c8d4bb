/**
 * A side's process, spoken to over a line protocol: one command per line on stdin, one JSON line
 * per command on stdout (the addon's side, ./side.ts, and the native driver, bench/native-bench.cc,
 * alike). The first line is {"ready":true,…}.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface ReadyLine {
  ready: true;
  loadMs: number;
  [k: string]: unknown;
}

export class SideProcess {
  readonly side: string;
  readonly child: ChildProcessWithoutNullStreams;
  ready!: ReadyLine;
  stderr = '';
  private readonly lines: AsyncIterator<string>;
  private readonly exited: Promise<string | number | null>;

  private constructor(side: string, cmd: string, args: string[], env: NodeJS.ProcessEnv) {
    this.side = side;
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    // a write to a side that has just exited fails with EPIPE: the exit is what reports it (next())
    this.child.stdin.on('error', () => {});
    this.child.stderr.setEncoding('utf8').on('data', (t: string) => {
      // keep the tail only: a long run's log must not grow without bound
      this.stderr = (this.stderr + t).slice(-8192);
    });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.exited = new Promise((r) => {
      this.child.on('error', (e) => r(e.message));
      this.child.on('close', (code, signal) => r(signal ?? code));
    });
  }

  /** Starts the process and waits for its ready line. */
  static async start(side: string, cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<SideProcess> {
    const d = new SideProcess(side, cmd, args, env);
    try {
      const ready = await d.next();
      if (ready.ready !== true) throw new Error(`the ${side} side did not start: ${JSON.stringify(ready)}`);
      d.ready = ready as ReadyLine;
    } catch (e) {
      d.kill();
      throw e;
    }
    return d;
  }

  /** whisper.cpp's system_info line from the process's log, when it printed one. */
  systemInfo(): string | null {
    return /system_info: n_threads = \d+ \/ \d+ \| (.*)/.exec(this.stderr)?.[1]?.trim() ?? null;
  }

  async next(): Promise<Record<string, unknown>> {
    const r = await Promise.race([this.lines.next(), this.exited.then((c) => ({ exited: c }))]);
    if ('exited' in r || r.done) {
      const why = 'exited' in r ? r.exited : 'end of output';
      throw new Error(`the ${this.side} side exited (${why}): ${this.stderr.trim().split('\n').slice(-5).join(' | ')}`);
    }
    const o = JSON.parse(r.value) as Record<string, unknown>;
    if (typeof o.error === 'string') throw new Error(`${this.side} side: ${o.error}`);
    return o;
  }

  async command(line: string): Promise<Record<string, unknown>> {
    this.child.stdin.write(line + '\n');
    return this.next();
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin.end('quit\n');
    await this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}
