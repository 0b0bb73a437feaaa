// A per-channel bias Add, scale Mul (and Sub, Div) after a Conv/Gemm/MatMul is
// sliced with its layer: its constant ([C,1,1], [1,C,1,1] or [C]) loses the
// removed channels, and the removed model computes what the masked one does.
import { describe, expect, it } from 'vitest';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import { fillUniform } from '../data/random.js';
import { cloneModel } from '../ir/clone.js';
import { Kit } from '../shape/test-kit.js';
import { removeChannels } from './apply.js';
import { buildDependencyGraph } from './graph.js';
import { maskChannels } from './mask.js';

interface Arr {
  dims: number[];
  data: Float64Array;
}

const size = (d: readonly number[]) => d.reduce((a, b) => a * b, 1);
const stridesOf = (d: readonly number[]) => d.map((_, i) => size(d.slice(i + 1)));

function broadcast(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const r = Math.max(a.dims.length, b.dims.length);
  const pad = (d: number[]) => [...new Array(r - d.length).fill(1), ...d];
  const [da, db] = [pad(a.dims), pad(b.dims)];
  const dims = da.map((x, i) => Math.max(x, db[i]!));
  const [sa, sb, so] = [stridesOf(da), stridesOf(db), stridesOf(dims)];
  const data = new Float64Array(size(dims));
  for (let i = 0; i < data.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let k = 0; k < r; k++) {
      const c = Math.floor(i / so[k]!) % dims[k]!;
      if (da[k]! > 1) ia += c * sa[k]!;
      if (db[k]! > 1) ib += c * sb[k]!;
    }
    data[i] = f(a.data[ia]!, b.data[ib]!);
  }
  return { dims, data };
}

/** [.., K] x [K, N] (transB: [N, K]). */
function matmul(a: Arr, b: Arr, transB = false): Arr {
  const K = a.dims.at(-1)!;
  const N = transB ? b.dims[0]! : b.dims[1]!;
  const rows = size(a.dims) / K;
  const data = new Float64Array(rows * N);
  for (let r = 0; r < rows; r++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a.data[r * K + k]! * b.data[transB ? n * K + k : k * N + n]!;
      data[r * N + n] = s;
    }
  return { dims: [...a.dims.slice(0, -1), N], data };
}

/** 1x1 Conv, group 1: per pixel, out[m] = sum_c W[m, c] x[c]. */
function conv1x1(x: Arr, w: Arr): Arr {
  const [n, c, h, wd] = x.dims as [number, number, number, number];
  const m = w.dims[0]!;
  const data = new Float64Array(n * m * h * wd);
  for (let b = 0; b < n; b++)
    for (let o = 0; o < m; o++)
      for (let p = 0; p < h * wd; p++) {
        let s = 0;
        for (let i = 0; i < c; i++) s += w.data[o * c + i]! * x.data[(b * c + i) * h * wd + p]!;
        data[(b * m + o) * h * wd + p] = s;
      }
  return { dims: [n, m, h, wd], data };
}

const OPS: Record<string, (n: Node, xs: Arr[]) => Arr> = {
  Conv: (_, [x, w]) => conv1x1(x!, w!),
  MatMul: (_, [a, b]) => matmul(a!, b!),
  Gemm: (n, [a, b]) => matmul(a!, b!, n.attrInt('transB', 0) === 1),
  Add: (_, [a, b]) => broadcast(a!, b!, (x, y) => x + y),
  Sub: (_, [a, b]) => broadcast(a!, b!, (x, y) => x - y),
  Mul: (_, [a, b]) => broadcast(a!, b!, (x, y) => x * y),
  Div: (_, [a, b]) => broadcast(a!, b!, (x, y) => x / y),
  Relu: (_, [a]) => ({ dims: a!.dims, data: a!.data.map((v) => Math.max(0, v)) }),
};

/** Run the (tiny, straight-line) graph in float64. */
function run(model: Model, feed: Arr): Arr {
  const env = new Map<Value, Arr>();
  const get = (v: Value): Arr => {
    const t = v.constValue;
    if (t) return { dims: [...t.dims], data: Float64Array.from(t.floats()) };
    return env.get(v) ?? feed;
  };
  for (const n of model.graph.nodes) env.set(n.outputs[0]!, OPS[n.opType]!(n, n.inputs.map((v) => get(v!))));
  return env.get(model.graph.outputs[0]!)!;
}

const seeded = (k: Kit, dims: number[], seed: number, offset = 0) => k.floats(dims, Array.from(fillUniform(new Float32Array(size(dims)), seed), (v) => v + offset));

function convModel(): { k: Kit; layer: Value } {
  const k = new Kit(13);
  const x = k.input('x', [1, 4, 3, 3]);
  const layer = k.one('Conv', [x, seeded(k, [8, 4, 1, 1], 1)], { kernel_shape: [1, 1] });
  const consts = [seeded(k, [8, 1, 1], 2), seeded(k, [1, 8, 1, 1], 3), seeded(k, [8, 1, 1], 4), seeded(k, [1, 8, 1, 1], 5, 2)];
  let y = layer;
  ['Add', 'Mul', 'Sub', 'Div'].forEach((op, i) => (y = k.one(op, [y, consts[i]!])));
  k.output(k.one('Conv', [k.one('Relu', [y]), seeded(k, [2, 8, 1, 1], 6)], { kernel_shape: [1, 1] }));
  return { k, layer };
}

function matmulModel(op: 'MatMul' | 'Gemm'): { k: Kit; layer: Value } {
  const k = new Kit(13);
  const x = k.input('x', [2, 5]);
  const layer = op === 'MatMul' ? k.one('MatMul', [x, seeded(k, [5, 6], 1)]) : k.one('Gemm', [x, seeded(k, [6, 5], 1)], { transB: 1 });
  const consts = [seeded(k, [6], 2), seeded(k, [6], 3), seeded(k, [6], 4), seeded(k, [6], 5, 2)];
  let y = layer;
  ['Mul', 'Add', 'Div', 'Sub'].forEach((o, i) => (y = k.one(o, [y, consts[i]!])));
  k.output(k.one('Gemm', [k.one('Relu', [y]), seeded(k, [3, 6], 6)], { transB: 1 }));
  return { k, layer };
}

describe('per-channel bias and scale constants after a layer', () => {
  const cases = [
    { name: 'Conv + Add [C,1,1], Mul [1,C,1,1], Sub [C,1,1], Div [1,C,1,1]', build: convModel, feed: [1, 4, 3, 3], remove: [0, 3, 5] },
    { name: 'MatMul + Mul/Add/Div/Sub [C]', build: () => matmulModel('MatMul'), feed: [2, 5], remove: [1, 4] },
    { name: 'Gemm + Mul/Add/Div/Sub [C]', build: () => matmulModel('Gemm'), feed: [2, 5], remove: [0, 2, 5] },
  ];
  it.each(cases)('$name: one prunable group; removed equals masked', ({ build, feed, remove }) => {
    const { k, layer } = build();
    const g = buildDependencyGraph(k.model);
    const group = g.group(layer.name)!;
    expect(group.pinned.filter(Boolean)).toEqual([]);
    const params = group.members.filter((m) => m.role === 'const').map((m) => m.node.opType);
    expect(params.sort()).toEqual(['Add', 'Div', 'Mul', 'Sub']);
    const x: Arr = { dims: feed, data: Float64Array.from(fillUniform(new Float32Array(size(feed)), 9)) };
    const masked = cloneModel(k.model);
    maskChannels(masked, new Map([[layer.name, remove]]));
    const removed = k.model;
    removeChannels(removed, new Map([[layer.name, remove]]));
    for (const n of removed.graph.nodes.filter((n) => ['Add', 'Mul', 'Sub', 'Div'].includes(n.opType))) {
      const c = n.input(1)!.constValue!;
      expect(size(c.dims), `${n.opType} constant`).toBe(group.size - remove.length);
    }
    const [a, b] = [run(masked, x), run(removed, x)];
    expect(b.dims).toEqual(a.dims);
    for (let i = 0; i < a.data.length; i++) expect(Math.abs(a.data[i]! - b.data[i]!)).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(a.data[i]!)));
  });
});
