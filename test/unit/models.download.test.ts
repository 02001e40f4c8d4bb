import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { defaultCacheDir, downloadModel } from '../../lib/models/download.js';

// deterministic "model" of 300 KB
const BODY = Buffer.alloc(300_000);
for (let i = 0, x = 12345; i < BODY.length; i++) {
  x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  BODY[i] = x >>> 24;
}
const SHA256 = createHash('sha256').update(BODY).digest('hex');
const SHA1 = createHash('sha1').update(BODY).digest('hex');
const NAME = 'tiny.en';
const FILE = `ggml-${NAME}.bin`;

type Mode = 'normal' | 'cut-first' | 'ignore-range' | 'not-found' | 'error-first';

let server: Server;
let baseUrl: string;
let mode: Mode = 'normal';
let requests: Array<{ url: string; range?: string }> = [];
const CUT_AT = 100_000;

function handler(req: IncomingMessage, res: ServerResponse): void {
  requests.push({ url: req.url ?? '', range: req.headers.range });
  const first = requests.length === 1;
  if (req.url !== `/${FILE}` || mode === 'not-found') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    res.end('Entry not found');
    return;
  }
  if (mode === 'error-first' && first) {
    res.writeHead(503);
    res.end();
    return;
  }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  if (m && mode !== 'ignore-range') {
    const start = Number(m[1]);
    if (start >= BODY.length) {
      res.writeHead(416, { 'content-range': `bytes */${BODY.length}` });
      res.end();
      return;
    }
    res.writeHead(206, {
      'content-length': String(BODY.length - start),
      'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
      'accept-ranges': 'bytes',
    });
    res.end(BODY.subarray(start));
    return;
  }
  res.writeHead(200, { 'content-length': String(BODY.length), 'accept-ranges': 'bytes' });
  if (mode === 'cut-first' && first) {
    // send part of the body, then drop the connection
    res.write(BODY.subarray(0, CUT_AT), () => setTimeout(() => res.socket?.destroy(), 20));
    return;
  }
  res.end(BODY);
}

let dir: string;

beforeAll(async () => {
  server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(async () => {
  mode = 'normal';
  requests = [];
  dir = await mkdtemp(join(tmpdir(), 'wp-dl-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const fast = { retryDelayMs: 0 };

describe('downloadModel', () => {
  it('downloads, verifies and renames into place', async () => {
    const progress: Array<[number, number | undefined]> = [];
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256, onProgress: (a, b) => progress.push([a, b]) });
    expect(r).toMatchObject({ path: join(dir, FILE), bytes: BODY.length, sha: SHA256, shaAlgorithm: 'sha256', verified: true, resumed: false, cached: false });
    expect((await readFile(r.path)).equals(BODY)).toBe(true);
    expect(await readdir(dir)).toEqual([FILE]);
    expect(progress.at(-1)).toEqual([BODY.length, BODY.length]);
    expect(requests).toEqual([{ url: `/${FILE}`, range: undefined }]);
  });

  it('verifies SHA-1 when given one and accepts a trailing slash in baseUrl', async () => {
    const r = await downloadModel(NAME, { dir, baseUrl: baseUrl + '/', sha1: SHA1.toUpperCase() });
    expect(r).toMatchObject({ sha: SHA1, shaAlgorithm: 'sha1', verified: true });
  });

  it('keeps the partial file after a cut and resumes it with a Range request', async () => {
    mode = 'cut-first';
    await expect(downloadModel(NAME, { dir, baseUrl, sha256: SHA256, retries: 0 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
    });
    const part = join(dir, `${FILE}.part`);
    const have = (await stat(part)).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(CUT_AT);
    expect(existsSync(join(dir, FILE))).toBe(false);

    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256 });
    expect(r.resumed).toBe(true);
    expect(r.bytes).toBe(BODY.length);
    expect(requests[1].range).toBe(`bytes=${have}-`);
    expect((await readFile(r.path)).equals(BODY)).toBe(true);
    expect(existsSync(part)).toBe(false);
  });

  it('retries a cut transfer within one call by resuming', async () => {
    mode = 'cut-first';
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256, ...fast });
    expect(r.resumed).toBe(true);
    expect(requests.length).toBe(2);
    expect(requests[1].range).toMatch(/^bytes=\d+-$/);
    expect((await readFile(r.path)).equals(BODY)).toBe(true);
  });

  it('restarts from zero when the server answers a Range request with 200', async () => {
    mode = 'ignore-range';
    await writeFile(join(dir, `${FILE}.part`), Buffer.from('garbage that must not survive'));
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256 });
    expect(r.resumed).toBe(false);
    expect(requests[0].range).toBe('bytes=29-');
    expect((await readFile(r.path)).equals(BODY)).toBe(true);
  });

  it('finishes a .part that is already complete (416 on the Range request)', async () => {
    await writeFile(join(dir, `${FILE}.part`), BODY);
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256 });
    expect(r).toMatchObject({ resumed: true, bytes: BODY.length, verified: true });
    expect((await readFile(r.path)).equals(BODY)).toBe(true);
  });

  it('deletes the file and fails with CHECKSUM_MISMATCH on a wrong checksum', async () => {
    await expect(downloadModel(NAME, { dir, baseUrl, sha256: '0'.repeat(64) })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  it('checks the published SHA-1 of a known model by default', async () => {
    // the loopback file is not the real tiny.en, so the published checksum must reject it
    await expect(downloadModel(NAME, { dir, baseUrl })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringContaining('c78c86eb1a8faa21b369bcd33207cc90d64ae9df'),
    });
    const r = await downloadModel(NAME, { dir, baseUrl, verifyKnown: false });
    expect(r).toMatchObject({ verified: false, sha: SHA1 });
  });

  it('fails with DOWNLOAD_FAILED and the status on 404, without retrying', async () => {
    mode = 'not-found';
    await expect(downloadModel(NAME, { dir, baseUrl, sha256: SHA256, ...fast })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/HTTP 404/),
    });
    expect(requests.length).toBe(1);
    expect(await readdir(dir)).toEqual([]);
  });

  it('retries a 5xx answer', async () => {
    mode = 'error-first';
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256, ...fast });
    expect(r.bytes).toBe(BODY.length);
    expect(requests.length).toBe(2);
  });

  it('fails with DOWNLOAD_FAILED when nothing listens', async () => {
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const port = (s.address() as AddressInfo).port;
    await new Promise((resolve) => s.close(resolve));
    await expect(
      downloadModel(NAME, { dir, baseUrl: `http://127.0.0.1:${port}`, sha256: SHA256, retries: 0 }),
    ).rejects.toMatchObject({ code: 'DOWNLOAD_FAILED' });
  });

  it('returns an existing verified file without downloading', async () => {
    await downloadModel(NAME, { dir, baseUrl, sha256: SHA256 });
    const r = await downloadModel(NAME, { dir, baseUrl, sha256: SHA256 });
    expect(r).toMatchObject({ cached: true, resumed: false, verified: true, bytes: BODY.length });
    expect(requests.length).toBe(1);
    await downloadModel(NAME, { dir, baseUrl, sha256: SHA256, force: true });
    expect(requests.length).toBe(2);
  });

  it('aborts', async () => {
    const ac = new AbortController();
    ac.abort();
    await expect(downloadModel(NAME, { dir, baseUrl, sha256: SHA256, signal: ac.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    });
  });

  it('uses fetchImpl when given', async () => {
    const urls: string[] = [];
    const fetchImpl: typeof fetch = async (input, init) => {
      urls.push(String(input));
      return fetch(input, init);
    };
    await downloadModel(NAME, { dir, baseUrl, sha256: SHA256, fetchImpl });
    expect(urls).toEqual([`${baseUrl}/${FILE}`]);
  });

  it('rejects unknown names and malformed checksums', async () => {
    await expect(downloadModel('tiny.fr', { dir, baseUrl })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(downloadModel('../etc/passwd', { dir, baseUrl })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(downloadModel(NAME, { dir, baseUrl, sha256: 'abc' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(downloadModel(NAME, { dir, baseUrl, sha1: 'z'.repeat(40) })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(requests.length).toBe(0);
  });
});

describe('defaultCacheDir', () => {
  it('honours WHISPER_PERF_CACHE, else ~/.cache/whisper-perf', () => {
    const saved = process.env.WHISPER_PERF_CACHE;
    try {
      process.env.WHISPER_PERF_CACHE = '/some/where';
      expect(defaultCacheDir()).toBe('/some/where');
      delete process.env.WHISPER_PERF_CACHE;
      expect(defaultCacheDir()).toBe(join(homedir(), '.cache', 'whisper-perf'));
    } finally {
      if (saved === undefined) delete process.env.WHISPER_PERF_CACHE;
      else process.env.WHISPER_PERF_CACHE = saved;
    }
  });
});
