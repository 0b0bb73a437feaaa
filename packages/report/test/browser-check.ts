/// <reference lib="dom" />
// Opens a report in real Chromium (Debian's /usr/bin/chromium, headless) and
// measures what a reader would see: each chart's canvas, its size and drawn
// pixels, console errors and network requests. Shared by this package's
// browser test and the demo's end-to-end test.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { pathToFileURL } from 'node:url';

export const CHROMIUM = '/usr/bin/chromium';
export const haveChromium = existsSync(CHROMIUM);

export interface ChartSeen {
  id: string;
  exists: boolean;
  width: number;
  height: number;
  /** A Chart.js instance is attached to the canvas. */
  chart: boolean;
  /** Pixels with non-zero alpha. */
  inked: number;
  /** The tick labels Chart.js drew, per scale id (x, y…). */
  ticks: Record<string, string[]>;
}

export interface PageSeen {
  charts: ChartSeen[];
  /** The page's own count of charts it drew (body[data-charts]). */
  drawn: string | null;
  /** Console errors and warnings, page errors, dialogs. */
  problems: string[];
  /** Requests other than the page itself. */
  requests: string[];
  images: number;
  scripts: number;
  /** Count of table cells with class "name" containing `text`, when asked. */
  nameCells?: number;
  /** The text (textContent: collapsed tables too, before CSS case) of each row's th and td cells, for the tables matching the selector `tables`, in page order, when asked. */
  tableRows?: string[][];
}

export async function inspectReport(file: string, ids: string[], opts: { screenshot?: string; nameText?: string; tables?: string } = {}): Promise<PageSeen> {
  const { chromium } = await import('playwright-core');
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
      type Scale = { ticks: { label: string | string[] }[] };
      const Chart = (window as unknown as { Chart: { getChart(c: HTMLCanvasElement): { scales: Record<string, Scale> } | undefined } }).Chart;
      return ids.map((id) => {
        const c = document.getElementById(id) as HTMLCanvasElement | null;
        if (!c) return { id, exists: false, width: 0, height: 0, chart: false, inked: 0, ticks: {} };
        const r = c.getBoundingClientRect();
        const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
        let inked = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) inked++;
        const chart = Chart.getChart(c);
        const ticks: Record<string, string[]> = {};
        for (const [axis, scale] of Object.entries(chart?.scales ?? {})) ticks[axis] = scale.ticks.map((t) => String(t.label));
        return { id, exists: true, width: r.width, height: r.height, chart: !!chart, inked, ticks };
      });
    }, ids);
    const seen: PageSeen = {
      charts,
      drawn: await page.evaluate(() => document.body.getAttribute('data-charts')),
      problems,
      requests,
      images: await page.locator('img').count(),
      scripts: await page.locator('script').count(),
    };
    if (opts.tables !== undefined)
      seen.tableRows = await page.evaluate(
        (sel: string) => Array.from(document.querySelectorAll(sel)).flatMap((t) => Array.from(t.querySelectorAll('tr')).map((tr) => Array.from(tr.querySelectorAll('th, td')).map((c) => (c.textContent ?? '').replace(/\s+/g, ' ').trim()))),
        opts.tables,
      );
    if (opts.nameText !== undefined) seen.nameCells = await page.locator('td.name', { hasText: opts.nameText }).count();
    if (opts.screenshot) {
      mkdirSync(dirname(opts.screenshot), { recursive: true });
      await page.screenshot({ path: opts.screenshot, fullPage: true });
    }
    return seen;
  } finally {
    await browser.close();
  }
}
