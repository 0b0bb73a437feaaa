import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { writeReport } from '../src/index.js';
import { CHROMIUM, haveChromium, inspectReport } from './browser-check.js';
import { EVIL, sampleDetectReport, sampleReport } from './sample.js';

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

describe.skipIf(!haveChromium)('detection report in real Chromium', () => {
  it('shows mAP@0.5 and mAP@0.5:0.95 with their change against dense, AP per class, and draws mAP against MACs and latency', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'report-detect-')), 'report.html');
    writeReport(sampleDetectReport(), file);
    const seen = await inspectReport(file, ['chart-runs-macs', 'chart-runs-latency'], { screenshot: join(repo, 'artifacts', 'report-detect.png'), tables: '#summary table, #runs > table, #per-class-ap table' });
    expect(seen.problems).toEqual([]);
    expect(seen.requests).toEqual([]);
    expect(seen.drawn).toBe('2');
    for (const c of seen.charts) {
      expect(c, c.id).toMatchObject({ exists: true, chart: true });
      expect(c.inked, `${c.id} has drawn pixels`).toBeGreaterThan(500);
      expect(c.ticks.y!.every((l) => /^\d+(\.\d+)?%$/.test(l)), `${c.id} y ticks: ${c.ticks.y!.join(' ')}`).toBe(true);
    }
    const rows = seen.tableRows!;
    const row = (first: string) => rows.find((r) => r[0] === first);
    // Summary: before, after, change in points.
    expect(row('mAP@0.5')).toEqual(['mAP@0.5', '87.40%', '86.90%', '−0.50 pt']);
    expect(row('mAP@0.5:0.95')).toEqual(['mAP@0.5:0.95', '61.20%', '60.30%', '−0.90 pt']);
    // Runs: both metrics, each with its change against the first (dense) row.
    expect(row('Run')).toEqual(['Run', 'mAP@0.5', 'Δ', 'mAP@0.5:0.95', 'Δ', 'MACs', 'Latency', 'Size']);
    expect(row('input (dense)')!.slice(1, 5)).toEqual(['87.40%', '–', '61.20%', '–']);
    expect(row('pruned, before fine-tuning')!.slice(1, 5)).toEqual(['55.10%', '−32.30 pt', '31.80%', '−29.40 pt']);
    expect(row('onnx-export: detector.pruned.onnx')!.slice(1, 5)).toEqual(['86.90%', '−0.50 pt', '60.30%', '−0.90 pt']);
    // AP per class (collapsed): AP@0.5:0.95 (AP@0.5) per run; a class without ground truth shows –.
    expect(row('Class')).toEqual(['Class', 'Boxes', 'input (dense)', 'pruned, before fine-tuning', 'onnx-export: detector.pruned.onnx', 'tflite-export: detector.pruned.tflite (litert, batch 1)']);
    expect(row('0')).toEqual(['0', '120', '63.0% (88.0%)', '35.0% (58.0%)', '62.0% (88.0%)', '62.0% (88.0%)']);
    expect(row('2')).toEqual(['2', '0', '–', '–', '–', '–']);
  });
});
