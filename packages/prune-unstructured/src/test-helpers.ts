// Shared helpers for this package's tests.
import { createRuntime } from '@shears/runtime';
import { defaultOpRegistry, mulberry32, silentLogger, silentProgress, StateBag, RunStager, type Logger, type PluginContext } from '@shears/core';

/** Seeded uniform [0, 1): core's mulberry32. */
export const rng = mulberry32;

export function context(extra: Partial<PluginContext> = {}): PluginContext & { warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (m) => warnings.push(m) };
  return { logger, progress: silentProgress, signal: new AbortController().signal, state: new StateBag(), ops: defaultOpRegistry(), runtime: createRuntime(), outputs: new RunStager(), dryRun: false, warnings, ...extra };
}

import { Graph, inferShapes, Model, Node, Tensor, Value, tensorType, type DType } from '@shears/core';

export interface LayerSpec {
  op: 'Conv' | 'Gemm' | 'MatMul' | 'Relu' | 'GlobalAveragePool' | 'Flatten';
  /** Weight dims (Conv [K, C/g, kh, kw]; Gemm as stored; MatMul B [K, N]). */
  w?: number[];
  attrs?: Record<string, number | number[]>;
  bias?: boolean;
  dtype?: DType;
  /** Weight values: a function of the flat index (default: seeded random in [-1, 1), never 0). */
  values?: (i: number) => number;
}

/** A chain of layers built with the IR, shapes inferred. */
export function chainModel(input: number[], layers: LayerSpec[], seed = 1): Model {
  const g = new Graph('chain');
  let x: Value = g.addInput(new Value('input', tensorType('float32', input)));
  const r = rng(seed);
  layers.forEach((l, i) => {
    const inputs: Value[] = [x];
    if (l.w) {
      const size = l.w.reduce((a, b) => a * b, 1);
      const vals = Array.from({ length: size }, (_, k) => (l.values ? l.values(k) : (r() * 2 - 1) || 0.5));
      const dtype = l.dtype ?? 'float32';
      const data = dtype === 'int32' ? Int32Array.from(vals, (v) => Math.round(v * 100)) : Float32Array.from(vals);
      inputs.push(g.addInitializer(new Tensor({ name: `l${i}.weight`, dtype, dims: l.w, data })));
      if (l.bias) {
        const n = l.op === 'Gemm' ? (l.attrs?.transB ? l.w[0]! : l.w[1]!) : l.w[0]!;
        inputs.push(g.addInitializer(new Tensor({ name: `l${i}.bias`, dtype: 'float32', dims: [n], data: Float32Array.from({ length: n }, () => r() * 0.2 - 0.1) })));
      }
    }
    const attributes = Object.fromEntries(
      Object.entries(l.attrs ?? {}).map(([k, v]) => [k, Array.isArray(v) ? { type: 'ints' as const, value: v } : { type: 'int' as const, value: v }]),
    );
    const node = g.appendNode(new Node({ opType: l.op, name: `l${i}`, inputs, outputs: [`y${i}`], attributes }));
    x = node.outputs[0]!;
  });
  g.outputs.push(x);
  const model = new Model({ graph: g, opsetImports: { '': 17 } });
  inferShapes(model);
  return model;
}

/** Conv stack with a grouped conv and a classifier: input 1×8×6×6. */
export function convModel(seed = 1): Model {
  return chainModel(
    [1, 8, 6, 6],
    [
      { op: 'Conv', w: [16, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true },
      { op: 'Relu' },
      { op: 'Conv', w: [12, 16, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true },
      { op: 'Relu' },
      { op: 'Conv', w: [12, 6, 1, 1], attrs: { group: 2 } },
      { op: 'Relu' },
      { op: 'Conv', w: [20, 12, 3, 3], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'GlobalAveragePool' },
      { op: 'Flatten' },
      { op: 'Gemm', w: [10, 20], attrs: { transB: 1 }, bias: true },
    ],
    seed,
  );
}

/** Gemm (transB 1), MatMul, Gemm (transB 0): input 1×24. */
export function mlpModel(seed = 1, values?: (i: number) => number): Model {
  return chainModel(
    [1, 24],
    [
      { op: 'Gemm', w: [16, 24], attrs: { transB: 1 }, bias: true, values },
      { op: 'Relu' },
      { op: 'MatMul', w: [16, 12], values },
      { op: 'Relu' },
      { op: 'Gemm', w: [12, 20], values },
      { op: 'Relu' },
      { op: 'Gemm', w: [20, 10], bias: true, values },
    ],
    seed,
  );
}

import type { Dataset } from '@shears/core';

/** An in-memory dataset of float samples. */
export function memDataset(x: Float32Array, sampleShape: number[]): Dataset {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const n = x.length / per;
  return {
    name: 'mem',
    size: n,
    sampleShape,
    async *batches(bs, opts) {
      const lim = Math.min(n, opts?.limit ?? n);
      for (let s = 0; s < lim; s += bs) {
        const e = Math.min(lim, s + bs);
        yield { x: x.slice(s * per, e * per), dims: [e - s, ...sampleShape] };
      }
    },
  };
}
