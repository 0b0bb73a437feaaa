import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { definePlugin, Graph, Model, Node, pipeline, ShearsError, Tensor, Value, type PruningPlan } from '@shears/core';
import { onnxImport } from '@shears/onnx';
import { describe, expect, it } from 'vitest';
import { EVIL, sampleDetectReport, sampleReport } from '../test/sample.js';
import { buildReportData, htmlReport, jsonForScript, renderReport, reportSections, validateReportData, writeReport, type ReportData } from './index.js';
import { summarizePlans } from './plugin.js';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The page with the inlined Chart.js and the JSON data taken out: what the renderer wrote itself. */
function ownMarkup(html: string): string {
  return html.replace(/<script>[\s\S]*?<\/script>/g, '').replace(/<script type="application\/json"[\s\S]*?<\/script>/, '');
}

describe('renderReport', () => {
  it('writes one self-contained page: inline style, Chart.js, data, nothing to fetch', () => {
    const html = renderReport(sampleReport());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('Chart.js v4');
    expect(html).toContain('<script type="application/json" id="shears-report-data">');
    expect(html).toContain("default-src 'none'");
    // No external resources of any kind.
    expect(html).not.toMatch(/<(script|link|img|iframe)[^>]+(src|href)=/i);
    expect(ownMarkup(html)).not.toMatch(/https?:\/\//);
    for (const id of ['chart-sparsity', 'chart-channels', 'chart-sensitivity', 'chart-runs-macs', 'chart-runs-latency', 'chart-tflite-ops', 'chart-tensorrt'])
      expect(html).toContain(`<canvas id="${id}"`);
  });

  it('escapes user-controlled strings everywhere, and the data round-trips', () => {
    const html = renderReport(sampleReport());
    // Exactly three script elements close: data, Chart.js, the page script.
    expect(html.match(/<\/script>/gi)).toHaveLength(3);
    expect(html).not.toContain('<img');
    expect(ownMarkup(html)).toContain('&#60;/script&#62;&#60;img src=x onerror=alert(1)&#62;');
    expect(html).not.toContain(EVIL);
    const json = html.match(/<script type="application\/json" id="shears-report-data">([\s\S]*?)<\/script>/)![1]!;
    expect(JSON.parse(json)).toEqual(sampleReport());
    expect(jsonForScript({ s: '<!--\u2028&' })).toBe('{"s":"\\u003c!--\\u2028\\u0026"}');
  });

  it('shows before/after/ratio in the summary table', () => {
    const html = renderReport(sampleReport());
    expect(html).toMatch(/<th scope="row">MACs<\/th><td class="num">11\.8M<\/td><td class="num">5\.6M<\/td><td class="num good">0\.48×/);
    expect(html).toMatch(/Latency<\/th><td class="num">0\.92 ms<\/td><td class="num">0\.49 ms<\/td><td class="num good">1\.88× faster/);
    expect(html).toMatch(/Accuracy<\/th><td class="num">91\.20%<\/td><td class="num">90\.81%<\/td><td class="num muted">−0\.39 pt/);
  });

  it('leaves out sections without data', () => {
    const only: ReportData = { version: 1, runs: [{ name: 'dense', macs: 100, bytes: 10 }] };
    expect(reportSections(only)).toEqual(['runs']);
    const html = renderReport(only);
    expect(html).not.toContain('id="summary"');
    expect(html).not.toContain('<canvas'); // no accuracy: no scatter, the table only
    expect(html).toContain('id="runs"');
    expect(renderReport({ version: 1 })).toContain('This report has no data.');
    const noChannels = renderReport({ version: 1, layers: [{ name: 'a', op: 'MatMul', paramsBefore: 4, paramsAfter: 4, sparsity: 0.5 }] });
    expect(noChannels).toContain('<canvas id="chart-sparsity"');
    expect(noChannels).not.toContain('<canvas id="chart-channels"');
  });
});

describe('validateReportData', () => {
  it('accepts the sample and names the first bad field', () => {
    expect(validateReportData(JSON.parse(JSON.stringify(sampleReport())))).toEqual(sampleReport());
    expect(() => validateReportData({ version: 2 })).toThrow(/version must be 1/);
    expect(() => validateReportData({ version: 1, layers: [{ name: 'a', op: 'Conv', paramsBefore: '3' }] })).toThrow(ShearsError);
    expect(() => validateReportData({ version: 1, layers: [{ name: 'a', op: 'Conv', paramsBefore: '3' }] })).toThrow(/layers\[0\]\.paramsBefore must be a finite number/);
    expect(() => validateReportData([])).toThrow(/not a JSON object/);
  });
});

describe('writeReport', () => {
  it('replaces the target atomically and leaves no temp file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-'));
    const out = join(dir, 'sub', 'r.html');
    const r = writeReport(sampleReport(), out);
    expect(r.bytes).toBe(readFileSync(out).length);
    writeFileSync(out, 'old');
    writeReport({ version: 1, title: 'second' }, out);
    expect(readFileSync(out, 'utf8')).toContain('<title>second</title>');
    expect(readdirSync(join(dir, 'sub'))).toEqual(['r.html']);
  });
});

describe('skipped notes', () => {
  it('each with its code, and the layers round-to left whole counted in the summary', () => {
    const plans = summarizePlans([
      {
        version: 1,
        strategy: 'filter',
        actions: [],
        skipped: [
          { target: 'conv1', reason: 'has 8 channels, not more than round-to 8; left whole', code: 'too-small' },
          { target: 'conv2', reason: 'would prune 2 of 128 channels; round-to 8 keeps all 128; left whole', code: 'rounded' },
          { target: 'head', reason: 'not prunable: reaches graph output y', code: 'pinned' },
          { target: 'old', reason: 'no code' },
        ],
      },
    ]);
    expect(plans[0]!.skipped[0]).toEqual({ target: 'conv1', reason: 'has 8 channels, not more than round-to 8; left whole', code: 'too-small' });
    expect(plans[0]!.skipped[3]).toEqual({ target: 'old', reason: 'no code' });
    const html = renderReport({ ...sampleReport(), plans });
    expect(html).toContain('<summary>4 skipped (2 left whole by round-to)</summary>');
    expect(html).toContain('<li><code>conv2</code> <span class="muted">rounded</span>: would prune 2 of 128 channels; round-to 8 keeps all 128; left whole</li>');
    expect(html).toContain('<li><code>old</code>: no code</li>');
  });
});

describe('htmlReport plugin', () => {
  it('writes a report of the pipeline through the stager, with before/after and plans', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-plugin-'));
    const out = join(dir, 'report.html');
    // A strategy that masks half of every weight it finds.
    const half = definePlugin({
      name: 'half',
      kind: 'strategy',
      async plan(model): Promise<PruningPlan> {
        const actions = [...model.graph.initializers.values()]
          .filter((v) => v.constValue!.dtype === 'float32' && v.constValue!.size >= 16)
          .map((v) => ({ type: 'mask' as const, tensor: v.name, prune: Uint32Array.from({ length: v.constValue!.size >> 1 }, (_, i) => i) }));
        return { version: 1, strategy: 'half', actions, skipped: [{ target: 'x', reason: 'because' }] };
      },
    });
    const r = await pipeline(onnxImport(), half, htmlReport({ out, title: 'tiny' })).run(join(repo, 'fixtures', 'tiny-cnn.onnx'));
    expect(r.files).toEqual([out]);
    expect(r.steps[2]!.details).toMatchObject({ sections: ['summary', 'layers', 'plans'] });
    const html = readFileSync(out, 'utf8');
    const data = JSON.parse(html.match(/id="shears-report-data">([\s\S]*?)<\/script>/)![1]!) as ReportData;
    expect(data.summary!.before!.params).toBe(data.summary!.after!.params);
    expect(data.summary!.after!.nonzeroParams).toBeLessThan(data.summary!.before!.nonzeroParams);
    expect(data.layers!.length).toBeGreaterThan(0);
    expect(data.layers!.some((l) => l.sparsity >= 0.45)).toBe(true);
    expect(data.plans![0]).toMatchObject({ strategy: 'half', skipped: [{ target: 'x', reason: 'because' }] });
    expect(readdirSync(dir)).toEqual(['report.html']);
  });

  it('writes nothing when a later step fails', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'report-fail-'));
    const out = join(dir, 'report.html');
    const boom = definePlugin({ name: 'boom', kind: 'exporter', async export() { throw new Error('boom'); } });
    await expect(pipeline(onnxImport(), htmlReport({ out }), boom).run(join(repo, 'fixtures', 'tiny-cnn.onnx'))).rejects.toThrow(/boom/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('names itself and the option on bad options', () => {
    expect(() => htmlReport({} as never)).toThrow(/^report: option out/);
  });
});

/** x[1,3,5,7] → Conv(8) → BatchNormalization → Relu → Flatten → MatMul(6): no two of C, H, W alike. */
function convBnModel(): Model {
  const g = new Graph('g');
  const x = g.addInput(new Value('x', { kind: 'tensor', dtype: 'float32', shape: [1, 3, 5, 7] }));
  const init = (name: string, dims: number[], v = 0.5) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data: new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(v) }));
  const node = (opType: string, name: string, inputs: Value[], attributes = {}) => g.appendNode(new Node({ opType, name, inputs, outputs: [`${name}.y`], attributes })).outputs[0]!;
  let h = node('Conv', 'conv', [x, init('w', [8, 3, 3, 3])], { pads: { type: 'ints', value: [1, 1, 1, 1] } });
  h = node('BatchNormalization', 'bn', [h, init('s', [8], 1), init('b', [8], 0), init('m', [8], 0), init('v', [8], 1)]);
  h = node('Flatten', 'flat', [node('Relu', 'relu', [h])]);
  const y = node('MatMul', 'fc', [h, init('fc.w', [8 * 5 * 7, 6])]);
  g.outputs.push(y);
  return new Model({ graph: g, opsetImports: { '': 13 } });
}

describe('buildReportData', () => {
  it('reads channels on the op table\'s channel axis: BatchNorm shows C, not the image width', () => {
    const data = buildReportData(convBnModel(), { before: convBnModel() });
    const ch = Object.fromEntries(data.layers!.map((l) => [l.op, [l.channelsBefore, l.channelsAfter]]));
    expect(ch).toEqual({ Conv: [8, 8], BatchNormalization: [8, 8], MatMul: [6, 6] });
  });
});

describe('runs table', () => {
  it('shows params and non-zero params as two columns when the runs carry them', () => {
    const html = renderReport({ version: 1, runs: [{ name: 'dense', params: 2000, nonzeroParams: 2000, macs: 100, bytes: 10 }, { name: 'pruned', params: 2000, nonzeroParams: 900, macs: 50, bytes: 10 }] });
    expect(html).toContain('<th class="num">Params</th><th class="num">Non-zero params</th>');
    expect(html).toMatch(/pruned<\/td><td class="num">–<\/td><td class="num">2\.0k<\/td><td class="num">900<\/td>/);
    expect(renderReport({ version: 1, runs: [{ name: 'dense', macs: 100, bytes: 10 }] })).not.toContain('Non-zero params');
    expect(() => validateReportData({ version: 1, runs: [{ name: 'a', macs: 1, bytes: 1, nonzeroParams: 'x' }] })).toThrow(/runs\[0\]\.nonzeroParams must be a finite number/);
  });
});

describe('detection runs', () => {
  it('show mAP@0.5 and mAP@0.5:0.95 with changes against the first run, AP per class collapsed; accuracy runs stay as they were', () => {
    const html = renderReport(sampleDetectReport());
    expect(html).toContain('<th class="num">mAP@0.5</th><th class="num">Δ</th><th class="num">mAP@0.5:0.95</th><th class="num">Δ</th>');
    expect(html).not.toContain('<th class="num">Accuracy</th>');
    // The best mAP@0.5:0.95 in bold; the dense row has no change.
    expect(html).toContain('<td class="name">input (dense)</td><td class="num">87.40%</td><td class="num muted">–</td><td class="num strong">61.20%</td><td class="num muted">–</td>');
    expect(html).toMatch(/<details id="per-class-ap"><summary>AP per class \(3\)<\/summary>/);
    expect(html).toContain('<figcaption>mAP@0.5:0.95 vs MACs</figcaption>');
    expect(html).toMatch(/mAP@0\.5:0\.95<\/th><td class="num">61\.20%<\/td><td class="num">60\.30%<\/td><td class="num bad">−0\.90 pt/);
    const cls = renderReport(sampleReport());
    expect(ownMarkup(cls)).not.toContain('mAP');
    expect(cls).toContain('<th class="num">Accuracy</th>');
  });

  it('validate: detection fields round-trip, and a bad one is named', () => {
    expect(validateReportData(JSON.parse(JSON.stringify(sampleDetectReport())))).toEqual(sampleDetectReport());
    expect(() => validateReportData({ version: 1, runs: [{ name: 'a', macs: 1, bytes: 1, map: '0.5' }] })).toThrow(/runs\[0\]\.map must be a finite number/);
    expect(() => validateReportData({ version: 1, runs: [{ name: 'a', macs: 1, bytes: 1, perClass: [{ class: 0, gt: 'x' }] }] })).toThrow(/runs\[0\]\.perClass\[0\]\.gt must be a finite number/);
    expect(() => validateReportData({ version: 1, summary: { before: { params: 1, nonzeroParams: 1, macs: 1, bytes: 1, map50: 'x' } } })).toThrow(/summary\.before\.map50 must be a finite number/);
  });
});
