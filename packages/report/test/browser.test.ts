import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../src/index.js';
import { CHROMIUM, haveChromium, inspectReport } from './browser-check.js';
import { EVIL, sampleReport } from './sample.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
if (!haveChromium) console.warn(`report browser test skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

const CHARTS = ['chart-sparsity', 'chart-channels', 'chart-sensitivity', 'chart-runs-macs', 'chart-runs-latency', 'chart-tflite-ops', 'chart-tensorrt'];

describe.skipIf(!haveChromium)('report in real Chromium', () => {
  it('draws every chart, logs no errors, fetches nothing; saves artifacts/report.png', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'report-browser-')), 'report.html');
    writeReport(sampleReport(), file);
    const seen = await inspectReport(file, CHARTS, { screenshot: join(repo, 'artifacts', 'report.png'), nameText: EVIL });
    for (const c of seen.charts) {
      expect(c, c.id).toMatchObject({ exists: true, chart: true });
      expect(c.width, c.id).toBeGreaterThan(100);
      expect(c.height, c.id).toBeGreaterThan(100);
      expect(c.inked, `${c.id} has drawn pixels`).toBeGreaterThan(500);
    }
    expect(seen.drawn).toBe(String(CHARTS.length));
    // The evil layer name is text, never markup.
    expect(seen.images).toBe(0);
    expect(seen.nameCells).toBeGreaterThan(0);
    expect(seen.scripts).toBe(3);
    expect(seen.problems).toEqual([]);
    expect(seen.requests).toEqual([]);
  });
});
