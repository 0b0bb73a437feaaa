import { cloneModel, foldBatchNorms, runtimeInputs, ShearsError, Tensor, type Model, type ModelRuntime, type NamedTensor } from '@shears/core';
import { fitsHalf, fromHalf, toHalf } from './encode.js';
import type { TfliteConversion } from './convert.js';
import { channelsLast, invert, transposeData } from './layout.js';
import { runTflite, type TfliteTensorOut } from './litert.js';

export interface VerifyOptions {
  /** Runs the ONNX model (the pipeline's runtime); default onnxruntime-node through @shears/runtime. */
  runtime?: ModelRuntime;
  /** Seed of the random normal inputs (default 0). */
  seed?: number;
}

export interface VerifyResult {
  /**
   * With float16 weights: the difference from the ONNX model with the same
   * weights rounded to float16, i.e. the exporter's own error, separate from
   * the precision float16 gives up (which maxAbsDiff includes).
   */
  fp16Reference?: { maxAbsDiff: number; maxRelDiff: number };
  /** The independent TFLite runtime that ran the file. */
  runtime: string;
  reference: string;
  /** Largest |tflite − onnx| over all outputs. */
  maxAbsDiff: number;
  /** maxAbsDiff over the largest |onnx| value. */
  maxRelDiff: number;
  outputs: { name: string; shape: number[]; maxAbsDiff: number; maxAbs: number }[];
  seconds: number;
}

/** Seeded standard-normal values (xorshift + Box–Muller), so runs repeat. */
export function randomNormal(n: number, seed = 0): Float32Array {
  let s = (seed * 2654435761 + 0x9e3779b9) >>> 0 || 1;
  const next = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(next()));
    const t = 2 * Math.PI * next();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/**
 * Run the exported .tflite in LiteRT.js and the ONNX model in onnxruntime on
 * the same random inputs, and measure how far the outputs are apart.
 */
export async function verifyTflite(model: Model, conv: TfliteConversion, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const t0 = performance.now();
  const inputs = runtimeInputs(model.graph);
  const feeds: Record<string, NamedTensor> = {};
  const tflInputs = inputs.map((v, i) => {
    const io = conv.inputs[i]!;
    const onnxShape = io.layout === 'NHWC' ? [io.shape[0]!, io.shape[3]!, io.shape[1]!, io.shape[2]!] : io.shape;
    const n = onnxShape.reduce((a, b) => a * b, 1);
    if (v.dtype && v.dtype !== 'float32') throw new ShearsError('E_DTYPE', `tflite: verification feeds float32 inputs; input ${v.name} is ${v.dtype} (use --no-verify)`);
    const data = randomNormal(n, (opts.seed ?? 0) + i);
    feeds[v.name] = { dims: onnxShape, data };
    return { data: io.layout === 'NHWC' ? transposeData(data, onnxShape, channelsLast(4), new Float32Array(n)) : data, shape: io.shape };
  });
  const runtime = opts.runtime ?? new (await import('@shears/runtime')).OrtRuntime({ threads: 1 });
  const ref = await runtime.run(model, feeds);
  const got = await runTflite(conv.bytes, tflInputs);
  const outputs = diffOutputs(model, conv, ref, got);
  const summary = summarize(outputs);
  let fp16Reference: VerifyResult['fp16Reference'];
  if (conv.fp16Tensors > 0) {
    const rounded = await runtime.run(halfWeights(model), feeds);
    fp16Reference = summarize(diffOutputs(model, conv, rounded, got));
  }
  return {
    runtime: 'LiteRT.js (@litertjs/core, wasm CPU, 1 thread)',
    reference: runtime.name,
    ...summary,
    ...(fp16Reference ? { fp16Reference } : {}),
    outputs,
    seconds: (performance.now() - t0) / 1000,
  };
}

function summarize(outputs: VerifyResult['outputs']): { maxAbsDiff: number; maxRelDiff: number } {
  const maxAbsDiff = Math.max(0, ...outputs.map((o) => o.maxAbsDiff));
  const maxAbs = Math.max(0, ...outputs.map((o) => o.maxAbs));
  return { maxAbsDiff, maxRelDiff: maxAbs > 0 ? maxAbsDiff / maxAbs : maxAbsDiff };
}

/**
 * A copy of the model whose float weights are rounded to float16 as the
 * exporter stores them: BatchNormalization folded into the compute op before it first,
 * the statistics of the remaining ones kept in float32 (as the exporter does).
 */
function halfWeights(model: Model): Model {
  const m = cloneModel(model, { shareWeights: true });
  foldBatchNorms(m);
  for (const [name, v] of [...m.graph.initializers]) if (!v.uses().length && !m.graph.inputs.includes(v)) m.graph.removeInitializer(name);
  const keep = new Set(m.graph.nodes.filter((n) => n.opType === 'BatchNormalization').flatMap((n) => n.inputs.slice(1)));
  for (const v of m.graph.initializers.values()) {
    const t = v.constValue!;
    if (keep.has(v) || t.dtype !== 'float32' || t.size < 2 || !fitsHalf(t.floats())) continue;
    const src = t.floats();
    const out = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = fromHalf(toHalf(src[i]!));
    m.graph.replaceInitializer(v.name, new Tensor({ dtype: 'float32', dims: t.dims, data: out }));
  }
  return m;
}

function diffOutputs(model: Model, conv: TfliteConversion, ref: Record<string, NamedTensor>, got: TfliteTensorOut[]): VerifyResult['outputs'] {
  // Pair outputs by name (the .tflite keeps the ONNX output names), else by position.
  const byName = new Map(got.map((t) => [t.name, t]));
  return model.graph.outputs.map((v, i) => {
    const r = ref[v.name];
    const t = byName.get(v.name) ?? got[i];
    const io = conv.outputs[i]!;
    if (!r || !t) throw new ShearsError('E_RUNTIME', `tflite: output ${v.name} missing from ${!r ? 'onnxruntime' : 'LiteRT.js'}`);
    let data = Float32Array.from(t.data as ArrayLike<number>);
    if (io.layout === 'NHWC') data = transposeData(data, io.shape, invert(channelsLast(4)), new Float32Array(data.length));
    const x = r.data as ArrayLike<number | bigint>;
    if (x.length !== data.length) throw new ShearsError('E_RUNTIME', `tflite: output ${v.name} has ${data.length} values, onnxruntime gives ${x.length} (${r.dims.join('x')})`);
    let maxAbsDiff = 0;
    let maxAbs = 0;
    for (let k = 0; k < data.length; k++) {
      const a = Number(x[k]);
      const d = Math.abs(a - data[k]!);
      if (!(d <= maxAbsDiff)) maxAbsDiff = Number.isNaN(d) ? Infinity : d;
      maxAbs = Math.max(maxAbs, Math.abs(a));
    }
    return { name: v.name, shape: r.dims, maxAbsDiff, maxAbs };
  });
}
