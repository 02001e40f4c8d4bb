/**
 * WhisperState: a second (third, ...) decoder state over one model's weights.
 */
import type { NativeModelInfo, NativeState } from '../native.js';
import { CallQueue, signalOf } from './calls.js';
import { startTranscription } from './transcription.js';
import type { LogHandler, StateTranscript, TranscribeOptions } from './types.js';


/**
 * One whisper state over a model's weights, with its own compute thread (Model.createState()).
 * Its transcriptions run beside the model's and other states'; whisper.cpp keeps stage timings
 * for the model's default state only, so a state's transcript has `timings: null` and
 * `fallbacks: null` (its wall time, rtf and first-segment time are measured).
 */
export class WhisperState implements AsyncDisposable {
  #native: NativeState;
  #hparams: NativeModelInfo;
  #synthetic: boolean;
  #onDispose: () => void;
  #calls: CallQueue;
  #disposed = false;

  /** @internal use Model.createState() */
  constructor(native: NativeState, hparams: NativeModelInfo, synthetic: boolean, onLog: LogHandler | undefined, onDispose: () => void) {
    this.#native = native;
    this.#hparams = hparams;
    this.#synthetic = synthetic;
    this.#onDispose = onDispose;
    this.#calls = new CallQueue('state', native, () => this.#disposed, onLog);
  }

  get disposed(): boolean {
    return this.#disposed;
  }

  /** OS thread id of this state's compute thread. */
  get threadId(): number {
    return this.#native.threadId();
  }

  /** whisper_full_with_state on this state: the same options and result as Model.transcribe (processors is ignored). */
  transcribe(pcm: Float32Array, options: TranscribeOptions = {}): Promise<StateTranscript> {
    const t = startTranscription(pcm, options, this.#hparams, this.#synthetic, false);
    return this.#calls.run('transcribe', () => t.start((o, cb) => this.#native.full(pcm, o, cb)), (r) => t.finish(r) as unknown as StateTranscript, signalOf(options));
  }

  /** Frees the state (its KV caches and compute buffers) after the work queued on it. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    try {
      await this.#calls.finally(() => this.#native.dispose());
    } finally {
      this.#onDispose();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.dispose();
  }
}
