import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('Reshape', () => {
  it('resolves 0 and -1 from a constant target', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 512, 7, 7]);
    const y = k.one('Reshape', [x, k.ints([0, -1])]);
    const z = k.one('Reshape', [k.input('s', [2, 3, 4]), k.ints([4, 0, -1])]);
    inferShapes(k.model);
    expect(y.shape).toEqual(['N', 25088]);
    expect(z.shape).toEqual([4, 3, 2]);
  });

  it('uses the shape attribute before opset 5 and allowzero from 14', () => {
    const old = new Kit(4);
    const a = old.one('Reshape', [old.input('x', [2, 6])], { shape: [3, -1] });
    inferShapes(old.model);
    expect(a.shape).toEqual([3, 4]);
    const k = new Kit(14);
    const b = k.one('Reshape', [k.input('e', [0, 4]), k.ints([0, 4])], { allowzero: 1 });
    inferShapes(k.model);
    expect(b.shape).toEqual([0, 4]);
  });

  it('gives rank-only output for an unknown target and rejects element-count mismatches', () => {
    const k = new Kit();
    const y = k.one('Reshape', [k.input('x', [2, 6]), k.input('shape', [3], 'int64')]);
    inferShapes(k.model);
    expect(y.shape).toEqual([null, null, null]);
    const bad = new Kit();
    bad.one('Reshape', [bad.input('x', [2, 6]), bad.ints([5, 2])]);
    expect(() => inferShapes(bad.model)).toThrow(/cannot reshape 12 elements/);
  });
});

describe('Flatten / Transpose / Squeeze / Unsqueeze', () => {
  it('flattens around axis (negative too)', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 3, 4, 5]);
    const a = k.one('Flatten', [x]);
    const b = k.one('Flatten', [x], { axis: -1 });
    const c = k.one('Flatten', [x], { axis: 0 });
    inferShapes(k.model);
    expect(a.shape).toEqual(['N', 60]);
    expect(b.shape).toEqual([null, 5]);
    expect(c.shape).toEqual([1, null]);
  });

  it('transposes with perm, and reverses by default', () => {
    const k = new Kit();
    const x = k.input('x', ['N', 3, 4, 5]);
    const a = k.one('Transpose', [x], { perm: [0, 2, 3, 1] });
    const b = k.one('Transpose', [x]);
    inferShapes(k.model);
    expect(a.shape).toEqual(['N', 4, 5, 3]);
    expect(b.shape).toEqual([5, 4, 3, 'N']);
  });

  it('reads axes from the attribute before opset 13 and from input 1 after', () => {
    const old = new Kit(11);
    const x = old.input('x', [1, 3, 1, 5]);
    const s = old.one('Squeeze', [x], { axes: [0, -2] });
    const u = old.one('Unsqueeze', [s], { axes: [0, 3] });
    const all = old.one('Squeeze', [x]);
    inferShapes(old.model);
    expect(s.shape).toEqual([3, 5]);
    expect(u.shape).toEqual([1, 3, 5, 1]);
    expect(all.shape).toEqual([3, 5]);
    const k = new Kit(13);
    const y = k.input('y', ['N', 1, 7]);
    const s2 = k.one('Squeeze', [y, k.ints([1])]);
    const u2 = k.one('Unsqueeze', [s2, k.ints([-1])]);
    inferShapes(k.model);
    expect(s2.shape).toEqual(['N', 7]);
    expect(u2.shape).toEqual(['N', 7, 1]);
  });

  it('refuses to squeeze a dim that is not 1', () => {
    const k = new Kit(13);
    k.one('Squeeze', [k.input('x', [2, 3]), k.ints([0])]);
    expect(() => inferShapes(k.model)).toThrow(/squeeze axis 0 of size 2/);
  });
});

describe('Expand / Tile / DepthToSpace', () => {
  it('broadcasts Expand, multiplies Tile, moves depth to space', () => {
    const k = new Kit();
    const e = k.one('Expand', [k.input('x', [3, 1]), k.ints([2, 1, 6])]);
    const t = k.one('Tile', [k.input('t', ['N', 2]), k.ints([1, 3])]);
    const d = k.one('DepthToSpace', [k.input('d', [1, 16, 5, 5])], { blocksize: 2 });
    const s = k.one('SpaceToDepth', [k.input('s', [1, 4, 6, 6])], { blocksize: 3 });
    inferShapes(k.model);
    expect(e.shape).toEqual([2, 3, 6]);
    expect(t.shape).toEqual(['N', 6]);
    expect(d.shape).toEqual([1, 4, 10, 10]);
    expect(s.shape).toEqual([1, 36, 2, 2]);
  });
});
