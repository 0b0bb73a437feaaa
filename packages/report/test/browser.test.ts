/// <reference lib="dom" />
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../src/index.js';
import { EVIL, sampleReport } from './sample.js';

const CHROMIUM = '/usr/bin/chromium';
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const have = existsSync(CHROMIUM);
if (!have) console.warn(`report browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const CHARTS = ['chart-sparsity', 'chart-channels', 'chart-sensitivity', 'chart-runs-macs', 'chart-runs-latency', 'chart-tflite-ops', 'chart-tensorrt'];

describe.skipIf(!have)('report in real Chromium', () => {
  it('draws every chart, logs no errors, fetches nothing; saves artifacts/report.png', async () => {
    const { chromium } = await import('playwright-core');
    const dir = mkdtempSync(join(tmpdir(), 'report-browser-'));
    const file = join(dir, 'report.html');
    writeReport(sampleReport(), file);
    const url = pathToFileURL(file).href;

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', '--disable-quic'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
      const problems: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
      page.on('dialog', (d) => {
        problems.push(`dialog: ${d.message()}`);
        void d.dismiss();
      });
      page.on('request', (r) => {
        if (r.url() !== url) requests.push(r.url());
      });

      await page.goto(url, { waitUntil: 'load' });
      await page.waitForFunction(() => document.body.getAttribute('data-charts') !== null, undefined, { timeout: 15_000 });

      const charts = await page.evaluate((ids: string[]) => {
        const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): unknown } }).Chart;
        return ids.map((id) => {
          const c = document.getElementById(id) as HTMLCanvasElement | null;
          if (!c) return { id, exists: false, width: 0, height: 0, chart: false, inked: 0 };
          const r = c.getBoundingClientRect();
          const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
          let inked = 0;
          for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) inked++;
          return { id, exists: true, width: r.width, height: r.height, chart: !!Chart.getChart(c), inked };
        });
      }, CHARTS);
      for (const c of charts) {
        expect(c, c.id).toMatchObject({ exists: true, chart: true });
        expect(c.width, c.id).toBeGreaterThan(100);
        expect(c.height, c.id).toBeGreaterThan(100);
        expect(c.inked, `${c.id} has drawn pixels`).toBeGreaterThan(500);
      }
      expect(await page.evaluate(() => document.body.getAttribute('data-charts'))).toBe(String(CHARTS.length));

      // The evil layer name is text, never markup.
      expect(await page.locator('img').count()).toBe(0);
      expect(await page.locator('td.name', { hasText: EVIL }).count()).toBeGreaterThan(0);
      expect(await page.locator('script').count()).toBe(3);

      expect(problems).toEqual([]);
      expect(requests).toEqual([]);

      mkdirSync(join(repo, 'artifacts'), { recursive: true });
      await page.screenshot({ path: join(repo, 'artifacts', 'report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
