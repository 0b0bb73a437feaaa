import { labelRank, quantile, ShearsError, type Dataset } from '@shears/core';
import { loadLiteRtNode } from './litert.js';

export interface TfliteEvalOptions {
  /** Evaluate at most this many samples. */
  limit?: number;
  /** Timed runs of one input batch for the latency figure (default 30; 0 skips it). */
  runs?: number;
  warmup?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface TfliteEvalResult {
  /** Top-1 accuracy, a fraction in [0, 1]. */
  accuracy: number;
  samples: number;
  /** The .tflite input's batch size (its shapes are static). */
  batch: number;
  /** LiteRT.js (XNNPACK, one thread) latency of one batch, over warm runs. */
  latencyMs?: { median: number; p90: number };
}

/**
 * Top-1 accuracy of a .tflite classifier in the real TFLite interpreter
 * (LiteRT.js), and its latency. The model is compiled once; samples go in
 * chunks of its static batch size (the last chunk padded). Inputs are taken
 * in the dataset's layout (NCHW, as exported without --nhwc-io).
 */
export async function evaluateTflite(bytes: Uint8Array, data: Dataset, opts: TfliteEvalOptions = {}): Promise<TfliteEvalResult> {
  const lrt = await loadLiteRtNode();
  const model = await lrt.loadAndCompile(bytes, { accelerator: 'wasm' }).catch((e: Error) => {
    throw new ShearsError('E_RUNTIME', `tflite: LiteRT.js rejected the model: ${e.message}`, { cause: e });
  });
  try {
    const inputs = model.getInputDetails();
    if (inputs.length !== 1) throw new ShearsError('E_RUNTIME', `tflite: evaluation needs a model with one input (it has ${inputs.length})`);
    const shape = [...inputs[0]!.shape];
    const batch = shape[0]!;
    const per = shape.slice(1).reduce((a, b) => a * b, 1);
    const total = Math.min(data.size, opts.limit ?? Number.POSITIVE_INFINITY);
    const chunk = new Float32Array(batch * per);
    const runChunk = async (): Promise<Float32Array> => {
      const t = new lrt.Tensor(chunk, shape);
      try {
        const outs = (await model.run([t])) as InstanceType<typeof lrt.Tensor>[];
        const logits = (outs[0]!.toTypedArray() as Float32Array).slice();
        for (const o of outs) o.delete();
        return logits;
      } finally {
        t.delete();
      }
    };
    let correct = 0;
    let done = 0;
    for await (const b of data.batches(batch, { limit: total })) {
      opts.signal?.throwIfAborted();
      const rows = b.dims[0]!;
      if (!b.y) throw new ShearsError('E_DATA', `${data.name}: dataset has no labels, so accuracy cannot be measured`, { file: data.name });
      if (b.x.length !== rows * per) throw new ShearsError('E_DATA', `${data.name}: samples of ${b.x.length / rows} values do not fit the .tflite input ${JSON.stringify(shape)}`, { file: data.name });
      chunk.fill(0);
      chunk.set(b.x.subarray(0, rows * per));
      const logits = await runChunk();
      const classes = logits.length / batch;
      for (let r = 0; r < rows; r++) {
        if (labelRank(logits, r, classes, b.y[r]!) === 0) correct++;
      }
      done += rows;
      opts.onProgress?.(done, total);
    }
    const result: TfliteEvalResult = { accuracy: done ? correct / done : 0, samples: done, batch };
    const runs = opts.runs ?? 30;
    if (runs > 0) {
      for (let i = 0; i < (opts.warmup ?? 5); i++) await runChunk();
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await runChunk();
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      result.latencyMs = { median: quantile(times, 0.5), p90: quantile(times, 0.9) };
    }
    return result;
  } finally {
    model.delete();
  }
}
