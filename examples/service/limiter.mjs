// A bounded queue in front of the transcribers: at most `maxConcurrent` jobs run, at most
// `maxWaiting` wait for a turn, and anything beyond is refused at once (the caller answers 503).

/** Thrown by acquire() when the waiting room is full, or when the limiter is closed. */
export class QueueError extends Error {
  /** @param {'QUEUE_FULL' | 'SHUTTING_DOWN'} code */
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

export class Limiter {
  /** @param {{ maxConcurrent: number, maxWaiting: number }} o */
  constructor({ maxConcurrent, maxWaiting }) {
    this.maxConcurrent = maxConcurrent;
    this.maxWaiting = maxWaiting;
    this.running = 0;
    this.closed = false;
    /** @type {{ resolve: (release: () => void) => void, reject: (e: Error) => void, cleanup: () => void }[]} */
    this.waiting = [];
  }

  get depth() {
    return this.waiting.length;
  }

  /**
   * Waits for a turn. Resolves to a release function (call it exactly once when the job ends);
   * rejects with QUEUE_FULL when no room is left, SHUTTING_DOWN after close(), or the signal's
   * reason when it fires while waiting (the place in the queue is given up).
   * @param {AbortSignal} [signal]
   * @returns {Promise<() => void>}
   */
  acquire(signal) {
    if (this.closed) return Promise.reject(new QueueError('SHUTTING_DOWN', 'the server is shutting down'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.running < this.maxConcurrent) {
      this.running++;
      return Promise.resolve(this.#releaser());
    }
    if (this.waiting.length >= this.maxWaiting) {
      return Promise.reject(new QueueError('QUEUE_FULL', `the queue is full: ${this.running} transcribing, ${this.waiting.length} waiting`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal.reason);
      };
      const entry = { resolve, reject, cleanup: () => signal?.removeEventListener('abort', onAbort) };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  /** Refuses every waiting job with SHUTTING_DOWN and any later acquire(); running jobs go on. */
  close() {
    this.closed = true;
    for (const w of this.waiting.splice(0)) {
      w.cleanup();
      w.reject(new QueueError('SHUTTING_DOWN', 'the server is shutting down'));
    }
  }

  #releaser() {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      if (next) {
        // the slot passes straight to the next job: running stays the same
        next.cleanup();
        next.resolve(this.#releaser());
      } else {
        this.running--;
      }
    };
  }
}
