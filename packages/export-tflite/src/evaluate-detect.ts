import { quantile, ShearsError } from '@shears/core';
import { evaluateDetectionWith, letterboxedImage, listYoloImages, type DetectEvalOptions, type DetectEvalResult } from '@shears/runtime';
import { loadLiteRtNode } from './litert.js';

export interface TfliteDetectEvalOptions extends Omit<DetectEvalOptions, 'threads' | 'providers'> {
  /** Timed runs of one letterboxed image for the latency figure (default 30; 0 skips it). */
  runs?: number;
  warmup?: number;
}

export interface TfliteDetectEvalResult extends DetectEvalResult {
  /** The .tflite input's batch size (1: detection feeds one image at a time). */
  batch: number;
  /** LiteRT.js (XNNPACK, one thread) latency of one image, over warm runs. */
  latencyMs?: { median: number; p90: number };
}

/** NCHW [1, 3, H, W] → NHWC [1, H, W, 3]. */
function toNhwc(src: Float32Array, dst: Float32Array, h: number, w: number): void {
  const plane = h * w;
  for (let c = 0; c < 3; c++) for (let p = 0; p < plane; p++) dst[p * 3 + c] = src[c * plane + p]!;
}

/** The .tflite input's layout and size: `[1, 3, H, W]` (default export) or `[1, H, W, 3]` (--nhwc-io). */
function detectInput(shape: number[]): { height: number; width: number; nhwc: boolean } {
  if (shape.length === 4 && shape[0] === 1 && shape[1] === 3) return { height: shape[2]!, width: shape[3]!, nhwc: false };
  if (shape.length === 4 && shape[0] === 1 && shape[3] === 3) return { height: shape[1]!, width: shape[2]!, nhwc: true };
  throw new ShearsError('E_DATA', `tflite: input has shape [${shape.join(', ')}]; detection evaluation needs [1, 3, H, W] or [1, H, W, 3] (RGB, batch 1)`);
}

/**
 * COCO mAP@0.5 and mAP@0.5:0.95 of a .tflite detector in the real TFLite
 * interpreter (LiteRT.js) on a YOLO folder, with the same letterbox, decoding,
 * NMS and mAP as `evaluateDetection` (onnxruntime), and its latency on one
 * real letterboxed image.
 */
export async function evaluateTfliteDetection(bytes: Uint8Array, folder: string, opts: TfliteDetectEvalOptions = {}): Promise<TfliteDetectEvalResult> {
  listYoloImages(folder); // a bad folder fails before LiteRT loads
  const lrt = await loadLiteRtNode();
  const model = await lrt.loadAndCompile(bytes, { accelerator: 'wasm' }).catch((e: Error) => {
    throw new ShearsError('E_RUNTIME', `tflite: LiteRT.js rejected the model: ${e.message}`, { cause: e });
  });
  try {
    const inputs = model.getInputDetails();
    if (inputs.length !== 1) throw new ShearsError('E_RUNTIME', `tflite: detection evaluation needs a model with one input (it has ${inputs.length})`);
    const shape = [...inputs[0]!.shape];
    const out0 = model.getOutputDetails()[0];
    const { height, width, nhwc } = detectInput(shape);
    const staging = nhwc ? new Float32Array(3 * height * width) : undefined;
    const run = async (input: Float32Array) => {
      if (staging) toNhwc(input, staging, height, width);
      const t = new lrt.Tensor(staging ?? input, shape);
      try {
        const outs = (await model.run([t])) as InstanceType<typeof lrt.Tensor>[];
        const data = (outs[0]!.toTypedArray() as Float32Array).slice();
        for (const o of outs) o.delete();
        return { data, dims: [...(out0?.shape ?? [data.length])] };
      } finally {
        t.delete();
      }
    };
    const r: TfliteDetectEvalResult = { ...(await evaluateDetectionWith(run, { height, width }, folder, { ...opts, outputName: out0?.name })), batch: 1 };
    const runs = opts.runs ?? 30;
    if (runs > 0) {
      const image = letterboxedImage(folder, height, width);
      for (let i = 0; i < (opts.warmup ?? 5); i++) await run(image);
      const times: number[] = [];
      for (let i = 0; i < runs; i++) {
        opts.signal?.throwIfAborted();
        const t0 = performance.now();
        await run(image);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      r.latencyMs = { median: quantile(times, 0.5), p90: quantile(times, 0.9) };
    }
    return r;
  } finally {
    model.delete();
  }
}
