import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('Concat', () => {
  it('sums the axis and unifies the rest', () => {
    const k = new Kit();
    const y = k.one('Concat', [k.input('a', ['N', 64, 'H', 'W']), k.input('b', ['N', 32, 56, 56])], { axis: 1 });
    const u = k.one('Concat', [k.input('c', ['N', 2]), k.input('d', ['M', 2])], { axis: 0 });
    inferShapes(k.model);
    expect(y.shape).toEqual(['N', 96, 56, 56]);
    expect(u.shape).toEqual([null, 2]);
  });
});

describe('Split', () => {
  it('uses the split attribute before 13, the input from 13, num_outputs from 18', () => {
    const old = new Kit(11);
    const [a, b] = old.node('Split', [old.input('x', [1, 10])], { axis: 1, split: [3, 7] }, 2);
    inferShapes(old.model);
    expect([a!.shape, b!.shape]).toEqual([
      [1, 3],
      [1, 7],
    ]);
    const k = new Kit(13);
    const [c, d] = k.node('Split', [k.input('x', [1, 10]), k.ints([4, 6])], { axis: -1 }, 2);
    const [e, f] = k.node('Split', [k.input('y', [8, 'N'])], {}, 2);
    inferShapes(k.model);
    expect([c!.shape, d!.shape, e!.shape, f!.shape]).toEqual([[1, 4], [1, 6], [4, 'N'], [4, 'N']]);
    const n = new Kit(18);
    const parts = n.node('Split', [n.input('x', [10])], { num_outputs: 3 }, 3);
    inferShapes(n.model);
    expect(parts.map((p) => p.shape)).toEqual([[4], [4], [2]]);
  });
});

describe('Split of a known tensor (tf2onnx pads: Split → Concat → Pad)', () => {
  it('folds each part, so a Pad whose pads are split and re-concatenated keeps a static shape', () => {
    const k = new Kit(11);
    const parts = k.node('Split', [k.ints([0, 0, 0, 0, 0, 1, 1, 0])], { axis: 0, split: [1, 1, 1, 1, 1, 1, 1, 1] }, 8);
    const pads = k.one('Concat', [parts[0]!, parts[3]!, parts[1]!, parts[2]!, parts[4]!, parts[7]!, parts[5]!, parts[6]!], { axis: 0 });
    const y = k.one('Pad', [k.input('x', [1, 96, 160, 160]), pads]);
    const r = inferShapes(k.model);
    expect(r.known.get(parts[5]!)?.data).toEqual([1]);
    expect(r.known.get(pads)?.data).toEqual([0, 0, 0, 0, 0, 0, 1, 1]);
    expect(y.shape).toEqual([1, 96, 161, 161]);
  });
});

describe('Slice', () => {
  it('reads starts/ends/axes attributes before opset 10', () => {
    const k = new Kit(9);
    const y = k.one('Slice', [k.input('x', [20, 10, 5])], { starts: [0, 1], ends: [3, 1000], axes: [0, 1] });
    inferShapes(k.model);
    expect(y.shape).toEqual([3, 9, 5]);
  });

  it('reads inputs from opset 10, clamping and with negative steps', () => {
    const k = new Kit(13);
    const x = k.input('x', [20, 10, 'C']);
    const a = k.one('Slice', [x, k.ints([-3]), k.ints([2n ** 63n - 1n]), k.ints([0])]);
    const b = k.one('Slice', [x, k.ints([8]), k.ints([1]), k.ints([1]), k.ints([-2])]);
    const c = k.one('Slice', [x, k.ints([0]), k.ints([2n ** 63n - 1n]), k.ints([2])]);
    const d = k.one('Slice', [x, k.ints([5, -100]), k.ints([2, 100])]);
    inferShapes(k.model);
    expect(a.shape).toEqual([3, 10, 'C']);
    expect(b.shape).toEqual([20, 4, 'C']);
    expect(c.shape).toEqual([20, 10, 'C']);
    expect(d.shape).toEqual([0, 10, 'C']);
  });

  it('keeps untouched axes when the bounds are unknown', () => {
    const k = new Kit(13);
    const s = k.input('s', [1], 'int64');
    const y = k.one('Slice', [k.input('x', [4, 5, 6]), s, s, k.ints([1])]);
    inferShapes(k.model);
    expect(y.shape).toEqual([4, null, 6]);
  });
});

describe('Gather family', () => {
  it('replaces the axis with the indices shape', () => {
    const k = new Kit();
    const emb = k.one('Gather', [k.floats([100, 16]), k.input('ids', ['B', 'S'], 'int64')]);
    const col = k.one('Gather', [k.input('x', [4, 5, 6]), k.ints([2], [])], { axis: 1 });
    const ge = k.one('GatherElements', [k.input('g', [3, 3]), k.input('gi', [2, 3], 'int64')]);
    const nd = k.one('GatherND', [k.input('n', [2, 3, 4]), k.input('ni', [5, 2], 'int64')]);
    inferShapes(k.model);
    expect(emb.shape).toEqual(['B', 'S', 16]);
    expect(col.shape).toEqual([4, 6]);
    expect(ge.shape).toEqual([2, 3]);
    expect(nd.shape).toEqual([5, 4]);
  });
});
