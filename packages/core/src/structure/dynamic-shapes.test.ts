import { describe, expect, it } from 'vitest';
import type { Value } from '../ir/value.js';
import { inferShapes } from '../shape/infer.js';
import { Kit } from '../shape/test-kit.js';
import { removeChannels } from './apply.js';
import { buildDependencyGraph } from './graph.js';

/** x[N,3,1,W] -> Conv 3→8 -> Reshape to Concat(Shape(y)[0:1], [8], [-1]) (a paddle2onnx flatten) -> Transpose -> MatMul. */
function flattenModel(): { k: Kit; conv: Value; reshape: Value } {
  const k = new Kit(13);
  const x = k.input('x', ['N', 3, 1, 'W']);
  const conv = k.one('Conv', [x, k.floats([8, 3, 1, 1]), k.floats([8])], { kernel_shape: [1, 1] });
  const n = k.one('Slice', [k.one('Shape', [conv]), k.ints([0]), k.ints([1])]);
  const shape = k.one('Concat', [n, k.ints([8]), k.ints([-1])], { axis: 0 });
  const reshape = k.one('Reshape', [conv, shape]);
  const t = k.one('Transpose', [reshape], { perm: [0, 2, 1] });
  k.output(k.one('MatMul', [t, k.floats([8, 5])]));
  return { k, conv, reshape };
}

describe('structured pruning on symbolic shapes', () => {
  it('rewrites a computed Reshape target with a dynamic batch and a -1 (the batch becomes 0: copy)', () => {
    const { k, conv, reshape } = flattenModel();
    const g = buildDependencyGraph(k.model);
    const group = g.group(conv.name)!;
    expect(group.pinned.filter(Boolean)).toEqual([]);
    expect(group.prunable).toBe(8);
    removeChannels(k.model, new Map([[conv.name, [1, 6]]]));
    const r = k.model.graph.nodes.find((n) => n.opType === 'Reshape')!;
    expect(r.input(1)!.constValue!.toNumbers()).toEqual([0, 6, -1]);
    inferShapes(k.model);
    expect(reshape.shape).toEqual(['N', 6, 'W']);
    expect(k.model.graph.nodes.find((n) => n.opType === 'MatMul')!.input(1)!.constValue!.dims).toEqual([6, 5]);
  });

  it('counts MACs with the sizes the model records (metadata), the model keeping its dynamic dims', () => {
    const k = new Kit(13);
    const x = k.input('x', ['N', 3, 'S', 'S']);
    const c = k.one('Conv', [x, k.floats([8, 3, 1, 1])], { kernel_shape: [1, 1] });
    k.output(k.one('Conv', [c, k.floats([4, 8, 1, 1])], { kernel_shape: [1, 1] }));
    expect(buildDependencyGraph(k.model).macs).toBe(0);
    k.model.setMetadata('input_shapes', JSON.stringify({ x: [1, 3, 10, 10] }));
    expect(buildDependencyGraph(k.model).macs).toBe(100 * (8 * 3 + 4 * 8));
    expect(x.shape).toEqual(['N', 3, 'S', 'S']);
  });
});
