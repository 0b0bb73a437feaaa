import { basename } from 'node:path';
import type { Model, PipelineResult } from '@shears/core';
import { PLANS } from '@shears/core';
import { buildReportData, type ReportData } from '@shears/report';
import { SENSITIVITY } from '@shears/sensitivity';
import type { EvaluateConfig, Variant } from './variants.js';

const detailsOf = (r: PipelineResult, plugin: string) => r.steps.find((s) => s.plugin === plugin)?.details as Record<string, any> | undefined;

/**
 * The report of a pipeline run: model before/after, per-layer rows and plans
 * (from the models), the sensitivity curves (if a `sensitivity` step ran),
 * every measured variant, and what the exporters found.
 */
export function runReportData(
  r: PipelineResult,
  opts: { dense?: Model; title: string; input?: string; variants: Variant[]; evaluate?: EvaluateConfig },
): ReportData {
  const data = buildReportData(r.model, { before: opts.dense, plans: r.state.get(PLANS), title: opts.title, model: opts.input ? basename(opts.input) : undefined });
  const [dense, ...outputs] = opts.variants;
  // "After" is the first ONNX file written (snapshots are mid-pipeline rows).
  const after = outputs.find((v) => v.format === 'onnx' && v.file !== undefined);
  const measured = (v: Variant) => ({ accuracy: v.accuracy, map: v.map, map50: v.map50, latencyMs: v.latencyMs });
  if (data.summary?.before && dense) Object.assign(data.summary.before, measured(dense));
  if (data.summary?.after && after) Object.assign(data.summary.after, measured(after));
  // Latencies from another runtime or batch are not comparable: the name says which.
  const same = (v: Variant) => v.runtime === dense?.runtime && v.batch === dense?.batch;
  if (opts.variants.length)
    data.runs = opts.variants.map((v) => ({
      name: same(v) ? v.name : `${v.name} (${v.runtime}, batch ${v.batch ?? 1})`,
      ...measured(v),
      ...(v.perClass ? { perClass: v.perClass } : {}),
      params: v.params,
      nonzeroParams: v.nonzeroParams,
      macs: v.macs,
      bytes: v.bytes,
    }));
  const sens = r.state.get(SENSITIVITY);
  // Each curve starts from the unpruned baseline at amount 0.
  if (sens) data.sensitivity = sens.curves.map((c) => ({ layer: c.layer, points: c.points.some((p) => p.amount === 0) ? c.points : [{ amount: 0, accuracy: sens.baseline }, ...c.points] }));
  const tfl = detailsOf(r, 'tflite-export');
  const trt = detailsOf(r, 'tensorrt-export');
  if (tfl || trt) {
    data.exports = {};
    if (tfl) data.exports.tflite = { path: String(tfl.path), bytes: Number(tfl.bytes), ops: tfl.ops ?? {}, maxAbsDiff: Number(tfl.maxAbsDiff ?? Number.NaN) };
    if (trt && Array.isArray(trt.layers))
      data.exports.tensorrt = {
        compliantFraction: Number(trt.compliantFraction ?? 0),
        layers: trt.layers.map((l: Record<string, unknown>) => ({ name: String(l.name), eligible: Boolean(l.eligible), compliant: Boolean(l.compliant), reason: String(l.reason ?? 'ok') })),
      };
  }
  const notes: string[] = [];
  const b = opts.evaluate?.bench;
  if (opts.variants.length && opts.evaluate) {
    const ev = opts.evaluate;
    if (ev.task === 'detect') {
      const n = opts.variants[0]?.images;
      notes.push(
        `mAP: COCO mAP@0.5 and mAP@0.5:0.95 (101-point interpolation, as pycocotools) on the YOLO folder ${ev.data}${n ? ` (${n} images)` : ''}; images letterboxed to the model input, boxes scoring above ${ev.conf ?? 0.001}, class-aware NMS at IoU ${ev.iou ?? 0.7}.`,
      );
    } else {
      const n = opts.variants[0]?.samples;
      notes.push(`Accuracy: top-1 on ${ev.data}${n ? ` (${n} samples)` : ''}.`);
    }
    const what = ev.task === 'detect' ? 'one real letterboxed image (batch 1)' : `one batch of ${b?.batch ?? 1} real samples`;
    notes.push(
      `Latency of ${what}: ONNX in onnxruntime-node (${b?.threads ? `${b.threads} thread${b.threads > 1 ? 's' : ''}` : 'all cores'}), the median of 5 interleaved rounds over the models, ${b?.runs ?? 30} runs in all; .tflite in LiteRT.js (XNNPACK, one thread, its static batch), the median of ${b?.runs ?? 30} runs.`,
    );
  }
  const snaps = opts.variants.filter((v) => v.file === undefined).map((v) => `"${v.name}"`);
  if (snaps.length) notes.push(`${snaps.join(', ')}: the model as a snapshot step kept it mid-pipeline (measured in memory; size of its ONNX serialization).`);
  if (sens) notes.push(`Sensitivity: each ${sens.strategy === 'filter' ? 'channel group' : 'layer'} pruned alone; baseline ${(100 * sens.baseline).toFixed(2)}% on ${sens.samples} samples, tolerance ${(100 * sens.tolerance).toFixed(1)} points.`);
  if (notes.length) data.notes = notes;
  return data;
}

/**
 * `--report` of a pipeline command: the run's report against the input file
 * (read again, since steps may have changed the loaded model), written
 * atomically and never over an input.
 */
export async function writeRunReport(path: string, r: PipelineResult, opts: { input: string; title: string; protect?: string[] }): Promise<string> {
  const [{ readModel }, { writeReport }, { samePath, ShearsError }] = await Promise.all([import('@shears/onnx'), import('@shears/report'), import('@shears/core')]);
  for (const f of [opts.input, ...(opts.protect ?? [])])
    if (samePath(f, path)) throw new ShearsError('E_IO', `${path}: refusing to write the report over an input file`, { file: path, option: 'report' });
  const dense = await readModel(opts.input);
  return writeReport(runReportData(r, { dense, title: opts.title, input: opts.input, variants: [] }), path).path;
}
