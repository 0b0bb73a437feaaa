import { Graph, Model, Node, ShearsError, Tensor, Value, type AttributeValue } from '@shears/core';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { Session } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BackendInfo, Tensor as TfTensor } from './backend.js';
import { conv2d, convTranspose2d } from './graph/conv.js';
import { TfGraph } from './graph/graph.js';
import { randn, readF32, seeded, smallCnn, testBackend } from './test-helpers.js';

let backend: BackendInfo;
beforeAll(async () => {
  backend = await testBackend();
});

function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]! - got[i]!));
    maxRef = Math.max(maxRef, Math.abs(ref[i]!));
  }
  return maxAbs / Math.max(maxRef, 1e-12);
}

async function ortRun(model: Model, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await Session.create(model, { threads: 1 });
  try {
    const out = await s.run({ [s.inputNames[0]!]: { dims, data: x } });
    return out[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

function tfRun(model: Model, x: Float32Array, dims: number[]): { data: Float32Array; shape: number[] } {
  const tf = backend.tf;
  const g = TfGraph.build(model, { backend });
  try {
    const t = tf.tidy(() => g.forward(tf.tensor(x, dims), { training: false }).outputs[g.outputNames[0]!]!.clone());
    const data = Float32Array.from(t.dataSync() as Float32Array);
    const shape = [...t.shape];
    t.dispose();
    return { data, shape };
  } finally {
    g.dispose();
  }
}

type Attrs = Record<string, AttributeValue>;
const ints = (value: number[]): AttributeValue => ({ type: 'ints', value });
const int = (value: number): AttributeValue => ({ type: 'int', value });
const str = (value: string): AttributeValue => ({ type: 'string', value });
const flt = (value: number): AttributeValue => ({ type: 'float', value });

/**
 * A model built from node specs: inputs are the graph input 'x', earlier
 * outputs, or initializers given as [dims, data] ('i64:' prefix for int64).
 */
function zoo(inputDims: number[], nodes: { op: string; inputs: (string | [number[], number[] | Float32Array] | null)[]; attrs?: Attrs; outputs?: number }[]): Model {
  const g = new Graph('zoo');
  const vals = new Map<string, Value>();
  vals.set('x', g.addInput(new Value('x', { kind: 'tensor', dtype: 'float32', shape: inputDims })));
  let k = 0;
  let last: Value | undefined;
  nodes.forEach((n, i) => {
    const ins = n.inputs.map((s) => {
      if (s === null) return null;
      if (typeof s === 'string') {
        if (s.startsWith('i64:')) {
          const nums = JSON.parse(s.slice(4)) as number[];
          return g.addInitializer(Tensor.fromInt64(`c${k++}`, [nums.length], nums));
        }
        return vals.get(s)!;
      }
      const [dims, data] = s;
      return g.addInitializer(new Tensor({ name: `w${k++}`, dtype: 'float32', dims, data: Float32Array.from(data) }));
    });
    const outs = Array.from({ length: n.outputs ?? 1 }, (_, j) => `n${i}_${j}`);
    const node = g.appendNode(new Node({ opType: n.op, name: `n${i}`, inputs: ins, outputs: outs, attributes: n.attrs }));
    node.outputs.forEach((o, j) => vals.set(j ? `n${i}_${j}` : `n${i}`, o));
    last = node.outputs[0];
  });
  last!.type = { kind: 'tensor', dtype: 'float32' };
  g.outputs.push(last!);
  return new Model({ graph: g, opsetImports: { '': 17 } });
}

const r = seeded(11);
const W = (dims: number[], std = 0.3): [number[], Float32Array] => [dims, randn(dims.reduce((a, b) => a * b, 1), r, std)];

const CASES: [string, number[], Parameters<typeof zoo>[1]][] = [
  ['Conv stride 2, asymmetric pads', [2, 3, 9, 9], [{ op: 'Conv', inputs: ['x', W([4, 3, 3, 3]), W([4])], attrs: { strides: ints([2, 2]), pads: ints([0, 1, 1, 2]) } }]],
  ['Conv grouped (2 groups)', [2, 4, 8, 8], [{ op: 'Conv', inputs: ['x', W([6, 2, 3, 3])], attrs: { group: int(2), pads: ints([1, 1, 1, 1]) } }]],
  ['Conv grouped (8 groups)', [1, 16, 6, 6], [{ op: 'Conv', inputs: ['x', W([16, 2, 3, 3])], attrs: { group: int(8), pads: ints([1, 1, 1, 1]) } }]],
  ['Conv depthwise with multiplier 2', [2, 4, 7, 7], [{ op: 'Conv', inputs: ['x', W([8, 1, 3, 3]), W([8])], attrs: { group: int(4), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }]],
  ['Conv dilated', [1, 3, 10, 10], [{ op: 'Conv', inputs: ['x', W([4, 3, 3, 3])], attrs: { dilations: ints([2, 2]), pads: ints([2, 2, 2, 2]) } }]],
  ['Conv SAME_UPPER', [1, 2, 7, 7], [{ op: 'Conv', inputs: ['x', W([3, 2, 4, 4])], attrs: { auto_pad: str('SAME_UPPER'), strides: ints([2, 2]) } }]],
  ['Conv 1-D', [2, 3, 11], [{ op: 'Conv', inputs: ['x', W([5, 3, 3]), W([5])], attrs: { pads: ints([1, 1]), strides: ints([2]) } }]],
  ['ConvTranspose stride 2, pads, output_padding', [1, 4, 5, 5], [{ op: 'ConvTranspose', inputs: ['x', W([4, 3, 3, 3]), W([3])], attrs: { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), output_padding: ints([1, 1]) } }]],
  ['MaxPool ceil_mode with pads', [1, 3, 8, 8], [{ op: 'MaxPool', inputs: ['x'], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), ceil_mode: int(1) } }]],
  ['AveragePool pads, count_include_pad=0', [1, 2, 7, 7], [{ op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) } }]],
  ['AveragePool pads, count_include_pad=1, ceil', [1, 2, 8, 8], [{ op: 'AveragePool', inputs: ['x'], attrs: { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), count_include_pad: int(1), ceil_mode: int(1) } }]],
  ['BatchNormalization → GlobalAveragePool', [2, 3, 4, 4], [{ op: 'BatchNormalization', inputs: ['x', W([3]), W([3]), W([3]), [[3], [1, 0.5, 2]]] }, { op: 'GlobalAveragePool', inputs: ['n0'] }]],
  ['Concat + Split + Slice on channels of NHWC values', [1, 2, 5, 5], [
    { op: 'Conv', inputs: ['x', W([4, 2, 1, 1])] },
    { op: 'Concat', inputs: ['n0', 'x'], attrs: { axis: int(1) } },
    { op: 'Split', inputs: ['n1', 'i64:[1,5]'], attrs: { axis: int(1) }, outputs: 2 },
    { op: 'Slice', inputs: ['n2_1', 'i64:[1,0]', 'i64:[4,-1]', 'i64:[1,3]', 'i64:[1,2]'] },
    { op: 'Relu', inputs: ['n3'] },
  ]],
  ['Transpose round trip and LayerNorm on channels last', [1, 4, 3, 3], [
    { op: 'Conv', inputs: ['x', W([4, 4, 1, 1])] },
    { op: 'Transpose', inputs: ['n0'], attrs: { perm: ints([0, 2, 3, 1]) } },
    { op: 'LayerNormalization', inputs: ['n1', W([4]), W([4])], attrs: { axis: int(-1), epsilon: flt(1e-5) } },
    { op: 'Transpose', inputs: ['n2'], attrs: { perm: ints([0, 3, 1, 2]) } },
    { op: 'Conv', inputs: ['n3', W([2, 4, 1, 1])] },
  ]],
  ['Channel shuffle (Reshape/Transpose/Reshape via Shape)', [2, 4, 3, 3], [
    { op: 'Conv', inputs: ['x', W([4, 4, 1, 1])] },
    { op: 'Shape', inputs: ['n0'] },
    { op: 'Gather', inputs: ['n1', 'i64:[0]'], attrs: { axis: int(0) } },
    { op: 'Concat', inputs: ['n2', 'i64:[2,2,3,3]'], attrs: { axis: int(0) } },
    { op: 'Reshape', inputs: ['n0', 'n3'] },
    { op: 'Transpose', inputs: ['n4'], attrs: { perm: ints([0, 2, 1, 3, 4]) } },
    { op: 'Reshape', inputs: ['n5', 'i64:[2,4,3,3]'] },
  ]],
  ['Softmax on channels, ReduceMean keepdims 0', [2, 3, 4, 4], [
    { op: 'Conv', inputs: ['x', W([3, 3, 1, 1])] },
    { op: 'Softmax', inputs: ['n0'], attrs: { axis: int(1) } },
    { op: 'ReduceMean', inputs: ['n1'], attrs: { axes: ints([2, 3]), keepdims: int(0) } },
  ]],
  ['Resize linear half_pixel + nearest asymmetric', [1, 2, 4, 4], [
    { op: 'Conv', inputs: ['x', W([2, 2, 1, 1])] },
    { op: 'Resize', inputs: ['n0', null, [[4], [1, 1, 2, 2]]], attrs: { mode: str('linear'), coordinate_transformation_mode: str('half_pixel') } },
    { op: 'Resize', inputs: ['n1', null, [[4], [1, 1, 2, 2]]], attrs: { mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor') } },
  ]],
  ['Pad reflect, Clip, HardSwish, HardSigmoid, PRelu, Erf, Sigmoid·x', [1, 3, 5, 5], [
    { op: 'Pad', inputs: ['x', 'i64:[0,0,1,2,0,0,2,1]'], attrs: { mode: str('reflect') } },
    { op: 'Clip', inputs: ['n0', [[], [-0.5]], [[], [0.8]]] },
    { op: 'HardSwish', inputs: ['n1'] },
    { op: 'HardSigmoid', inputs: ['n2'], attrs: { alpha: flt(0.3) } },
    { op: 'PRelu', inputs: ['n3', W([3, 1, 1])] },
    { op: 'Erf', inputs: ['n4'] },
    { op: 'Sigmoid', inputs: ['n5'] },
    { op: 'Mul', inputs: ['n6', 'n5'] },
  ]],
  ['MatMul rank 3 + Add bias + Gemm', [2, 3, 4], [
    { op: 'MatMul', inputs: ['x', W([4, 5])] },
    { op: 'Add', inputs: ['n0', W([5])] },
    { op: 'Flatten', inputs: ['n1'], attrs: { axis: int(1) } },
    { op: 'Gemm', inputs: ['n2', W([6, 15]), W([6])], attrs: { transB: int(1), alpha: flt(0.5), beta: flt(2) } },
  ]],
];

describe('ONNX → tfjs translation', () => {
  it.each(CASES)('%s matches onnxruntime', async (_name, dims, nodes) => {
    const model = zoo(dims, nodes);
    const x = randn(dims.reduce((a, b) => a * b, 1), seeded(5));
    const ref = await ortRun(model, x, dims);
    const got = tfRun(model, x, dims);
    expect(got.data.length).toBe(ref.length);
    expect(relErr(ref, got.data)).toBeLessThan(1e-4);
  });

  it('matches onnxruntime on fixtures/tiny-cnn.onnx (real BatchNormalization nodes, residual Adds)', async () => {
    const file = smallFixture('tiny-cnn.onnx');
    const model = await readModel(file);
    expect(model.graph.nodes.filter((n) => n.opType === 'BatchNormalization').length).toBeGreaterThan(0);
    const x = readF32(file.replace(/\.onnx$/, '.input.bin'));
    const ref = readF32(file.replace(/\.onnx$/, '.output.bin'));
    const got = tfRun(model, x, [1, 3, 32, 32]);
    expect(relErr(ref, got.data)).toBeLessThan(1e-4);
    // A batch of 3 (the IR says batch 1) gives the per-sample results.
    const x3 = new Float32Array(3 * x.length);
    for (let i = 0; i < 3; i++) x3.set(x, i * x.length);
    const got3 = tfRun(model, x3, [3, 3, 32, 32]);
    expect(got3.shape).toEqual([3, 10]);
    expect(relErr(ref, got3.data.subarray(20, 30))).toBeLessThan(1e-4);
  });

  it('refuses an op it cannot translate, naming the op and the node', async () => {
    const model = await readModel(smallFixture('unknown-op.onnx'));
    let err: unknown;
    try {
      TfGraph.build(model, { backend });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShearsError);
    expect((err as ShearsError).code).toBe('E_UNKNOWN_OP');
    expect((err as ShearsError).message).toMatch(/com\.example::FancyOp/);
    expect((err as ShearsError).node).toBeTruthy();
    expect((err as ShearsError).message).toContain((err as ShearsError).node!);
  });

  it('makes variables once in the layout their op wants, and writes them back in ONNX order', () => {
    const model = smallCnn();
    const before = Float32Array.from(model.graph.initializer('conv2.weight')!.floats());
    const g = TfGraph.build(model, { backend });
    try {
      const p = g.params.find((q) => q.name === 'conv2.weight')!;
      expect(p.perm).toEqual([2, 3, 1, 0]);
      expect(p.variable.shape).toEqual([3, 3, 8, 16]);
      expect(g.params.find((q) => q.name === 'bn1.mean')!.stat).toBe(true);
      expect(g.params.find((q) => q.name === 'bn1.mean')!.trainable).toBe(false);
      g.writeBack(model);
      expect(Array.from(model.graph.initializer('conv2.weight')!.floats())).toEqual(Array.from(before));
    } finally {
      g.dispose();
    }
  });
});

describe("Shears' conv gradients (pure-JS backends)", () => {
  // Reference: tfjs' own gradients on the cpu backend (slow there, but exact).
  async function grads(custom: boolean, fn: (x: TfTensor, w: TfTensor) => TfTensor, xs: TfTensor, ws: TfTensor, backendName: string) {
    const tf = backend.tf;
    const prev = tf.getBackend();
    await tf.setBackend(backendName);
    try {
      const g = tf.grads((x: TfTensor, w: TfTensor) => tf.sum(tf.mul(fn(x, w), tf.range(0, fn(x, w).size).reshape(fn(x, w).shape).mul(0.01).sin())));
      const [dx, dw] = g([xs, ws]);
      const out = [Float32Array.from(dx!.dataSync() as Float32Array), Float32Array.from(dw!.dataSync() as Float32Array)];
      dx!.dispose();
      dw!.dispose();
      void custom;
      return out;
    } finally {
      await tf.setBackend(prev);
    }
  }

  const convCases: [string, number[], number[], Parameters<typeof conv2d>[3]][] = [
    ['3x3 stride 1 pad 1', [2, 6, 6, 3], [3, 3, 3, 4], { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1 }],
    ['3x3 stride 2 asymmetric pads', [2, 7, 8, 3], [3, 3, 3, 5], { strides: [2, 2], pads: [0, 1, 1, 0], dilations: [1, 1], group: 1 }],
    ['dilated 3x3', [1, 9, 9, 2], [3, 3, 2, 3], { strides: [1, 1], pads: [2, 2, 2, 2], dilations: [2, 2], group: 1 }],
    ['depthwise stride 2', [2, 7, 7, 4], [3, 3, 8, 1], { strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], group: 4 }],
    ['grouped (8 groups)', [1, 5, 5, 16], [3, 3, 16, 2], { strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 8 }],
    ['depthwise 5x5 stride 2, pads 2', [2, 9, 9, 3], [5, 5, 3, 1], { strides: [2, 2], pads: [2, 2, 2, 2], dilations: [1, 1], group: 3 }],
    ['depthwise dilated, odd pads', [1, 10, 9, 4], [3, 3, 4, 1], { strides: [1, 1], pads: [2, 1, 3, 2], dilations: [2, 2], group: 4 }],
  ];

  it.each(convCases)('conv %s: custom gradients equal tfjs reference gradients', async (_n, xd, wd, spec) => {
    const tf = backend.tf;
    const rr = seeded(9);
    const xs = tf.tensor(randn(xd.reduce((a, b) => a * b, 1), rr), xd);
    const ws = tf.tensor(randn(wd.reduce((a, b) => a * b, 1), rr, 0.3), wd);
    const ref = await grads(false, (x, w) => conv2d(tf, x, w, spec, false), xs, ws, 'cpu');
    const got = await grads(true, (x, w) => conv2d(tf, x, w, spec, backend.customConvGrad), xs, ws, backend.name);
    expect(relErr(ref[0]!, got[0]!)).toBeLessThan(1e-4);
    expect(relErr(ref[1]!, got[1]!)).toBeLessThan(1e-4);
    xs.dispose();
    ws.dispose();
  });

  it('ConvTranspose: custom gradients equal tfjs reference gradients', async () => {
    const tf = backend.tf;
    const rr = seeded(4);
    const xs = tf.tensor(randn(2 * 4 * 4 * 3, rr), [2, 4, 4, 3]);
    const ws = tf.tensor(randn(3 * 3 * 5 * 3, rr, 0.3), [3, 3, 5, 3]);
    const spec = { strides: [2, 2] as [number, number], pads: [1, 1, 1, 1] as [number, number, number, number], dilations: [1, 1] as [number, number], outputPadding: [1, 1] as [number, number] };
    const ref = await grads(false, (x, w) => convTranspose2d(tf, x, w, spec, false), xs, ws, 'cpu');
    const got = await grads(true, (x, w) => convTranspose2d(tf, x, w, spec, backend.customConvGrad), xs, ws, backend.name);
    expect(relErr(ref[0]!, got[0]!)).toBeLessThan(1e-4);
    expect(relErr(ref[1]!, got[1]!)).toBeLessThan(1e-4);
    xs.dispose();
    ws.dispose();
  });
});
