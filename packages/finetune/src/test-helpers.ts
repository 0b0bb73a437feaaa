// Shared by the tests (not exported from the package).
import { readFileSync } from 'node:fs';
import { Graph, Model, Node, Tensor, Value, type Dataset, type Batch } from '@shears/core';
import { initBackend, type BackendInfo } from './backend.js';

/** CI runs the pure-JS path; SHEARS_FINETUNE_BACKEND=tensorflow runs the suite on tfjs-node. */
export const TEST_BACKEND = (process.env.SHEARS_FINETUNE_BACKEND ?? 'wasm') as 'wasm' | 'cpu' | 'tensorflow';

let backend: Promise<BackendInfo> | undefined;
export function testBackend(): Promise<BackendInfo> {
  backend ??= initBackend(TEST_BACKEND);
  return backend;
}

export function readF32(file: string): Float32Array {
  const b = readFileSync(file);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

export function randn(n: number, rand: () => number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = std * Math.sqrt(-2 * Math.log(rand() || 1e-9)) * Math.cos(2 * Math.PI * rand());
  return out;
}

/** An in-memory labelled dataset. */
export function memoryDataset(name: string, x: Float32Array, sampleShape: number[], y?: Int32Array, numClasses?: number): Dataset & { labels?: Int32Array } {
  const per = sampleShape.reduce((a, b) => a * b, 1);
  const size = x.length / per;
  return {
    name,
    size,
    sampleShape,
    numClasses: y ? (numClasses ?? Math.max(...y) + 1) : undefined,
    labels: y,
    async *batches(bs: number, o: { shuffle?: boolean; seed?: number; limit?: number } = {}): AsyncGenerator<Batch> {
      const n = Math.min(size, o.limit ?? size);
      const order = Array.from({ length: size }, (_, i) => i);
      if (o.shuffle) {
        const r = seeded(o.seed ?? 0);
        for (let i = size - 1; i > 0; i--) {
          const j = Math.floor(r() * (i + 1));
          [order[i], order[j]] = [order[j]!, order[i]!];
        }
      }
      for (let s = 0; s < n; s += bs) {
        const m = Math.min(bs, n - s);
        const xb = new Float32Array(m * per);
        const yb = y ? new Int32Array(m) : undefined;
        for (let k = 0; k < m; k++) {
          xb.set(x.subarray(order[s + k]! * per, (order[s + k]! + 1) * per), k * per);
          if (yb) yb[k] = y![order[s + k]!]!;
        }
        yield yb ? { x: xb, dims: [m, ...sampleShape], y: yb } : { x: xb, dims: [m, ...sampleShape] };
      }
    },
  };
}

/**
 * A small CNN with BatchNormalization (Conv-BN-ReLU, strided Conv-ReLU,
 * GlobalAveragePool, Flatten, Gemm): input N×1×12×12, 4 classes.
 */
export function smallCnn(seed = 1): Model {
  const r = seeded(seed);
  const g = new Graph('small');
  const x = g.addInput(new Value('input', { kind: 'tensor', dtype: 'float32', shape: ['N', 1, 12, 12] }));
  const init = (name: string, dims: number[], data: Float32Array) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data }));
  const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
  const w1 = init('conv1.weight', [8, 1, 3, 3], randn(72, r, 0.4));
  const b1 = init('conv1.bias', [8], randn(8, r, 0.1));
  const c1 = g.appendNode(new Node({ opType: 'Conv', name: 'conv1', inputs: [x, w1, b1], outputs: ['c1'], attributes: { kernel_shape: { type: 'ints', value: [3, 3] }, pads: { type: 'ints', value: [1, 1, 1, 1] } } }));
  const bn = g.appendNode(
    new Node({
      opType: 'BatchNormalization',
      name: 'bn1',
      inputs: [c1.outputs[0]!, init('bn1.scale', [8], Float32Array.from(randn(8, r, 0.2), (v) => 1 + v)), init('bn1.bias', [8], randn(8, r, 0.1)), init('bn1.mean', [8], randn(8, r, 0.1)), init('bn1.var', [8], Float32Array.from(randn(8, r, 0.2), (v) => 1 + Math.abs(v)))],
      outputs: ['bn'],
    }),
  );
  const a1 = g.appendNode(new Node({ opType: 'Relu', name: 'relu1', inputs: [bn.outputs[0]!], outputs: ['a1'] }));
  const w2 = init('conv2.weight', [16, 8, 3, 3], randn(size([16, 8, 3, 3]), r, 0.15));
  const c2 = g.appendNode(
    new Node({ opType: 'Conv', name: 'conv2', inputs: [a1.outputs[0]!, w2, init('conv2.bias', [16], randn(16, r, 0.1))], outputs: ['c2'], attributes: { kernel_shape: { type: 'ints', value: [3, 3] }, strides: { type: 'ints', value: [2, 2] }, pads: { type: 'ints', value: [1, 1, 1, 1] } } }),
  );
  const a2 = g.appendNode(new Node({ opType: 'Relu', name: 'relu2', inputs: [c2.outputs[0]!], outputs: ['a2'] }));
  const p = g.appendNode(new Node({ opType: 'GlobalAveragePool', name: 'pool', inputs: [a2.outputs[0]!], outputs: ['pool'] }));
  const f = g.appendNode(new Node({ opType: 'Flatten', name: 'flat', inputs: [p.outputs[0]!], outputs: ['flat'] }));
  const fc = g.appendNode(new Node({ opType: 'Gemm', name: 'fc', inputs: [f.outputs[0]!, init('fc.weight', [4, 16], randn(64, r, 0.3)), init('fc.bias', [4], new Float32Array(4))], outputs: ['logits'], attributes: { transB: { type: 'int', value: 1 } } }));
  const out = fc.outputs[0]!;
  out.type = { kind: 'tensor', dtype: 'float32', shape: ['N', 4] };
  g.outputs.push(out);
  return new Model({ graph: g, opsetImports: { '': 17 } });
}

/**
 * A learnable toy task for smallCnn: the class is the texture of a 4×4 patch
 * placed anywhere (horizontal stripes, vertical stripes, a checkerboard, a
 * solid block), so global pooling keeps what matters.
 */
export function quadrantData(n: number, seed = 3): { x: Float32Array; y: Int32Array } {
  const r = seeded(seed);
  const x = randn(n * 144, r, 0.3);
  const y = new Int32Array(n);
  const pattern = [(a: number, _b: number) => a % 2, (_a: number, b: number) => b % 2, (a: number, b: number) => (a + b) % 2, () => 1];
  for (let i = 0; i < n; i++) {
    const c = Math.floor(r() * 4);
    y[i] = c;
    const oy = 1 + Math.floor(r() * 7);
    const ox = 1 + Math.floor(r() * 7);
    for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) x[i * 144 + (oy + a) * 12 + ox + b] += 2 * pattern[c]!(a, b);
  }
  return { x, y };
}
