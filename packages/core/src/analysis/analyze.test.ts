import { describe, expect, it } from 'vitest';
import { Tensor } from '../ir/tensor.js';
import { Kit } from '../shape/test-kit.js';
import { analyzeModel, countParams } from './analyze.js';

const macsOf = (k: Kit, opts = {}) => analyzeModel(k.model, opts).macs;

describe('MAC formulas', () => {
  it('Conv: N·K·Ho·Wo·(C/g)·kh·kw', () => {
    const k = new Kit();
    k.one('Conv', [k.input('x', [2, 32, 56, 56]), k.floats([64, 8, 3, 3])], { group: 4, pads: [1, 1, 1, 1] });
    expect(macsOf(k)).toBe(2 * 64 * 56 * 56 * 8 * 3 * 3);
  });

  it('ConvTranspose: N·C_in·H_in·W_in·(K/g)·kh·kw', () => {
    const k = new Kit();
    k.one('ConvTranspose', [k.input('x', [1, 16, 7, 7]), k.floats([16, 4, 3, 3])], { group: 2, strides: [2, 2] });
    expect(macsOf(k)).toBe(1 * 16 * 7 * 7 * 4 * 3 * 3);
  });

  it('Gemm: M·N·K (transA/transB aware)', () => {
    const k = new Kit();
    k.one('Gemm', [k.input('a', [8, 512]), k.floats([1000, 512]), k.floats([1000])], { transB: 1 });
    k.one('Gemm', [k.input('at', [64, 4]), k.floats([64, 10])], { transA: 1 });
    expect(macsOf(k)).toBe(8 * 1000 * 512 + 4 * 10 * 64);
  });

  it('MatMul: prod(batch)·M·N·K, including activation×activation', () => {
    const k = new Kit();
    k.one('MatMul', [k.input('q', [2, 12, 128, 64]), k.input('kt', [2, 12, 64, 128])]);
    k.one('MatMul', [k.input('v', [64]), k.floats([64, 32])]);
    expect(macsOf(k)).toBe(2 * 12 * 128 * 128 * 64 + 32 * 64);
  });

  it('reports nodes whose MACs depend on an unknown shape', () => {
    const k = new Kit({ '': 17, 'acme.ops': 1 });
    const y = k.one('Frob', [k.input('x', [1, 3, 8, 8])], {}, 'acme.ops');
    k.one('Conv', [y, k.floats([4, 3, 1, 1])]);
    const s = analyzeModel(k.model);
    expect(s.macs).toBe(0);
    expect(s.unresolved).toEqual(['Conv_2']);
  });
});

describe('params, non-zeros and bytes', () => {
  it('counts float initializers once, float Constant nodes, and bytes of everything', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const w = k.floats([2, 2, 1, 1], [1, 0, 0, 2]);
    const a = k.one('Conv', [x, w]);
    const b = k.one('Conv', [a, w]); // shared weight
    const bias = k.one('Constant', [], { value: Tensor.fromFloat32('', [2, 1, 1], [0, 5]) });
    const c = k.one('Add', [b, bias]);
    const r = k.one('Reshape', [c, k.ints([1, -1])]);
    const s = analyzeModel(k.model);
    expect(s.params).toBe(4 + 2);
    expect(s.nonzeroParams).toBe(2 + 1);
    expect(s.bytes).toBe(4 * 4 + 2 * 4 + 2 * 8);
    expect(s.layers.map((l) => [l.op, l.params, l.nonzero, l.macs])).toEqual([
      ['Conv', 4, 2, 2 * 16 * 2],
      ['Conv', 4, 2, 2 * 16 * 2],
      ['Add', 2, 1, 0],
    ]);
    expect(s.layers[0]!.sparsity).toBe(0.5);
    expect(s.layers[0]!.outputShape).toEqual([1, 2, 4, 4]);
    expect(r.shape).toEqual([1, 32]);
  });

  it('does not count config inputs (Resize scales, Clip bounds) as layer params', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const y = k.one('Resize', [x, null, k.floats([4], [1, 1, 2, 2])]);
    k.one('Clip', [y, k.floats([], [0]), k.floats([], [6])]);
    const s = analyzeModel(k.model);
    expect(s.layers).toEqual([]);
    expect(s.params).toBe(6); // still float constants of the model
  });

  it('counts float16 params by their bits', () => {
    const k = new Kit();
    k.init('h', new Tensor({ dtype: 'float16', dims: [4], data: Uint16Array.of(0x0000, 0x8000, 0x3c00, 0x0001) }));
    const s = analyzeModel(k.model);
    expect([s.params, s.nonzeroParams, s.bytes]).toEqual([4, 2, 8]);
  });

  it('countParams reads no tensor data', () => {
    const k = new Kit();
    k.init(
      'w',
      new Tensor({
        dtype: 'float32',
        dims: [10, 10],
        load: () => {
          throw new Error('loaded');
        },
      }),
    );
    k.ints([1, 2]);
    expect(countParams(k.model)).toBe(100);
  });
});

describe('dynamic shapes', () => {
  it('needs a shape for every dynamic input beyond the batch dim', () => {
    const k = new Kit();
    k.one('Relu', [k.input('x', ['batch', 3, 'h', 224])]);
    expect(() => analyzeModel(k.model)).toThrow(
      expect.objectContaining({
        code: 'E_DYNAMIC_SHAPE',
        message: 'MACs need concrete sizes, but input x has dynamic dims [batch,3,h,224]; pass your real sizes, e.g. inputShapes: { x: [1, 3, 224, 224] }',
        details: { inputs: { x: [1, 3, 224, 224] }, hint: 'inputShapes: { x: [1, 3, 224, 224] }', unknownDims: { x: [0, 2] } },
      }),
    );
    expect(analyzeModel(k.model, { inputShapes: { x: [1, 3, 224, 224] } }).macs).toBe(0);
  });

  it("with dynamic: 'unknown' gives params and non-zeros, and null MACs for the layers that need sizes", () => {
    const k = new Kit();
    const c = k.one('Conv', [k.input('x', ['N', 3, 'H', 'W']), k.floats([8, 3, 3, 3])], { pads: [1, 1, 1, 1] });
    k.one('Add', [c, k.floats([8, 1, 1])]);
    const a = analyzeModel(k.model, { dynamic: 'unknown' });
    expect(a.macs).toBeNull();
    expect(a.params).toBe(8 * 27 + 8);
    expect(a.layers.map((l) => [l.op, l.macs])).toEqual([
      ['Conv', null],
      ['Add', 0],
    ]);
    expect(a.dynamicInputs).toEqual([{ name: 'x', shape: ['N', 3, 'H', 'W'] }]);
    expect(a.dynamicDetails?.inputs).toEqual({ x: [1, 3, 224, 224] });
    const known = analyzeModel(k.model, { dynamic: 'unknown', inputShapes: { x: [1, 3, 4, 4] } });
    expect(known.macs).toBe(8 * 27 * 16);
    expect(known.dynamicInputs).toBeUndefined();
  });

  it('sizes an input from dim params that a given input binds, and from metadata', () => {
    const kit = () => {
      const k = new Kit();
      k.one('Conv', [k.input('x', ['N', 3, 'S', 'S']), k.floats([8, 3, 1, 1])]);
      k.one('Conv', [k.input('y', ['N', 3, 'S', 'S']), k.floats([8, 3, 1, 1])]);
      return k;
    };
    const a = analyzeModel(kit().model, { inputShapes: { x: [1, 3, 10, 10] } });
    expect(a.macs).toBe(2 * 8 * 3 * 100);
    expect(a.assumedShapes).toEqual({ y: { shape: [1, 3, 10, 10], source: 'bound' } });
    const k = kit();
    k.model.setMetadata('input_shapes', JSON.stringify({ x: [2, 3, 5, 5], y: [2, 3, 5, 5] }));
    const m = analyzeModel(k.model);
    expect(m.macs).toBe(2 * 2 * 8 * 3 * 25);
    expect(m.assumedShapes?.x).toEqual({ shape: [2, 3, 5, 5], source: 'metadata' });
    expect(k.model.graph.inputs[0]!.shape).toEqual(['N', 3, 'S', 'S']);
  });

  it('counts a dynamic batch dim as `batch` samples (default 1) and leaves the model dynamic', () => {
    const k = new Kit();
    k.one('Conv', [k.input('x', ['N', 3, 16, 16]), k.floats([8, 3, 3, 3])], { pads: [1, 1, 1, 1] });
    const one = analyzeModel(k.model);
    expect(one.macs).toBe(8 * 3 * 9 * 16 * 16);
    expect(one.assumedBatch).toEqual({ batch: 1, inputs: ['x'] });
    expect(analyzeModel(k.model, { batch: 4 }).macs).toBe(4 * one.macs);
    expect(k.model.graph.inputs[0]!.shape).toEqual(['N', 3, 16, 16]);
    expect(() => analyzeModel(k.model, { batch: 0 })).toThrow(expect.objectContaining({ code: 'E_DYNAMIC_SHAPE' }));
  });
});

describe('layer channels', () => {
  it('reads output channels on the op table channel axis (BatchNorm: axis 1 of NCHW; MatMul: last)', () => {
    const k = new Kit();
    const c = k.one('Conv', [k.input('x', [1, 3, 5, 7]), k.floats([8, 3, 3, 3])], { pads: [1, 1, 1, 1] });
    k.one('BatchNormalization', [c, k.floats([8]), k.floats([8]), k.floats([8]), k.floats([8])]);
    k.one('MatMul', [k.input('t', [2, 4, 16]), k.floats([16, 6])]);
    const byOp = Object.fromEntries(analyzeModel(k.model).layers.map((l) => [l.op, l.channels]));
    expect(byOp).toEqual({ Conv: 8, BatchNormalization: 8, MatMul: 6 });
  });
});
