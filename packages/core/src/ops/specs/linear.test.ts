import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';
import { matmulShape } from './linear.js';

describe('Gemm shape rule', () => {
  it('honours transA/transB', () => {
    const k = new Kit();
    const a = k.input('a', ['batch', 512]);
    const y = k.one('Gemm', [a, k.floats([1000, 512]), k.floats([1000])], { transB: 1 });
    const z = k.one('Gemm', [k.input('at', [512, 4]), k.floats([512, 10])], { transA: 1 });
    inferShapes(k.model);
    expect(y.shape).toEqual(['batch', 1000]);
    expect(z.shape).toEqual([4, 10]);
  });

  it('rejects mismatched inner dims', () => {
    const k = new Kit();
    k.one('Gemm', [k.input('a', [2, 3]), k.floats([4, 5])]);
    expect(() => inferShapes(k.model)).toThrow(/Gemm/);
  });
});

describe('MatMul shape rule', () => {
  it('follows numpy.matmul for rank 1 and batch broadcasting', () => {
    expect(matmulShape([2, 3], [3, 4])).toEqual([2, 4]);
    expect(matmulShape([3], [3, 4])).toEqual([4]);
    expect(matmulShape([2, 3], [3])).toEqual([2]);
    expect(matmulShape([3], [3])).toEqual([]);
    expect(matmulShape(['b', 1, 5, 6], [7, 6, 2])).toEqual(['b', 7, 5, 2]);
    expect(matmulShape(['b', 's', 768], [768, 3072])).toEqual(['b', 's', 3072]);
    expect(() => matmulShape([2, 3], [4, 5])).toThrow();
  });

  it('types MatMulInteger as int32', () => {
    const k = new Kit();
    const y = k.one('MatMulInteger', [k.input('a', [4, 8], 'uint8'), k.input('b', [8, 2], 'int8')]);
    inferShapes(k.model);
    expect(y.type).toEqual({ kind: 'tensor', dtype: 'int32', shape: [4, 2] });
  });
});

describe('Einsum shape rule', () => {
  it('handles explicit, implicit and ellipsis equations', () => {
    const k = new Kit();
    const a = k.input('a', [2, 3, 4]);
    const b = k.input('b', [2, 4, 5]);
    const bmm = k.one('Einsum', [a, b], { equation: 'bij,bjk->bik' });
    const implicit = k.one('Einsum', [k.input('m', [3, 4]), k.input('n', [4, 5])], { equation: 'ij,jk' });
    const ell = k.one('Einsum', [k.input('q', ['B', 8, 16, 64]), k.input('kk', ['B', 8, 20, 64])], { equation: '...qd,...kd->...qk' });
    const trace = k.one('Einsum', [k.input('sq', [5, 5])], { equation: 'ii->' });
    inferShapes(k.model);
    expect(bmm.shape).toEqual([2, 3, 5]);
    expect(implicit.shape).toEqual([3, 5]);
    expect(ell.shape).toEqual(['B', 8, 16, 20]);
    expect(trace.shape).toEqual([]);
  });
});
