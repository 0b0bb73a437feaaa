import { describe, expect, it } from 'vitest';
import { inferShapes } from '../../shape/infer.js';
import { Kit } from '../../shape/test-kit.js';

describe('normalization, quantization, recurrent and control-flow rules', () => {
  it('BatchNormalization and LayerNormalization outputs', () => {
    const k = new Kit(21);
    const x = k.input('x', ['N', 16, 8, 8]);
    const p = k.floats([16]);
    const [bn, rm, rv] = k.node('BatchNormalization', [x, p, p, p, p], { training_mode: 1 }, 3);
    const [ln, mean, inv] = k.node('LayerNormalization', [k.input('t', ['B', 'S', 64]), k.floats([64]), k.floats([64])], { axis: -1 }, 3);
    const gn = k.one('GroupNormalization', [x, p, p], { num_groups: 4 });
    const inorm = k.one('InstanceNormalization', [x, p, p]);
    inferShapes(k.model);
    expect(bn!.shape).toEqual(['N', 16, 8, 8]);
    expect(rm!.shape).toEqual([16]);
    expect(rv!.shape).toEqual([16]);
    expect(ln!.shape).toEqual(['B', 'S', 64]);
    expect(mean!.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: ['B', 'S', 1] });
    expect(inv!.shape).toEqual(['B', 'S', 1]);
    expect(gn.shape).toEqual(['N', 16, 8, 8]);
    expect(inorm.shape).toEqual(['N', 16, 8, 8]);
  });

  it('QuantizeLinear/DequantizeLinear types', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3]);
    const q = k.one('QuantizeLinear', [x, k.floats([], [0.1]), k.input('zp', [], 'int8')]);
    const d = k.one('DequantizeLinear', [q, k.floats([], [0.1]), k.input('zp2', [], 'int8')]);
    const qu = k.one('QuantizeLinear', [x, k.floats([], [0.1])]);
    inferShapes(k.model);
    expect(q.type).toEqual({ kind: 'tensor', dtype: 'int8', shape: [1, 3] });
    expect(d.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [1, 3] });
    expect(qu.dtype).toBe('uint8');
  });

  it('LSTM outputs follow layout and direction', () => {
    const k = new Kit();
    const [y, yh, yc] = k.node('LSTM', [k.input('x', ['T', 'B', 10]), k.floats([2, 80, 10]), k.floats([2, 80, 20])], { hidden_size: 20, direction: 'bidirectional' }, 3);
    inferShapes(k.model);
    expect(y!.shape).toEqual(['T', 2, 'B', 20]);
    expect(yh!.shape).toEqual([2, 'B', 20]);
    expect(yc!.shape).toEqual([2, 'B', 20]);
  });
});
