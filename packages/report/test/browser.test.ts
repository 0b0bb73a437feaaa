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

describe.skipIf(!haveChromium)('chart axes in real Chromium', () => {
  it('labels each tick of an axis once, even when accuracies differ by hundredths of a point', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'report-ticks-')), 'report.html');
    // The demo's case: every variant within 0.05 points of 92.30%.
    const runs = [0.923, 0.923, 0.9232, 0.9229].map((accuracy, i) => ({ name: `run ${i}`, accuracy, macs: 1e6 * (i + 1), latencyMs: 1 + i, bytes: 1000 * (i + 1) }));
    const sensitivity = [{ layer: 'conv1', points: [{ amount: 0, accuracy: 0.923 }, { amount: 0.5, accuracy: 0.9226 }, { amount: 0.9, accuracy: 0.9227 }] }];
    writeReport({ ...sampleReport(), runs, sensitivity }, file);
    const seen = await inspectReport(file, CHARTS);
    expect(seen.problems).toEqual([]);
    for (const c of seen.charts)
      for (const [axis, labels] of Object.entries(c.ticks)) expect(new Set(labels).size, `${c.id} ${axis}: ${labels.join(' ')}`).toBe(labels.length);
    const y = seen.charts.find((c) => c.id === 'chart-runs-macs')!.ticks.y!;
    expect(y.length).toBeGreaterThan(2);
    expect(y.every((l) => /^\d+(\.\d+)?%$/.test(l))).toBe(true);
  });
});
