import { describe, expect, it } from 'vitest';
import { broadcastDim, broadcastIndex, broadcastShapes } from './broadcast.js';
import { ShapeConflict } from './dims.js';

describe('broadcastShapes', () => {
  it('right-aligns and stretches 1s', () => {
    expect(broadcastShapes([8, 1, 6, 1], [7, 1, 5])).toEqual([8, 7, 6, 5]);
    expect(broadcastShapes([3], [2, 1], [])).toEqual([2, 3]);
  });

  it('keeps symbols and lets a fixed size decide', () => {
    expect(broadcastShapes(['N', 3, 1], [1, 3, 224])).toEqual(['N', 3, 224]);
    expect(broadcastDim('N', 'N')).toBe('N');
    expect(broadcastDim('N', 5)).toBe(5);
    expect(broadcastDim('N', 'M')).toBeNull();
    expect(broadcastDim(null, 1)).toBeNull();
    expect(broadcastDim(0, 1)).toBe(0);
  });

  it('is unknown when a rank is unknown and throws on conflicts', () => {
    expect(broadcastShapes([1, 2], undefined)).toBeUndefined();
    expect(() => broadcastShapes([3], [4])).toThrow(ShapeConflict);
  });

  it('maps output indices to broadcast input indices', () => {
    expect([...broadcastIndex([2, 3], [3])]).toEqual([0, 1, 2, 0, 1, 2]);
    expect([...broadcastIndex([2, 3], [2, 1])]).toEqual([0, 0, 0, 1, 1, 1]);
    expect([...broadcastIndex([2, 2], [])]).toEqual([0, 0, 0, 0]);
  });
});
