// onnxruntime helpers for this package's tests (not exported from the package).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { readF32 } from './test-utils.js';

export interface ManifestEntry {
  name: string;
  file: string;
  inputShape: number[];
  outputShape: number[];
}

export function manifest(dir: string): ManifestEntry[] {
  const p = join(dir, 'manifest.json');
  return existsSync(p) ? (JSON.parse(readFileSync(p, 'utf8')) as ManifestEntry[]) : [];
}

/** A fixed input: NAME.input.bin next to the model when present, else a deterministic ramp. */
export function fixedInput(modelPath: string, shape: number[]): Float32Array {
  const bin = modelPath.replace(/\.onnx$/, '.input.bin');
  if (existsSync(bin)) return readF32(bin);
  const n = shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37));
}

/** Runs a model (bytes, or a path so external data resolves) on one float input; returns every output's raw bytes. */
export async function runOrt(model: Uint8Array | string, input: Float32Array, shape: number[]): Promise<Map<string, Uint8Array>> {
  const opts = { intraOpNumThreads: 1 };
  const session = typeof model === 'string' ? await ort.InferenceSession.create(model, opts) : await ort.InferenceSession.create(model, opts);
  try {
    const feeds = { [session.inputNames[0]!]: new ort.Tensor('float32', input, shape) };
    const out = await session.run(feeds);
    const result = new Map<string, Uint8Array>();
    for (const name of session.outputNames) {
      const d = out[name]!.data as Float32Array;
      result.set(name, new Uint8Array(d.buffer.slice(d.byteOffset, d.byteOffset + d.byteLength)));
    }
    return result;
  } finally {
    await session.release();
  }
}
