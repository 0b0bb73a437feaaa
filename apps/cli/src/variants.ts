import { readFileSync, statSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { analyzeModel, quantile, ShearsError, type Model, type ProgressReporter } from '@shears/core';
import type { Dataset } from '@shears/data';
import { readModel } from '@shears/onnx';
import { bench, evaluate, primaryInput } from '@shears/runtime';

/** How `shears run` evaluates the input and each output model (a recipe's `evaluate:`). */
export interface EvaluateConfig {
  data: string;
  limit?: number;
  bench?: { runs?: number; warmup?: number; batch?: number; threads?: number };
}

/** One model file of a run: the dense input or an output, measured alike. */
export interface Variant {
  name: string;
  file: string;
  format: 'onnx' | 'tflite';
  /** Top-1 on the evaluation data, a fraction. */
  accuracy?: number;
  samples?: number;
  params: number;
  nonzeroParams: number;
  /** Per sample. */
  macs: number;
  /** File size. */
  bytes: number;
  /** Median latency of one batch of `batch` samples in `runtime` (ONNX: median of 5 interleaved rounds). */
  latencyMs?: number;
  batch?: number;
  runtime: 'onnxruntime' | 'litert';
}

/** The model files worth measuring among a run's outputs (side files like reports are not). */
export function measurableFiles(files: readonly string[]): string[] {
  return files.filter((f) => ['.onnx', '.tflite'].includes(extname(f).toLowerCase()));
}

/** `batch` real samples from the data, as onnxruntime feeds for the model's input. */
async function realFeeds(model: Model, data: Dataset, batch: number) {
  const { name } = primaryInput(model);
  for await (const b of data.batches(batch, { limit: batch })) {
    if (b.dims[0] !== batch) break;
    return { [name]: { dims: b.dims, data: b.x } };
  }
  throw new ShearsError('E_DATA', `${data.name}: fewer than ${batch} samples for the latency batch`, { file: data.name, option: 'evaluate.bench.batch' });
}

/**
 * Accuracy, size, MACs and latency of each model file. ONNX runs in
 * onnxruntime-node (latency of one batch of `bench.batch` real samples);
 * .tflite in LiteRT.js (its static batch, one thread), with MACs and params
 * of `tfliteSource` (the model it was exported from).
 */
export async function measureVariants(
  items: { name: string; file: string }[],
  data: Dataset,
  cfg: EvaluateConfig,
  opts: { progress: ProgressReporter; signal?: AbortSignal; tfliteSource?: Model },
): Promise<Variant[]> {
  const out: Variant[] = [];
  const timed: { row: Variant; model: Model; feeds: Awaited<ReturnType<typeof realFeeds>> }[] = [];
  const batch = cfg.bench?.batch ?? 1;
  const runs = cfg.bench?.runs ?? 30;
  const total = Math.min(data.size, cfg.limit ?? data.size);
  for (const { name, file } of items) {
    opts.signal?.throwIfAborted();
    const bytes = statSync(file).size;
    const task = opts.progress.start(`evaluate ${name}`, total);
    let last = 0;
    const onProgress = (done: number) => {
      task.tick(done - last);
      last = done;
    };
    if (extname(file).toLowerCase() === '.tflite') {
      const { evaluateTflite } = await import('@shears/export-tflite');
      const r = await evaluateTflite(readFileSync(file), data, { limit: cfg.limit, runs, warmup: cfg.bench?.warmup, onProgress, signal: opts.signal });
      task.done(`${(100 * r.accuracy).toFixed(2)}%`);
      const src = opts.tfliteSource ? analyzeModel(opts.tfliteSource) : undefined;
      out.push({
        name,
        file,
        format: 'tflite',
        accuracy: r.accuracy,
        samples: r.samples,
        params: src?.params ?? 0,
        nonzeroParams: src?.nonzeroParams ?? 0,
        macs: src?.macs ?? 0,
        bytes,
        latencyMs: r.latencyMs?.median,
        batch: r.batch,
        runtime: 'litert',
      });
      continue;
    }
    const model = await readModel(file);
    const a = analyzeModel(model);
    const e = await evaluate(model, data, { limit: cfg.limit, onProgress, threads: cfg.bench?.threads });
    task.done(`${(100 * e.accuracy).toFixed(2)}%`);
    out.push({
      name,
      file,
      format: 'onnx',
      accuracy: e.accuracy,
      samples: e.samples,
      params: a.params,
      nonzeroParams: a.nonzeroParams,
      macs: a.macs,
      bytes,
      batch,
      runtime: 'onnxruntime',
    });
    timed.push({ row: out.at(-1)!, model, feeds: await realFeeds(model, data, batch) });
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
