// The one evaluation loop, shared by the worker threads and the in-process
// path, so both count exactly the same samples in exactly the same way.
import { chunkBatch, labelRank, ShearsError } from '@shears/core';
// The scan evaluates models in worker threads, each with its own onnxruntime session: it runs models, so it depends on @shears/runtime.
import { Session } from '@shears/runtime';

/** A labelled dataset held in memory (SharedArrayBuffer-backed when shared with workers). */
export interface EvalArrays {
  /** `n × prod(sampleShape)` float32 samples, C order. */
  x: Float32Array;
  /** `n` class labels. */
  y: Int32Array;
  sampleShape: number[];
  /** Samples per run (cut further when the model's batch dimension is fixed). */
  batchSize: number;
  /** Name of the dataset, for errors. */
  name: string;
}

/** The model input to feed and its fixed batch size (null when dynamic). */
export interface InputSpec {
  name: string;
  batch: number | null;
}

/** Correctly classified samples (top-1; ties favour the label, as in @shears/runtime's evaluate). */
export async function countTop1(model: Uint8Array, input: InputSpec, data: EvalArrays): Promise<number> {
  const session = await Session.create(model, { threads: 1 });
  const n = data.y.length;
  const per = data.sampleShape.reduce((a, b) => a * b, 1);
  let correct = 0;
  try {
    for (let start = 0; start < n; start += data.batchSize) {
      const rows = Math.min(data.batchSize, n - start);
      // A copy: onnxruntime-node takes no views of shared memory.
      const batch = { x: data.x.slice(start * per, (start + rows) * per), dims: [rows, ...data.sampleShape], y: data.y.subarray(start, start + rows) };
      for (const { feeds, rows: r, offset } of chunkBatch(batch, input.name, input.batch)) {
        const out = await session.run(feeds);
        const logits = out[session.outputNames[0]!]!;
        const classes = logits.dims[logits.dims.length - 1]!;
        const scores = logits.data as Float32Array;
        for (let i = 0; i < r; i++) {
          const label = batch.y[offset + i]!;
          if (label < 0 || label >= classes) throw new ShearsError('E_DATA', `${data.name}: label ${label} at sample ${start + offset + i} is outside the model's ${classes} classes`);
          if (labelRank(scores, i, classes, label) === 0) correct++;
        }
      }
    }
  } finally {
    await session.release();
  }
  return correct;
}
