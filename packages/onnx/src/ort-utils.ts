// onnxruntime helpers for this package's tests (not exported from the package).
import type { Tensor } from '@shears/core';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import protobuf from 'protobufjs/minimal.js';
import { decodeTensor } from './decode-tensor.js';
import { plainBytes } from './proto.js';
import { decodeTensorProto } from './tensor-proto-decode.js';
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

/** A TensorProto file (the backend tests' input_N.pb / output_N.pb), decoded with this package's tensor decoder. */
export function decodeTensorFile(path: string): Tensor {
  const reader = protobuf.Reader.create(plainBytes(readFileSync(path)));
  return decodeTensor(decodeTensorProto(reader), { file: path, baseDir: dirname(path), external: [] });
}

const ORT_TYPES = new Set<string>(['float32', 'float64', 'int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64', 'bool', 'float16', 'string']);

/** An IR tensor as an onnxruntime input, or why it cannot be one (types the JS API lacks). */
export function toOrtTensor(t: Tensor): ort.Tensor | string {
  if (!ORT_TYPES.has(t.dtype)) return `onnxruntime-node has no ${t.dtype} tensors`;
  if (t.dtype === 'string') {
    const utf8 = new TextDecoder('utf-8', { fatal: true });
    try {
      return new ort.Tensor('string', (t.data as Uint8Array[]).map((s) => utf8.decode(s)), t.dims);
    } catch {
      return 'string input is not UTF-8';
    }
  }
  const v = t.values;
  const copy = v.slice(); // own buffer, aligned, no view of the file
  return new ort.Tensor(t.dtype as 'float32', copy as Float32Array, t.dims);
}

function tensorBytes(t: ort.Tensor): Buffer | string[] {
  if (t.type === 'string') return t.data as string[];
  const d = t.data as Uint8Array;
  return Buffer.from(d.buffer, d.byteOffset, d.byteLength);
}

/** onnxruntime results with the same names, types, dims and bit patterns. */
export function ortOutputsEqual(a: ort.InferenceSession.OnnxValueMapType, b: ort.InferenceSession.OnnxValueMapType): boolean {
  const ka = Object.keys(a);
  if (ka.join('\0') !== Object.keys(b).join('\0')) return false;
  for (const k of ka) {
    const x = a[k] as ort.Tensor;
    const y = b[k] as ort.Tensor;
    if (x.type !== y.type || x.dims.join(',') !== y.dims.join(',')) return false;
    const bx = tensorBytes(x);
    const by = tensorBytes(y);
    if (Array.isArray(bx) || Array.isArray(by)) {
      if (!Array.isArray(bx) || !Array.isArray(by) || bx.length !== by.length || bx.some((s, i) => s !== by[i])) return false;
    } else if (Buffer.compare(bx, by) !== 0) return false;
  }
  return true;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

function numbers(dtype: string, data: ArrayLike<number | bigint>): number[] {
  const out = Array.from(data, Number);
  return dtype === 'float16' ? out.map(half) : out;
}

/**
 * Compares an onnxruntime output with an expected tensor: same dtype and
 * dims, floats within |got - want| <= atol * max(1, max|want|) + rtol * |want|
 * (NaN matches NaN; atol scales with the tensor's magnitude, for near-zero
 * entries of large sums such as DFT outputs), everything else exactly.
 * Returns why they differ, or undefined.
 */
export function closeEnough(got: ort.Tensor, want: Tensor, rtol = 1e-3, atol = 1e-5): string | undefined {
  if (got.type !== want.dtype) return `dtype ${got.type}, expected ${want.dtype}`;
  if (got.dims.join(',') !== want.dims.join(',')) return `dims [${got.dims.join(',')}], expected [${want.dims.join(',')}]`;
  if (want.dtype === 'string') {
    const w = (want.data as Uint8Array[]).map((s) => Buffer.from(s).toString('utf8'));
    const g = got.data as string[];
    const i = w.findIndex((s, j) => s !== g[j]);
    return i < 0 ? undefined : `element ${i}: ${JSON.stringify(g[i])}, expected ${JSON.stringify(w[i])}`;
  }
  const g = numbers(got.type, got.data as ArrayLike<number>);
  const w = numbers(want.dtype, want.values as ArrayLike<number>);
  const float = got.type === 'float32' || got.type === 'float64' || got.type === 'float16';
  let scale = 1;
  for (const x of w) if (Math.abs(x) > scale && Number.isFinite(x)) scale = Math.abs(x);
  const tol = atol * scale;
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (Number.isNaN(a) && Number.isNaN(b)) continue;
    if (a === b) continue;
    if (float && Math.abs(a - b) <= tol + rtol * Math.abs(b)) continue;
    return `element ${i}: ${a}, expected ${b}`;
  }
  return undefined;
}
