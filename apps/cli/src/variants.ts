import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { analyzeModel, inferShapes, quantile, ShearsError, type Model, type NamedTensor, type ProgressReporter } from '@shears/core';
import type { Dataset } from '@shears/data';
import { encodeModel, readModel } from '@shears/onnx';
import { bench, detectionInputSize, evaluate, evaluateDetection, letterboxedImage, listYoloImages, primaryInput, type DetectEvalResult } from '@shears/runtime';

/** How `shears run` evaluates the input and each output model (a recipe's `evaluate:`). */
export interface EvaluateConfig {
  /** classify (default): top-1 on labelled samples; detect: COCO mAP on a YOLO folder. */
  task?: 'classify' | 'detect';
  data: string;
  limit?: number;
  /** detect: score threshold before NMS (default 0.001). */
  conf?: number;
  /** detect: NMS IoU threshold (default 0.7). */
  iou?: number;
  bench?: { runs?: number; warmup?: number; batch?: number; threads?: number };
}

/** AP of one class (COCO), null for a class without ground truth. */
export interface ClassAp {
  class: number;
  ap: number | null;
  ap50: number | null;
  /** Ground-truth boxes of the class. */
  gt: number;
}

/** One model of a run: the dense input, a `snapshot` step or an output file, measured alike. */
export interface Variant {
  name: string;
  /** The model file; absent for a `snapshot` (measured in memory). */
  file?: string;
  format: 'onnx' | 'tflite';
  /** Top-1 on the evaluation data, a fraction (classify). */
  accuracy?: number;
  samples?: number;
  /** COCO mAP@0.5:0.95 on the YOLO folder, a fraction (detect). */
  map?: number;
  /** COCO mAP@0.5 (detect). */
  map50?: number;
  /** Images evaluated (detect). */
  images?: number;
  /** Per-class AP (detect). */
  perClass?: ClassAp[];
  params: number;
  nonzeroParams: number;
  /** Per sample. */
  macs: number;
  /** File size (a snapshot: its ONNX serialization). */
  bytes: number;
  /** Median latency of one batch of `batch` samples in `runtime` (ONNX: median of 5 interleaved rounds). */
  latencyMs?: number;
  batch?: number;
  runtime: 'onnxruntime' | 'litert';
}

/** What a run evaluates on: labelled samples (classify) or a YOLO folder (detect; `inputShape` fixes dynamic input sizes). */
export type EvalSource = { task: 'classify'; data: Dataset } | { task: 'detect'; folder: string; inputShape?: Record<string, number[]> };

/** A model to measure: a file, or an in-memory model (a snapshot). */
export type VariantItem = { name: string; file: string; model?: undefined } | { name: string; file?: undefined; model: Model };

/** The model files worth measuring among a run's outputs (side files like reports are not). */
export function measurableFiles(files: readonly string[]): string[] {
  return files.filter((f) => ['.onnx', '.tflite'].includes(extname(f).toLowerCase()));
}

/** `batch` real samples from the data, as onnxruntime feeds for the model's input. */
async function realFeeds(model: Model, data: Dataset, batch: number): Promise<Record<string, NamedTensor>> {
  const { name } = primaryInput(model);
  for await (const b of data.batches(batch, { limit: batch })) {
    if (b.dims[0] !== batch) break;
    return { [name]: { dims: b.dims, data: b.x } };
  }
  throw new ShearsError('E_DATA', `${data.name}: fewer than ${batch} samples for the latency batch`, { file: data.name, option: 'evaluate.bench.batch' });
}

/** One real letterboxed image (the folder's first) as the detector's batch-1 feed. */
function detectFeeds(model: Model, folder: string): Record<string, NamedTensor> {
  const { name } = primaryInput(model);
  const { height, width } = detectionInputSize(model, name);
  return { [name]: { dims: [1, 3, height, width], data: letterboxedImage(folder, height, width) } };
}

/** Detection figures of a variant: fractions, and per-class AP (null where a class has no ground truth). */
function detectFigures(r: DetectEvalResult): Pick<Variant, 'map' | 'map50' | 'images' | 'perClass'> {
  const num = (x: number) => (Number.isNaN(x) ? null : x);
  const perClass = Array.from(r.ap, (ap, c) => ({ class: c, ap: num(ap), ap50: num(r.ap50[c]!), gt: r.gtCount[c]! }));
  return { map: r.map, map50: r.map50, images: r.images, perClass };
}

/** The primary input has a static shape. */
const isStatic = (m: Model) => m.graph.inputs.find((v) => v.name === primaryInput(m).name)?.shape?.every((d) => typeof d === 'number') ?? false;

const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

/** Phase: a .tflite file in LiteRT.js, with MACs and params of the model it was exported from. */
async function measureTflite(name: string, file: string, src: EvalSource, cfg: EvaluateConfig, o: { onProgress: (d: number) => void; signal?: AbortSignal; tfliteSource?: Model }): Promise<{ row: Variant; done: string }> {
  const tfl = await import('@shears/export-tflite');
  const bytes = readFileSync(file);
  const common = { limit: cfg.limit, runs: cfg.bench?.runs ?? 30, warmup: cfg.bench?.warmup, onProgress: o.onProgress, signal: o.signal };
  const a = o.tfliteSource ? analyzeModel(o.tfliteSource) : undefined;
  const base = { name, file, format: 'tflite' as const, params: a?.params ?? 0, nonzeroParams: a?.nonzeroParams ?? 0, macs: a?.macs ?? 0, bytes: bytes.length, runtime: 'litert' as const };
  if (src.task === 'detect') {
    const r = await tfl.evaluateTfliteDetection(bytes, src.folder, { ...common, conf: cfg.conf, iou: cfg.iou });
    return { row: { ...base, ...detectFigures(r), latencyMs: r.latencyMs?.median, batch: r.batch }, done: `mAP@0.5:0.95 ${pct(r.map)}` };
  }
  const r = await tfl.evaluateTflite(bytes, src.data, common);
  return { row: { ...base, accuracy: r.accuracy, samples: r.samples, latencyMs: r.latencyMs?.median, batch: r.batch }, done: pct(r.accuracy) };
}

/** Phase: an ONNX model (file or snapshot) in onnxruntime; latency comes later, interleaved. */
async function measureOnnx(item: VariantItem, src: EvalSource, cfg: EvaluateConfig, o: { onProgress: (d: number) => void; signal?: AbortSignal }) {
  const model = item.model ?? (await readModel(item.file));
  // A dynamic input gets the recipe's inputShape (the pipeline's models have it already).
  if (src.task === 'detect' && src.inputShape && !isStatic(model)) inferShapes(model, { inputShapes: src.inputShape });
  const a = analyzeModel(model);
  const bytes = item.file ? statSync(item.file).size : encodeModel(model).length;
  const base = { name: item.name, ...(item.file ? { file: item.file } : {}), format: 'onnx' as const, params: a.params, nonzeroParams: a.nonzeroParams, macs: a.macs, bytes, runtime: 'onnxruntime' as const };
  if (src.task === 'detect') {
    const r = await evaluateDetection(model, src.folder, { limit: cfg.limit, conf: cfg.conf, iou: cfg.iou, threads: cfg.bench?.threads, onProgress: o.onProgress, signal: o.signal });
    return { row: { ...base, ...detectFigures(r), batch: 1 } as Variant, model, feeds: detectFeeds(model, src.folder), done: `mAP@0.5:0.95 ${pct(r.map)}` };
  }
  const batch = cfg.bench?.batch ?? 1;
  const e = await evaluate(model, src.data, { limit: cfg.limit, onProgress: o.onProgress, threads: cfg.bench?.threads });
  return { row: { ...base, accuracy: e.accuracy, samples: e.samples, batch } as Variant, model, feeds: await realFeeds(model, src.data, batch), done: pct(e.accuracy) };
}

/**
 * Accuracy (classify) or COCO mAP (detect), size, MACs and latency of each
 * model. ONNX runs in onnxruntime-node (latency of one batch of `bench.batch`
 * real samples; detect: one letterboxed image); .tflite in LiteRT.js (its
 * static batch, one thread), with MACs and params of `tfliteSource` (the
 * model it was exported from).
 */
export async function measureVariants(
  items: VariantItem[],
  src: EvalSource,
  cfg: EvaluateConfig,
  opts: { progress: ProgressReporter; signal?: AbortSignal; tfliteSource?: Model },
): Promise<Variant[]> {
  const out: Variant[] = [];
  const timed: { row: Variant; model: Model; feeds: Record<string, NamedTensor> }[] = [];
  const runs = cfg.bench?.runs ?? 30;
  const size = src.task === 'classify' ? src.data.size : listYoloImages(src.folder).length;
  const total = Math.min(size, cfg.limit ?? size);
  for (const item of items) {
    opts.signal?.throwIfAborted();
    const task = opts.progress.start(`evaluate ${item.name}`, total);
    let last = 0;
    const onProgress = (done: number) => {
      task.tick(done - last);
      last = done;
    };
    if (item.file && extname(item.file).toLowerCase() === '.tflite') {
      const r = await measureTflite(item.name, item.file, src, cfg, { onProgress, signal: opts.signal, tfliteSource: opts.tfliteSource });
      task.done(r.done);
      out.push(r.row);
      continue;
    }
    const r = await measureOnnx(item, src, cfg, { onProgress, signal: opts.signal });
    task.done(r.done);
    out.push(r.row);
    timed.push(r);
  }
  // ONNX latencies in interleaved rounds (A B C, A B C, …), the median of
  // round medians: a load change mid-way then hits every model alike.
  const rounds = Math.min(ROUNDS, runs);
  const perRound: number[][] = timed.map(() => []);
  for (let k = 0; k < rounds; k++)
    for (const [i, t] of timed.entries()) {
      opts.signal?.throwIfAborted();
      const b = await bench(t.model, { feeds: t.feeds, runs: Math.ceil(runs / rounds), warmup: cfg.bench?.warmup ?? 5, threads: cfg.bench?.threads });
      perRound[i]!.push(b.latencyMs.median);
    }
  for (const [i, t] of timed.entries()) t.row.latencyMs = quantile(perRound[i]!.sort((a, b) => a - b), 0.5);
  return out;
}

const ROUNDS = 5;

/** A short display name for an output file of a step. */
export function variantName(plugin: string, file: string): string {
  return `${plugin}: ${basename(file)}`;
}
