import { describe, expect, it } from 'vitest';
import { Tensor } from '../../ir/tensor.js';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('Resize / Upsample', () => {
  it('uses sizes, or floor(dim * scale), with an empty scales tensor skipped', () => {
    const k = new Kit(13);
    const x = k.input('x', ['N', 8, 15, 20]);
    const empty = k.init('empty', new Tensor({ dtype: 'float32', dims: [0] }));
    const bySize = k.one('Resize', [x, null, empty, k.ints([1, 8, 30, 41])]);
    const byScale = k.one('Resize', [x, null, k.floats([4], [1, 1, 2, 0.5])]);
    inferShapes(k.model);
    expect(bySize.shape).toEqual([1, 8, 30, 41]);
    expect(byScale.shape).toEqual(['N', 8, 30, 10]);
  });

  it('supports opset 10 (X, scales), axes (18) and partially known scales', () => {
    const k10 = new Kit(10);
    const a = k10.one('Resize', [k10.input('x', [1, 3, 4, 4]), k10.floats([4], [1, 1, 2, 3])]);
    inferShapes(k10.model);
    expect(a.shape).toEqual([1, 3, 8, 12]);
    const k18 = new Kit(18);
    const b = k18.one('Resize', [k18.input('x', [1, 3, 4, 4]), null, null, k18.ints([6, 7])], { axes: [2, 3] });
    const partial = k18.one('Resize', [k18.input('y', ['N', 3, 4, 4]), null, k18.one('Concat', [k18.floats([2], [1, 1]), k18.input('hw', [2])], { axis: 0 })]);
    inferShapes(k18.model);
    expect(b.shape).toEqual([1, 3, 6, 7]);
    expect(partial.shape).toEqual(['N', 3, null, null]);
  });

  it('Upsample takes scales from the attribute (< 9) or input (>= 9)', () => {
    const k = new Kit(9);
    const u = k.one('Upsample', [k.input('x', [1, 2, 3, 3]), k.floats([4], [1, 1, 2, 2])]);
    inferShapes(k.model);
    expect(u.shape).toEqual([1, 2, 6, 6]);
    const old = new Kit(7);
    const v = old.one('Upsample', [old.input('x', [1, 2, 3, 3])], { scales: { type: 'floats', value: [1, 1, 3, 3] } });
    inferShapes(old.model);
    expect(v.shape).toEqual([1, 2, 9, 9]);
  });
});

describe('Pad', () => {
  it('reads pads from the attribute (< 11) or input (>= 11, with axes from 18)', () => {
    const old = new Kit(2);
    const a = old.one('Pad', [old.input('x', [1, 3, 4, 4])], { pads: [0, 0, 1, 2, 0, 0, 1, 2] });
    inferShapes(old.model);
    expect(a.shape).toEqual([1, 3, 6, 8]);
    const k = new Kit(18);
    const x = k.input('x', ['N', 3, 4, 4]);
    const b = k.one('Pad', [x, k.ints([0, 0, 1, 1, 0, 0, -1, 1])]);
    const c = k.one('Pad', [x, k.ints([2, 2]), null, k.ints([-1])]);
    inferShapes(k.model);
    expect(b.shape).toEqual(['N', 3, 4, 6]);
    expect(c.shape).toEqual(['N', 3, 4, 8]);
  });
});
