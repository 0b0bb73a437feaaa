import { describe, expect, it } from 'vitest';
import { Build, float, int, ints, roundTrip, str } from './kit.js';

// Op-level round trips: small models built in code, converted, run in LiteRT.js
// and compared with onnxruntime. Each checks the numbers and which TFLite ops came out.

const TOL = 1e-4;

async function expectClose(b: Build, opts = {}) {
  const r = await roundTrip(b.model, opts);
  expect(r.v.maxRelDiff, JSON.stringify(r.conv.ops)).toBeLessThan(TOL);
  return r.conv;
}

describe('convolutions', () => {
  it('conv with asymmetric pads and dilation (explicit PAD), then a fused Relu', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 13, 11]);
    const c = b.one('Conv', [x, b.w([8, 3, 3, 3]), b.w([8])], { pads: ints([1, 0, 2, 1]), dilations: ints([2, 1]), strides: ints([1, 2]) });
    b.out(b.one('Relu', [c]));
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ CONV_2D: 1, PAD: 1 });
    expect(conv.ops.RELU).toBeUndefined();
    expect(conv.rewrites.activationsFused).toBe(1);
  });

  it('SAME-style stride-1 pads need no PAD; a Relu with two users is not fused', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 8, 8]);
    const c = b.one('Conv', [x, b.w([4, 4, 3, 3])], { pads: ints([1, 1, 1, 1]) });
    const r = b.one('Relu', [c]);
    b.out(b.one('Add', [r, c]));
    const conv = await expectClose(b);
    expect(conv.ops.PAD).toBeUndefined();
    expect(conv.ops.RELU).toBe(1);
  });

  it('depthwise with channel multiplier 2', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 9, 9]);
    b.out(b.one('Conv', [x, b.w([8, 1, 3, 3]), b.w([8])], { group: int(4), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) }));
    expect((await expectClose(b)).ops).toMatchObject({ DEPTHWISE_CONV_2D: 1 });
  });

  for (const mode of ['split', 'native'] as const) {
    it(`grouped conv (4 groups) as ${mode}`, async () => {
      const b = new Build();
      const x = b.input('x', [1, 8, 6, 6]);
      const c = b.one('Conv', [x, b.w([12, 2, 3, 3]), b.w([12])], { group: int(4), pads: ints([1, 1, 1, 1]) });
      b.out(b.one('Clip', [c, b.w([], [0]), b.w([], [6])]));
      const conv = await expectClose(b, { groupedConv: mode });
      if (mode === 'split') expect(conv.ops).toMatchObject({ SPLIT: 1, CONV_2D: 4, CONCATENATION: 1 });
      else expect(conv.ops).toMatchObject({ CONV_2D: 1 });
      expect(conv.ops.RELU6).toBeUndefined(); // fused into every group's conv
    });
  }

  it('transposed convolutions: VALID (k2 s2), SAME (k4 s2 p1) and cropped (k3 s2 p1)', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 5, 5]);
    const a = b.one('ConvTranspose', [x, b.w([4, 3, 2, 2]), b.w([3])], { strides: ints([2, 2]) });
    const s = b.one('ConvTranspose', [x, b.w([4, 3, 4, 4]), b.w([3])], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    const c = b.one('ConvTranspose', [x, b.w([4, 3, 3, 3])], { strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
    b.out(a, s, c);
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ TRANSPOSE_CONV: 3, STRIDED_SLICE: 1 });
  });

  it('BatchNormalization after a Conv is folded; after a Relu it is MUL+ADD', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 6, 6]);
    const bn = (v: ReturnType<Build['one']>, c: number) => b.one('BatchNormalization', [v, b.w([c], undefined, 1), b.w([c]), b.w([c]), b.w([c], Array.from({ length: c }, (_, i) => 0.5 + i / c))], { epsilon: float(1e-3) });
    const c1 = bn(b.one('Conv', [x, b.w([4, 3, 1, 1])]), 4);
    b.out(bn(b.one('Relu', [c1]), 4));
    const conv = await expectClose(b);
    expect(conv.rewrites.batchNormsFolded).toBe(1);
    expect(conv.ops).toMatchObject({ CONV_2D: 1, MUL: 1, ADD: 1 });
  });

  it('BatchNormalization after a ConvTranspose or a Gemm (beta 0.5) is folded too (core foldBatchNorms)', async () => {
    const b = new Build();
    const bn = (v: ReturnType<Build['one']>, c: number) => b.one('BatchNormalization', [v, b.w([c], undefined, 1), b.w([c]), b.w([c]), b.w([c], Array.from({ length: c }, (_, i) => 0.5 + i / c))], { epsilon: float(1e-3) });
    const t = b.one('ConvTranspose', [b.input('x', [1, 4, 5, 5]), b.w([4, 3, 2, 2]), b.w([3])], { strides: ints([2, 2]) });
    const g = b.one('Gemm', [b.input('v', [1, 6]), b.w([5, 6]), b.w([5])], { transB: int(1), beta: float(0.5) });
    b.out(bn(t, 3), bn(g, 5));
    const conv = await expectClose(b);
    expect(conv.rewrites.batchNormsFolded).toBe(2);
    expect(conv.ops).toMatchObject({ TRANSPOSE_CONV: 1, FULLY_CONNECTED: 1 });
    expect(conv.ops).not.toHaveProperty('MUL');
  });
});

describe('pooling', () => {
  it('max pool in ceil mode, avg pool with pads (count_include_pad 0 and 1), global pools', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 10, 10]);
    const m = b.one('MaxPool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), ceil_mode: int(1) });
    const a0 = b.one('AveragePool', [x], { kernel_shape: ints([3, 3]), strides: ints([1, 1]), pads: ints([1, 1, 1, 1]) });
    const a1 = b.one('AveragePool', [x], { kernel_shape: ints([2, 2]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]), count_include_pad: int(1) });
    const g = b.one('GlobalMaxPool', [x]);
    const r = b.one('ReduceMean', [x], { axes: ints([2, 3]), keepdims: int(0) });
    b.out(m, a0, a1, g, r);
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ MAX_POOL_2D: 1, AVERAGE_POOL_2D: 2, REDUCE_MAX: 1, MEAN: 1, PAD: 1 });
  });
});

describe('dense and attention-style ops', () => {
  it('Gemm with transB=0, alpha and beta', async () => {
    const b = new Build();
    const x = b.input('x', [2, 6]);
    b.out(b.one('Gemm', [x, b.w([6, 4]), b.w([4])], { alpha: float(0.5), beta: float(2) }));
    expect((await expectClose(b)).ops).toEqual({ FULLY_CONNECTED: 1 });
  });

  it('MatMul on rank 3 with a bias Add becomes one FULLY_CONNECTED (keep_num_dims); two activations give BATCH_MATMUL', async () => {
    const b = new Build();
    const x = b.input('x', [1, 5, 8]);
    const h = b.one('Add', [b.one('MatMul', [x, b.w([8, 8])]), b.w([8])]);
    const t = b.one('Transpose', [h], { perm: ints([0, 2, 1]) });
    b.out(b.one('Softmax', [b.one('MatMul', [h, t])], { axis: int(-1) }));
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ FULLY_CONNECTED: 1, BATCH_MATMUL: 1, SOFTMAX: 1 });
    expect(conv.ops.ADD).toBeUndefined();
  });

  it('LayerNormalization over the last axis and the erf form of GELU', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 16]);
    const ln = b.one('LayerNormalization', [x, b.w([16], undefined, 1), b.w([16])], { axis: int(-1), epsilon: float(1e-6) });
    const d = b.one('Div', [ln, b.w([], [Math.SQRT2])]);
    const e = b.one('Add', [b.one('Erf', [d]), b.w([], [1])]);
    b.out(b.one('Mul', [b.one('Mul', [ln, e]), b.w([], [0.5])]));
    const conv = await expectClose(b);
    expect(conv.rewrites.geluFused).toBe(1);
    expect(conv.ops).toMatchObject({ GELU: 1, MEAN: 2, RSQRT: 1 });
  });
});

describe('layout', () => {
  it('NCHW input: one boundary TRANSPOSE, none between convs; Softmax over channels re-lays once', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 4]);
    const c = b.one('Conv', [b.one('Conv', [x, b.w([6, 3, 1, 1])]), b.w([5, 6, 1, 1])]);
    b.out(b.one('Softmax', [c], { axis: int(1) }));
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ CONV_2D: 2, TRANSPOSE: 2, SOFTMAX: 1 });
  });

  it('--nhwc-io keeps rank-4 I/O channels-last: no TRANSPOSE at all', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 4]);
    b.out(b.one('Relu', [b.one('Conv', [x, b.w([6, 3, 3, 3])], { pads: ints([1, 1, 1, 1]) })]));
    const conv = await expectClose(b, { nhwcIo: true });
    expect(conv.ops.TRANSPOSE).toBeUndefined();
    expect(conv.inputs[0]).toMatchObject({ shape: [1, 4, 4, 3], layout: 'NHWC' });
    expect(conv.outputs[0]).toMatchObject({ shape: [1, 4, 4, 6], layout: 'NHWC' });
  });

  it('channel shuffle (Reshape-Transpose-Reshape) costs one TRANSPOSE; ONNX Transposes to NHWC are free', async () => {
    const b = new Build();
    const x = b.input('x', [1, 8, 3, 3]);
    const c = b.one('Conv', [x, b.w([8, 8, 1, 1])]);
    const r = b.one('Reshape', [c, b.i64([1, 2, 4, 3, 3])]);
    const t = b.one('Transpose', [r], { perm: ints([0, 2, 1, 3, 4]) });
    const s = b.one('Reshape', [t, b.i64([1, 8, 3, 3])]);
    const nhwc = b.one('Transpose', [b.one('Conv', [s, b.w([4, 8, 1, 1])]), ], { perm: ints([0, 2, 3, 1]) });
    const back = b.one('Transpose', [b.one('Mul', [nhwc, b.w([4])])], { perm: ints([0, 3, 1, 2]) });
    b.out(b.one('Conv', [back, b.w([2, 4, 1, 1])]));
    const conv = await expectClose(b);
    // input boundary + the shuffle + output boundary
    expect(conv.ops.TRANSPOSE).toBe(3);
  });

  it('Flatten of an NHWC map into Gemm folds the order into the weights (no TRANSPOSE)', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 4]);
    const c = b.one('Conv', [x, b.w([5, 3, 3, 3])]);
    const f = b.one('Flatten', [c], { axis: int(1) });
    b.out(b.one('Gemm', [f, b.w([7, 20]), b.w([7])], { transB: int(1) }));
    const conv = await expectClose(b, { nhwcIo: true });
    expect(conv.ops.TRANSPOSE).toBeUndefined();
    expect(conv.ops).toMatchObject({ RESHAPE: 1, FULLY_CONNECTED: 1 });
  });

  it('Flatten into a non-dense consumer transposes to the ONNX order first', async () => {
    const b = new Build();
    const x = b.input('x', [1, 2, 3, 3]);
    const c = b.one('Conv', [x, b.w([2, 2, 1, 1])]);
    b.out(b.one('Relu', [b.one('Flatten', [c], { axis: int(1) })]));
    expect((await expectClose(b, { nhwcIo: true })).ops).toMatchObject({ TRANSPOSE: 1, RESHAPE: 1 });
  });

  it('Concat (with a constant input), Split (equal and unequal), Slice (steps, negative step) and Gather follow the layout', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 6, 6]);
    const c = b.one('Conv', [x, b.w([6, 4, 1, 1])]);
    const cat = b.one('Concat', [c, b.w([1, 2, 6, 6])], { axis: int(1) });
    const [s1, s2] = b.node('Split', [cat, b.i64([4, 4])], { axis: int(1) }, 2);
    const [u1, u2] = b.node('Split', [cat, b.i64([3, 5])], { axis: int(1) }, 2);
    const sl = b.one('Slice', [c, b.i64([1, 5]), b.i64([6, -100]), b.i64([1, 3]), b.i64([2, -2])]);
    const g = b.one('Gather', [c, b.i64([2], [])], { axis: int(1) });
    const sq = b.one('Unsqueeze', [g, b.i64([1])]);
    b.out(b.one('Add', [s1!, s2!]), u1!, u2!, sl, sq);
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ CONCATENATION: 1, SPLIT: 1, SPLIT_V: 1, STRIDED_SLICE: 1, GATHER: 1 });
  });

  it('Pad: constant 0, constant value, reflect', async () => {
    const b = new Build();
    const x = b.input('x', [1, 2, 5, 5]);
    const c = b.one('Conv', [x, b.w([3, 2, 1, 1])]);
    const p0 = b.one('Pad', [c, b.i64([0, 0, 1, 2, 0, 0, 2, 1])]);
    const p1 = b.one('Pad', [c, b.i64([0, 1, 0, 0, 0, 0, 1, 0]), b.w([], [1.5])]);
    const p2 = b.one('Pad', [c, b.i64([0, 0, 2, 1, 0, 0, 1, 2])], { mode: str('reflect') });
    b.out(p0, p1, p2);
    expect((await expectClose(b)).ops).toMatchObject({ PAD: 1, PADV2: 1, MIRROR_PAD: 1 });
  });

  it('Resize: nearest (asymmetric, floor) by scales, bilinear (align_corners) and half-pixel by sizes', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 5]);
    const n = b.one('Resize', [x, null, b.w([4], [1, 1, 2, 2])], { mode: str('nearest'), coordinate_transformation_mode: str('asymmetric'), nearest_mode: str('floor') });
    const l = b.one('Resize', [x, null, null, b.i64([1, 3, 7, 9])], { mode: str('linear'), coordinate_transformation_mode: str('align_corners') });
    const h = b.one('Resize', [x, null, null, b.i64([1, 3, 8, 10])], { mode: str('linear') });
    b.out(n, l, h);
    expect((await expectClose(b)).ops).toMatchObject({ RESIZE_NEAREST_NEIGHBOR: 1, RESIZE_BILINEAR: 2 });
  });
});

describe('activations and elementwise', () => {
  it('activations map one to one', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 4]);
    const outs = [
      b.one('LeakyRelu', [x], { alpha: float(0.1) }),
      b.one('Tanh', [x]),
      b.one('Sigmoid', [x]),
      b.one('HardSwish', [x]),
      b.one('HardSigmoid', [x], { alpha: float(0.2), beta: float(0.5) }),
      b.one('Clip', [x, b.w([], [-0.5]), b.w([], [0.7])]),
      b.one('Elu', [x]),
      b.one('Relu', [x]),
      b.one('Exp', [x]),
      b.one('Abs', [x]),
    ];
    b.out(...outs);
    const conv = await expectClose(b);
    expect(conv.ops).toMatchObject({ LEAKY_RELU: 1, TANH: 1, LOGISTIC: 1, HARD_SWISH: 1, ELU: 1, RELU: 1, MAXIMUM: 1, MINIMUM: 1 });
  });

  it('broadcasting: const [C,1,1], lower-rank activation, const first operand, Max/Min', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 3, 3]);
    const v = b.input('v', [3]);
    const c = b.one('Conv', [x, b.w([4, 4, 1, 1])]);
    const a = b.one('Add', [c, b.w([4, 1, 1])]);
    const m = b.one('Mul', [a, v]);
    const s = b.one('Sub', [b.w([], [1]), m]);
    const d = b.one('Div', [s, b.w([1, 4, 1, 1], [1, 2, 3, 4])]);
    b.out(b.one('Max', [d, b.one('Min', [c, a])]));
    expect((await expectClose(b)).ops).toMatchObject({ ADD: 1, MUL: 1, SUB: 1, DIV: 1, MAXIMUM: 1, MINIMUM: 1 });
  });
});
