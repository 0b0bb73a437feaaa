import { isShearsError, type ShearsError } from '@shears/core';
import { readModel } from '@shears/onnx';
import { fixture, smallFixture } from '@shears/fixtures';
import { describe, expect, it } from 'vitest';
import { convertToTflite } from '../src/index.js';
import { Build, int, ints, roundTrip } from './kit.js';

function thrown(fn: () => unknown): ShearsError {
  try {
    fn();
  } catch (e) {
    if (isShearsError(e)) return e;
    throw e;
  }
  throw new Error('expected a ShearsError');
}

describe('bad input', () => {
  it('lists every unsupported op, with node names, in one error', () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 8]);
    const e1 = b.one('Erf', [x]);
    const e2 = b.one('Erf', [e1]);
    const [vals] = b.node('TopK', [e2, b.i64([2])], { axis: int(-1) }, 2);
    const f = b.node('FancyOp', [vals!], {}, 1, 'com.example')[0]!;
    const conv = b.one('Conv', [b.one('Unsqueeze', [f, b.i64([3])]), x]); // weights not constant
    b.out(conv);
    const e = thrown(() => convertToTflite(b.model));
    expect(e.code).toBe('E_UNKNOWN_OP');
    expect(e.message).toBe(
      'tflite: 5 nodes cannot be exported (unsupported: Conv, Erf, TopK, com.example::FancyOp): ' +
        'Erf: no TFLite mapping (nodes erf0, erf1); TopK: no TFLite mapping (node topk3); ' +
        'com.example::FancyOp: no TFLite mapping (node fancyop4); Conv: weight is not constant (node conv7)',
    );
  });

  it('reports attributes TFLite cannot express', () => {
    const b = new Build();
    const x = b.input('x', [1, 2, 6, 6]);
    const r = b.one('Resize', [x, null, null, b.i64([1, 2, 12, 12])], { mode: { type: 'string', value: 'cubic' } });
    b.out(b.one('MaxPool', [r], { kernel_shape: ints([2, 2]), dilations: ints([2, 2]) }));
    const e = thrown(() => convertToTflite(b.model));
    expect(e.message).toContain('Resize: mode=cubic');
    expect(e.message).toContain('MaxPool: dilated pooling');
  });

  it('a dynamic batch exports as 1; other dynamic dims need --input-shape, and with it the model exports', async () => {
    const b = new Build();
    const x = b.input('x', ['batch', 3, 5, 5]);
    b.out(b.one('Relu', [b.one('Conv', [x, b.w([4, 3, 3, 3])])]));
    const one = await roundTrip(b.model);
    expect(one.conv.inputs[0]!.shape).toEqual([1, 3, 5, 5]);
    expect(one.conv.batchOne).toEqual(['x']);
    expect(one.v.maxRelDiff).toBeLessThan(1e-4);
    const { conv, v } = await roundTrip(b.model, { inputShapes: { x: [2, 3, 5, 5] } });
    expect(conv.inputs[0]!.shape).toEqual([2, 3, 5, 5]);
    expect(conv.batchOne).toEqual([]);
    expect(v.maxRelDiff).toBeLessThan(1e-4);
    const c = new Build();
    const y = c.input('y', ['batch', 3, 'h', 'w']);
    c.out(c.one('Relu', [y]));
    const e = thrown(() => convertToTflite(c.model));
    expect(e.code).toBe('E_DYNAMIC_SHAPE');
    expect(e.message).toBe('tflite: TFLite tensors need concrete sizes, but input y has dynamic dims [batch,3,h,w]; pass your real sizes, e.g. inputShapes: { y: [1, 3, 224, 224] }');
    expect(e.details).toMatchObject({ inputs: { y: [1, 3, 224, 224] } });
  });

  it.skipIf(!fixture('resnet18-dynbatch'))('resnet18 with a dynamic batch exports at batch 1, or at a given batch', async () => {
    const m = await readModel(fixture('resnet18-dynbatch')!);
    const one = convertToTflite(m);
    expect(one.inputs[0]!.shape).toEqual([1, 3, 224, 224]);
    expect(one.ops.CONV_2D).toBe(20);
    expect(convertToTflite(m, { inputShapes: { input: [2, 3, 224, 224] } }).inputs[0]!.shape).toEqual([2, 3, 224, 224]);
  });

  it('int64 activations are refused; int64 constants are narrowed to int32', async () => {
    const b = new Build();
    const x = b.input('x', [1, 3, 4, 4]);
    const am = b.one('ArgMax', [x], { axis: int(1) });
    b.out(am);
    const e = thrown(() => convertToTflite(b.model));
    // ArgMax has no mapping, and its int64 output would be refused as well
    expect(e.message).toContain('ArgMax');

    const c = new Build();
    const i = c.input('ids', [4], 'int64');
    c.out(c.one('Add', [i, c.i64([1, 2, 3, 4])]));
    const e2 = thrown(() => convertToTflite(c.model));
    expect(e2.code).toBe('E_DTYPE');
    expect(e2.message).toContain('int64 tensors computed at run time cannot be narrowed to int32 safely: ids (model input)');
  });

  it('model-local functions, If and quantized ops are reported, not mis-converted', async () => {
    for (const [file, ops] of [
      ['function.onnx', 'local.shears::LinearRelu'],
      ['if-subgraph.onnx', 'Greater, If'],
      ['int8-weights.onnx', 'DynamicQuantizeLinear, MatMulInteger'],
    ] as const) {
      const e = thrown(() => convertToTflite(readModelSyncOrThrow(file)));
      expect(e.message).toContain(`(unsupported: ${ops})`);
    }
  });
});

import { readModelSync } from '@shears/onnx';
function readModelSyncOrThrow(name: string) {
  return readModelSync(smallFixture(name));
}
