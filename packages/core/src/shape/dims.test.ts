import { describe, expect, it } from 'vitest';
import { addDim, dimProduct, joinShape, mulDim, reshapeTarget, ShapeConflict, unifyDim, windowOut } from './dims.js';

describe('dim arithmetic', () => {
  it('multiplies dims, keeping a lone symbol', () => {
    expect(dimProduct([2, 3, 4])).toBe(24);
    expect(dimProduct(['batch', 1, 1])).toBe('batch');
    expect(dimProduct(['batch', 512])).toBeNull();
    expect(dimProduct(['batch', 0])).toBe(0);
    expect(dimProduct([])).toBe(1);
    expect(mulDim('b', 1)).toBe('b');
    expect(addDim('h', 0)).toBe('h');
    expect(addDim('h', 2)).toBeNull();
  });

  it('unifies must-be-equal dims and joins either-or dims', () => {
    expect(unifyDim('K', 64)).toBe(64);
    expect(() => unifyDim(3, 4)).toThrow(ShapeConflict);
    expect(joinShape([1, 'a', 3], [1, 'a', 4])).toEqual([1, 'a', null]);
    expect(joinShape([1], [1, 2])).toBeUndefined();
  });

  it('computes sliding windows with floor and PyTorch-style ceil mode', () => {
    expect(windowOut(224, 7, 2, 1, 3, 3)).toBe(112);
    expect(windowOut(112, 3, 2, 1, 1, 1)).toBe(56);
    expect(windowOut(5, 3, 1, 2, 0, 0)).toBe(1); // dilated span 5
    expect(windowOut(112, 3, 2, 1, 0, 0, true)).toBe(56); // googlenet-style ceil
    expect(windowOut(6, 2, 2, 1, 1, 1, true)).toBe(4);
    expect(windowOut(3, 2, 2, 1, 1, 1, true)).toBe(2); // a 3rd window would start in the right padding
    expect(windowOut('h', 3, 1, 1, 1, 1)).toBe('h'); // size-preserving: the symbol survives
    expect(windowOut('h', 3, 2, 1, 1, 1)).toBeNull();
    expect(windowOut('h', 3, 1, 1, 0, 0)).toBeNull();
  });
});

describe('reshapeTarget', () => {
  it('copies 0 and infers -1', () => {
    expect(reshapeTarget([2, 3, 4], [0, -1], false)).toEqual([2, 12]);
    expect(reshapeTarget([2, 3, 4], [-1], false)).toEqual([24]);
  });

  it('keeps 0 literally with allowzero', () => {
    expect(reshapeTarget([0, 3], [0, 3], true)).toEqual([0, 3]);
  });

  it('cancels symbols when inferring -1', () => {
    expect(reshapeTarget(['batch', 512, 1, 1], ['batch', -1], false)).toEqual(['batch', 512]);
    expect(reshapeTarget(['batch', 512, 7, 7], [-1, 512, 49], false)).toEqual(['batch', 512, 49]);
    expect(reshapeTarget(['b', 's', 768], [0, 0, 12, -1], false)).toEqual(['b', 's', 12, 64]);
    expect(reshapeTarget(['b', 'h', 'w'], ['b', -1], false)).toEqual(['b', null]);
  });

  it('rejects indivisible sizes and several -1', () => {
    expect(() => reshapeTarget([5, 3], [2, -1], false)).toThrow(ShapeConflict);
    expect(() => reshapeTarget([4], [-1, -1], false)).toThrow(ShapeConflict);
  });
});
