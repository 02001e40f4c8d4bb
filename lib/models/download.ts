/**
 * Downloading published whisper.cpp ggml models, resumably and with checksum verification.
 *
 * `ggml-<name>.bin` is fetched from `<baseUrl>/ggml-<name>.bin` into `<dir>/ggml-<name>.bin.part`;
 * an existing `.part` is continued with an HTTP Range request (a server that answers 200 to
 * it is read from the start again). The finished file is checked against the expected
 * checksum and then renamed into place, so `<dir>/ggml-<name>.bin` only ever appears
 * complete and verified.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { WhisperPerfError, invalidArgument } from '../errors.js';
import { PUBLISHED_MODEL_SHA1 } from './arch.js';

export const DEFAULT_BASE_URL = 'https://huggingface.co/ggerganov/whisper.cpp/resolve/main';

/** Model names published at DEFAULT_BASE_URL (the list of vendor/whisper.cpp/models/download-ggml-model.sh). */
export const DOWNLOADABLE_MODELS = [
  'tiny',
  'tiny.en',
  'tiny-q5_1',
  'tiny.en-q5_1',
  'tiny-q8_0',
  'base',
  'base.en',
  'base-q5_1',
  'base.en-q5_1',
  'base-q8_0',
  'small',
  'small.en',
  'small.en-tdrz',
  'small-q5_1',
  'small.en-q5_1',
  'small-q8_0',
  'medium',
  'medium.en',
  'medium-q5_0',
  'medium.en-q5_0',
  'medium-q8_0',
  'large-v1',
  'large-v2',
  'large-v2-q5_0',
  'large-v2-q8_0',
  'large-v3',
  'large-v3-q5_0',
  'large-v3-turbo',
  'large-v3-turbo-q5_0',
  'large-v3-turbo-q8_0',
] as const;

export type DownloadableModel = (typeof DOWNLOADABLE_MODELS)[number];

export interface DownloadOptions {
  /** target directory; default defaultCacheDir() */
  dir?: string;
  /** default DEFAULT_BASE_URL */
  baseUrl?: string;
  /** expected SHA-1 (hex); default: the published one for `name`, when known */
  sha1?: string;
  /** expected SHA-256 (hex); takes precedence over sha1 */
  sha256?: string;
  /** check against the published SHA-1 table when no sha1/sha256 is given (default true) */
  verifyKnown?: boolean;
  /** re-download even when the target file exists (default false) */
  force?: boolean;
  /** further attempts after a network failure or 5xx, each resuming the .part (default 2) */
  retries?: number;
  /** delay before attempt k is k * retryDelayMs (default 1000) */
  retryDelayMs?: number;
  /** bytes received so far (resumed bytes included) and the total, when the server told it */
  onProgress?: (received: number, total: number | undefined) => void;
  signal?: AbortSignal;
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  /** hex digest of the file, of the algorithm in shaAlgorithm */
  sha: string;
  shaAlgorithm: 'sha1' | 'sha256';
  /** whether `sha` was compared against an expected value */
  verified: boolean;
  /** whether bytes of an earlier interrupted download were reused */
  resumed: boolean;
  /** whether the file was already there and nothing was downloaded */
  cached: boolean;
}

/** `$WHISPER_PERF_CACHE`, else `~/.cache/whisper-perf`. */
export function defaultCacheDir(): string {
  const env = process.env.WHISPER_PERF_CACHE;
  if (env && env.trim() !== '') return env;
  return join(homedir(), '.cache', 'whisper-perf');
}

/** File name of a published model. */
export function modelFileName(name: string): string {
  return `ggml-${name}.bin`;
}

function isDownloadable(name: string): name is DownloadableModel {
  return (DOWNLOADABLE_MODELS as readonly string[]).includes(name);
}

function checkHex(name: string, v: string | undefined, len: number): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !new RegExp(`^[0-9a-fA-F]{${len}}$`).test(v)) {
    throw invalidArgument(name, v, `${len} hex digits`);
  }
  return v.toLowerCase();
}

function failed(msg: string, cause?: unknown): WhisperPerfError {
  return new WhisperPerfError(msg, 'DOWNLOAD_FAILED', cause === undefined ? undefined : { cause });
}

function aborted(cause?: unknown): WhisperPerfError {
  return new WhisperPerfError('download aborted', 'ABORTED', cause === undefined ? undefined : { cause });
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

async function hashFile(path: string, algorithm: 'sha1' | 'sha256', into?: Hash): Promise<Hash> {
  const h = into ?? createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h;
}

/** Parses a Content-Range value: "bytes START-END/TOTAL" or "bytes * / TOTAL" (no spaces). */
function parseContentRange(v: string | null): { start?: number; total?: number } {
  if (!v) return {};
  const m = /^bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)$/i.exec(v.trim());
  if (!m) return {};
  return {
    start: m[1] !== undefined ? Number(m[1]) : undefined,
    total: m[3] !== '*' ? Number(m[3]) : undefined,
  };
}

class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface AttemptState {
  resumed: boolean;
}

/**
 * One GET (ranged when a .part exists). Appends to the .part, updating `hash`.
 * Returns the new hash (a restart replaces it) and the byte count.
 */
async function attempt(
  url: string,
  part: string,
  algorithm: 'sha1' | 'sha256',
  opts: DownloadOptions,
  state: AttemptState,
): Promise<{ hash: Hash; bytes: number }> {
  const doFetch = opts.fetchImpl ?? fetch;
  let have = (await fileSize(part)) ?? 0;
  let hash = createHash(algorithm);
  if (have > 0) await hashFile(part, algorithm, hash);

  const headers: Record<string, string> = {};
  if (have > 0) headers.range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await doFetch(url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (e) {
    if (opts.signal?.aborted) throw aborted(e);
    throw failed(`cannot download ${url}: ${(e as Error).message}`, e);
  }

  let total: number | undefined;
  let append: boolean;
  if (res.status === 206 && have > 0) {
    const cr = parseContentRange(res.headers.get('content-range'));
    if (cr.start !== have) {
      await res.body?.cancel().catch(() => {});
      throw failed(`server resumed ${url} at byte ${cr.start ?? '?'} instead of ${have}`);
    }
    total = cr.total;
    append = true;
    state.resumed = true;
  } else if (res.status === 416 && have > 0) {
    // nothing left to send: the .part is complete if it holds the whole resource
    await res.body?.cancel().catch(() => {});
    const cr = parseContentRange(res.headers.get('content-range'));
    if (cr.total === have) {
      state.resumed = true;
      return { hash, bytes: have };
    }
    await unlink(part).catch(() => {});
    throw new HttpStatusError(416, `range not satisfiable for ${url}; discarded the partial file, retrying`);
  } else if (res.ok) {
    // 200: a full body (also when the server ignored our Range): start over
    const len = res.headers.get('content-length');
    total = len !== null && /^\d+$/.test(len) ? Number(len) : undefined;
    append = false;
    have = 0;
    hash = createHash(algorithm);
    state.resumed = false;
  } else {
    await res.body?.cancel().catch(() => {});
    throw new HttpStatusError(res.status, `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''} for ${url}`);
  }

  if (!res.body) throw failed(`empty response body for ${url}`);
  let fh: FileHandle | undefined;
  let received = have;
  try {
    fh = await open(part, append ? 'a' : 'w');
    opts.onProgress?.(received, total);
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      let done = 0;
      while (done < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, done, chunk.length - done);
        done += bytesWritten;
      }
      received += chunk.length;
      opts.onProgress?.(received, total);
    }
  } catch (e) {
    if (opts.signal?.aborted) throw aborted(e);
    if (e instanceof WhisperPerfError) throw e;
    throw failed(`download of ${url} interrupted after ${received} bytes: ${(e as Error).message}`, e);
  } finally {
    await fh?.close();
  }
  if (total !== undefined && received !== total) {
    throw failed(`download of ${url} ended after ${received} of ${total} bytes`);
  }
  return { hash, bytes: received };
}

function retryable(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.status >= 500 || e.status === 416 || e.status === 429;
  return e instanceof WhisperPerfError && e.code === 'DOWNLOAD_FAILED';
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(aborted());
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(aborted());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Downloads `ggml-<name>.bin` (see the module comment).
 * @throws WhisperPerfError INVALID_ARGUMENT (unknown name, bad option), DOWNLOAD_FAILED (HTTP
 *   status or network failure after the retries; the .part is kept for a later resume),
 *   CHECKSUM_MISMATCH (the downloaded file is deleted), ABORTED (signal)
 */
export async function downloadModel(name: string, options: DownloadOptions = {}): Promise<DownloadResult> {
  if (typeof name !== 'string' || !isDownloadable(name)) {
    throw invalidArgument('model name', name, DOWNLOADABLE_MODELS.join(', '));
  }
  const sha256 = checkHex('sha256', options.sha256, 64);
  const sha1Opt = checkHex('sha1', options.sha1, 40);
  const known = options.verifyKnown === false ? undefined : PUBLISHED_MODEL_SHA1[name];
  const algorithm: 'sha1' | 'sha256' = sha256 ? 'sha256' : 'sha1';
  const expected = sha256 ?? sha1Opt ?? known;
  const retries = options.retries ?? 2;
  if (!Number.isInteger(retries) || retries < 0) throw invalidArgument('retries', retries, 'a non-negative integer');
  const retryDelayMs = options.retryDelayMs ?? 1000;
  const baseUrl = (options.baseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  let url: string;
  try {
    url = new URL(`${baseUrl}/${modelFileName(name)}`).toString();
  } catch {
    throw invalidArgument('baseUrl', options.baseUrl, 'an absolute http(s) URL');
  }

  const dir = options.dir ?? defaultCacheDir();
  const target = join(dir, modelFileName(name));
  const part = `${target}.part`;
  await mkdir(dir, { recursive: true });

  if (!options.force) {
    const size = await fileSize(target);
    if (size !== undefined) {
      const digest = (await hashFile(target, algorithm)).digest('hex');
      if (expected === undefined || digest === expected) {
        return { path: target, bytes: size, sha: digest, shaAlgorithm: algorithm, verified: expected !== undefined, resumed: false, cached: true };
      }
      // a stale or corrupt copy: fetch it again
    }
  }

  const state: AttemptState = { resumed: false };
  let result: { hash: Hash; bytes: number } | undefined;
  for (let i = 0; ; i++) {
    if (options.signal?.aborted) throw aborted();
    try {
      result = await attempt(url, part, algorithm, options, state);
      break;
    } catch (e) {
      if (i >= retries || !retryable(e)) {
        if (e instanceof HttpStatusError) throw failed(e.message, e);
        throw e;
      }
      if (retryDelayMs > 0) await sleep(retryDelayMs * (i + 1), options.signal);
    }
  }

  const digest = result.hash.digest('hex');
  if (expected !== undefined && digest !== expected) {
    await unlink(part).catch(() => {});
    throw new WhisperPerfError(
      `checksum mismatch for ${url}: ${algorithm} ${digest}, expected ${expected}; deleted the download`,
      'CHECKSUM_MISMATCH',
    );
  }
  await rename(part, target);
  return {
    path: target,
    bytes: result.bytes,
    sha: digest,
    shaAlgorithm: algorithm,
    verified: expected !== undefined,
    resumed: state.resumed,
    cached: false,
  };
}
