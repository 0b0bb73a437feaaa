// The table's per-op facts that pruning strategies rely on.
import { describe, expect, it } from 'vitest';
import { inferShapes } from '../shape/infer.js';
import { Kit } from '../shape/test-kit.js';
import { channelAxisOf, dataInputsOf, resolveFlag, weightRolesOf } from './helpers.js';
import { defaultOpRegistry } from './registry.js';

const reg = defaultOpRegistry();
const specAt = (op: string, opset = 17) => reg.lookup(op, '', opset)!;

/** Ops the brief requires, each needing a spec with a shape rule at the given opset. */
const REQUIRED: [string, number[]][] = [
  ...'Conv ConvTranspose Gemm MatMul BatchNormalization InstanceNormalization MaxPool AveragePool GlobalAveragePool GlobalMaxPool Reshape Flatten Transpose Concat Gather Shape Size Expand Tile Add Sub Mul Div Pow Sqrt Exp Log Erf Neg Abs Reciprocal Relu LeakyRelu PRelu Elu Selu Sigmoid HardSigmoid HardSwish Tanh Softplus Min Max Mean Sum Where Equal Less Greater Not And Or Cast CastLike Softmax LogSoftmax Resize Upsample Constant ConstantOfShape Range Identity Dropout Einsum TopK ArgMax NonZero Trilu CumSum DequantizeLinear QuantizeLinear QLinearConv MatMulInteger ConvInteger If Loop DepthToSpace SpaceToDepth LRN OneHot'
    .split(' ')
    .map((op): [string, number[]] => [op, [17]]),
  ['LayerNormalization', [17]],
  ['GroupNormalization', [18, 21]],
  ['Gelu', [20]],
  ['Mish', [18]],
  ['Split', [11, 13, 18]],
  ['Slice', [9, 10, 13]],
  ['Squeeze', [11, 13]],
  ['Unsqueeze', [11, 13]],
  ['Clip', [6, 11, 13]],
  ['Pad', [2, 11, 18]],
  ['ReduceMean', [13, 18]],
  ['ReduceSum', [11, 13]],
  ['ReduceMax', [13, 18]],
  ['ReduceMin', [13, 18]],
  ['ReduceProd', [13, 18]],
  ['ReduceL2', [13, 18]],
];

describe('op table coverage', () => {
  it.each(REQUIRED)('%s has a shape rule at opsets %j', (op, opsets) => {
    for (const v of opsets) expect(reg.lookup(op, '', v)?.infer, `${op}@${v}`).toBeTypeOf('function');
  });

  it('every spec names a channel kind', () => {
    for (const s of reg.specs()) expect(s.channel, s.opType).toBeTruthy();
  });
});

describe('weight roles', () => {
  it('Conv: W[K, C/g, kh, kw] out 0 / in 1 grouped; bias out 0', () => {
    const k = new Kit();
    const y = k.one('Conv', [k.input('x', [1, 4, 8, 8]), k.floats([8, 2, 3, 3]), k.floats([8])], { group: 2 });
    expect(weightRolesOf(specAt('Conv'), y.producer!)).toEqual([
      { input: 1, role: 'weight', outAxis: 0, inAxis: 1, groupsAttr: 'group' },
      { input: 2, role: 'bias', outAxis: 0 },
    ]);
    expect(resolveFlag(specAt('Conv').prunable, y.producer!)).toBe(true);
    expect(specAt('Conv').channel).toBe('compute');
  });

  it('ConvTranspose: W[C, K/g, kh, kw] out 1 / in 0', () => {
    const k = new Kit();
    const y = k.one('ConvTranspose', [k.input('x', [1, 4, 8, 8]), k.floats([4, 8, 3, 3])]);
    expect(weightRolesOf(specAt('ConvTranspose'), y.producer!)[0]).toEqual({ input: 1, role: 'weight', outAxis: 1, inAxis: 0, groupsAttr: 'group' });
  });

  it('Gemm: B axes follow transB; C bias on its last axis, scaled by beta', () => {
    const k = new Kit();
    const a = k.input('a', [2, 4]);
    const t = k.one('Gemm', [a, k.floats([3, 4]), k.floats([3])], { transB: 1 });
    const n = k.one('Gemm', [a, k.floats([4, 3]), k.floats([1, 3])]);
    expect(weightRolesOf(specAt('Gemm'), t.producer!)).toEqual([
      { input: 1, role: 'weight', outAxis: 0, inAxis: 1 },
      { input: 2, role: 'bias', outAxis: 0, scaleAttr: 'beta' },
    ]);
    expect(weightRolesOf(specAt('Gemm'), n.producer!)).toEqual([
      { input: 1, role: 'weight', outAxis: 1, inAxis: 0 },
      { input: 2, role: 'bias', outAxis: 1, scaleAttr: 'beta' },
    ]);
  });

  it('MatMul: only a constant B is a weight (out = last axis, in = second last)', () => {
    const k = new Kit();
    const a = k.input('a', ['B', 'S', 64]);
    const w = k.one('MatMul', [a, k.floats([64, 128])]);
    const act = k.one('MatMul', [a, k.input('b', ['B', 64, 'S'])]);
    const spec = specAt('MatMul');
    expect(weightRolesOf(spec, w.producer!)).toEqual([{ input: 1, role: 'weight', outAxis: 1, inAxis: 0 }]);
    expect(weightRolesOf(spec, act.producer!)).toEqual([]);
    expect(resolveFlag(spec.prunable, w.producer!)).toBe(true);
    expect(resolveFlag(spec.prunable, act.producer!)).toBe(false);
    expect(channelAxisOf(spec, w.producer!)).toBe(-1);
  });

  it('BatchNormalization: scale/bias/mean/var per channel on axis 0', () => {
    const roles = specAt('BatchNormalization').weights;
    expect(roles).toEqual([
      { input: 1, role: 'scale', outAxis: 0 },
      { input: 2, role: 'bias', outAxis: 0 },
      { input: 3, role: 'mean', outAxis: 0 },
      { input: 4, role: 'var', outAxis: 0 },
    ]);
    expect(specAt('BatchNormalization').channel).toBe('unary');
  });
});

describe('channel kinds, data inputs and flags', () => {
  it('classifies channel flow', () => {
    const kinds = Object.fromEntries(
      ['Relu', 'Add', 'Where', 'PRelu', 'Concat', 'Split', 'Slice', 'Reshape', 'Flatten', 'Transpose', 'ReduceMean', 'Gather', 'Shape', 'Constant', 'NonZero', 'MaxPool', 'Resize', 'Pad', 'Cast'].map((op) => [op, specAt(op).channel]),
    );
    expect(kinds).toEqual({
      Relu: 'unary',
      Add: 'elementwise',
      Where: 'elementwise',
      PRelu: 'elementwise',
      Concat: 'concat',
      Split: 'split',
      Slice: 'slice',
      Reshape: 'reshape',
      Flatten: 'flatten',
      Transpose: 'transpose',
      ReduceMean: 'reduce',
      Gather: 'gather',
      Shape: 'shape',
      Constant: 'source',
      NonZero: 'opaque',
      MaxPool: 'unary',
      Resize: 'unary',
      Pad: 'unary',
      Cast: 'unary',
    });
  });

  it('lists data inputs: all for elementwise, input 0 for configured unary ops', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const add = k.one('Add', [x, k.floats([3, 1, 1])]);
    const resize = k.one('Resize', [x, null, k.floats([4], [1, 1, 2, 2])]);
    expect(dataInputsOf(specAt('Add'), add.producer!)).toEqual([0, 1]);
    expect(dataInputsOf(specAt('Resize'), resize.producer!)).toEqual([0]);
  });

  it('marks zero-preserving ops', () => {
    const yes = ['Relu', 'MaxPool', 'AveragePool', 'Mul', 'Add', 'Reshape', 'Concat', 'Gelu', 'HardSwish', 'Resize'];
    const no = ['Sigmoid', 'BatchNormalization', 'Exp', 'Div', 'HardSigmoid', 'Softmax'];
    const k = new Kit();
    const n = k.one('Relu', [k.input('x', [1])]).producer!;
    for (const op of yes) expect(resolveFlag(specAt(op).zeroPreserving, n), op).toBe(true);
    for (const op of no) expect(resolveFlag(specAt(op).zeroPreserving, n), op).toBe(false);
  });

  it('resolves structure facts for structural ops', () => {
    const k = new Kit(13);
    const x = k.input('x', [1, 8, 4, 4]);
    const c = k.one('Concat', [x, x], { axis: -3 });
    const t = k.one('Transpose', [x], { perm: [0, 2, 3, 1] });
    const r = k.one('ReduceMean', [x], { axes: [2, -1], keepdims: 0 });
    const [s] = k.node('Split', [x, k.ints([3, 5])], { axis: 1 }, 2);
    const info = inferShapes(k.model);
    const res = (op: string, v: typeof c) => specAt(op, 13).structure!(info.contextOf(v.producer!));
    expect(res('Concat', c)).toEqual({ axis: 1 });
    expect(res('Transpose', t)).toEqual({ perm: [0, 2, 3, 1] });
    expect(res('ReduceMean', r)).toEqual({ axes: [2, 3], keepdims: false });
    expect(res('Split', s!)).toEqual({ axis: 1, split: [3, 5] });
  });
});
