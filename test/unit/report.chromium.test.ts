/// <reference lib="dom" />
// The HTML report in a real browser: Debian's chromium, headless, driven by playwright-core.
// Every chart must render (no console errors, each canvas with drawn pixels); a screenshot is
// saved. Without chromium the test is skipped with the reason printed, unless
// WHISPER_PERF_REQUIRE_CHROMIUM=1 (CI), where it fails instead.
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { describe, expect, it } from 'vitest';

import { reportHtml } from '../../lib/report/html.js';
import { reportData } from '../fixtures/report.js';
import { HANG_MS } from '../fixtures/limits.js';

export const CHROMIUM = process.env.WHISPER_PERF_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const why = existsSync(CHROMIUM) ? undefined : `${CHROMIUM} not found (apt-get install chromium; .ci/run installs it)`;
if (why && process.env.WHISPER_PERF_REQUIRE_CHROMIUM === '1') throw new Error(`WHISPER_PERF_REQUIRE_CHROMIUM=1 but ${why}`);
if (why) console.warn(`[report.chromium] skipping: ${why}`);

/** Opens a page file in headless Chromium; returns what the page reported, console errors and pixel counts per canvas. */
export async function renderInChromium(file: string, screenshot: string) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = await browser.newPage({ viewport: { width: 960, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => {
      if (!r.url().startsWith('file:')) requests.push(r.url());
    });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => (window as unknown as { __whisperPerf?: { done: boolean } }).__whisperPerf?.done === true, undefined, { timeout: HANG_MS });
    const state = await page.evaluate(() => (window as unknown as { __whisperPerf: { charts: string[]; errors: string[] } }).__whisperPerf);
    // drawn pixels of each canvas: the share that is not fully transparent
    const canvases = await page.evaluate(() =>
      Array.from(document.querySelectorAll('canvas')).map((c) => {
        const ctx = (c as HTMLCanvasElement).getContext('2d')!;
        const { data } = ctx.getImageData(0, 0, c.width, c.height);
        let drawn = 0;
        for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) drawn++;
        return { id: c.id, width: c.width, height: c.height, drawn: drawn / (c.width * c.height) };
      }),
    );
    await page.screenshot({ path: screenshot, fullPage: true });
    return { state, errors, requests, canvases };
  } finally {
    await browser.close();
  }
}

describe.skipIf(why !== undefined)('report --html in headless Chromium', () => {
  it('renders every chart: no console errors, no network, each canvas drawn; saves a screenshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wp-html-'));
    const file = join(dir, 'report.html');
    writeFileSync(file, reportHtml(reportData(), { subtitle: 'chromium test' }));
    const shot = join(dir, 'report.png');
    const r = await renderInChromium(file, shot);
    expect(r.errors).toEqual([]);
    expect(r.requests).toEqual([]);
    expect(r.state.errors).toEqual([]);
    expect(r.state.charts).toEqual(['scaling', 'stages', 'rtf', 'memory', 'history', 'quality']);
    expect(r.canvases.map((c) => c.id)).toEqual(r.state.charts.map((id) => `chart-${id}`));
    for (const c of r.canvases) {
      expect(c.width, c.id).toBeGreaterThan(0);
      // axes, labels and data: well above an empty canvas (0) and below a filled one (1)
      expect(c.drawn, c.id).toBeGreaterThan(0.01);
    }
    expect(statSync(shot).size).toBeGreaterThan(20_000);
    console.log(`[report.chromium] screenshot: ${shot}`);
  });
});
