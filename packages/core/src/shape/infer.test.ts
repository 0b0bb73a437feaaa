import { describe, expect, it } from 'vitest';
import { ShearsError } from '../errors.js';
import { Tensor } from '../ir/tensor.js';
import { defaultOpRegistry } from '../ops/registry.js';
import { inferShapes } from './infer.js';
import { dynamicInputs } from './inputs.js';
import { Kit } from './test-kit.js';

describe('inputShapes', () => {
  it('overrides symbolic dims and binds the same symbol elsewhere', () => {
    const k = new Kit();
    const x = k.input('x', ['batch', 3, 'H', 'W']);
    const m = k.input('mask', ['batch', 1]);
    const y = k.one('Relu', [x]);
    inferShapes(k.model, { inputShapes: { x: [2, 3, 32, 48] } });
    expect(x.type).toEqual({ kind: 'tensor', dtype: 'float32', shape: [2, 3, 32, 48] });
    expect(m.shape).toEqual([2, 1]);
    expect(y.shape).toEqual([2, 3, 32, 48]);
  });

  it('validates name, rank and fixed dims', () => {
    const mk = () => {
      const k = new Kit();
      k.input('x', ['N', 3, 224, 224]);
      return k.model;
    };
    const err = (shapes: Record<string, number[]>) => {
      try {
        inferShapes(mk(), { inputShapes: shapes });
      } catch (e) {
        return e as ShearsError;
      }
      throw new Error('no error');
    };
    expect(err({ y: [1] })).toMatchObject({ code: 'E_SHAPE', message: 'input y: no such graph input (inputs: x)' });
    expect(err({ x: [1, 3, 224] }).message).toBe('input x: rank 3 given [1,3,224], the model declares rank 4 [N,3,224,224]');
    expect(err({ x: [1, 4, 224, 224] }).message).toBe('input x: dimension 1 is fixed to 3 in the model, 4 given');
    expect(err({ x: [1, 3, -1, 2] }).code).toBe('E_SHAPE');
  });
});

describe('dynamicInputs', () => {
  it('lists runtime inputs with symbolic, unknown or missing dims', () => {
    const k = new Kit();
    k.input('static', [1, 3]);
    k.input('sym', ['batch', 3]);
    k.input('unk', [null, 3]);
    k.input('norank', undefined);
    const w = k.floats([2]);
    k.graph.addInput(w); // an initializer listed as input is not fed at run time
    expect(dynamicInputs(k.model)).toEqual([
      { name: 'sym', shape: ['batch', 3] },
      { name: 'unk', shape: [null, 3] },
      { name: 'norank', shape: undefined },
    ]);
  });
});

describe('ops without rules', () => {
  it('leave outputs untyped (keeping declared types) and are reported', () => {
    const k = new Kit({ '': 17, 'acme.ops': 1 });
    const x = k.input('x', [2, 3]);
    const a = k.one('Frob', [x], {}, 'acme.ops');
    const b = k.one('Frob', [x], {}, 'acme.ops');
    b.type = { kind: 'tensor', dtype: 'float16', shape: [7] };
    const c = k.one('Relu', [b]);
    const res = inferShapes(k.model);
    expect(a.type).toBeUndefined();
    expect(b.type).toEqual({ kind: 'tensor', dtype: 'float16', shape: [7] });
    expect(c.shape).toEqual([7]);
    expect(res.untyped.map((n) => n.opType)).toEqual(['Frob', 'Frob']);
  });

  it('throw in strict mode, naming the node', () => {
    const k = new Kit({ '': 17, 'acme.ops': 1 });
    k.one('Frob', [k.input('x', [2])], {}, 'acme.ops');
    expect(() => inferShapes(k.model, { strict: true })).toThrow(expect.objectContaining({ code: 'E_SHAPE', message: 'node Frob_0: no shape rule for op acme.ops::Frob' }));
  });

  it('a failing rule is tolerated (issue) unless strict', () => {
    const reg = defaultOpRegistry().extend([
      {
        opType: 'Relu',
        domain: '',
        since: 1,
        channel: 'unary',
        infer: () => {
          throw new TypeError('boom');
        },
      },
    ]);
    const k = new Kit();
    k.one('Relu', [k.input('x', [2])]);
    const res = inferShapes(k.model, { registry: reg });
    expect(res.issues).toEqual([{ node: 'Relu_0', op: 'Relu', message: 'boom' }]);
    expect(() => inferShapes(k.model, { registry: reg, strict: true })).toThrow(/node Relu_0 \(Relu\): boom/);
  });
});

describe('initializer and Constant handling', () => {
  it('types node outputs only and reads constants through Constant nodes', () => {
    const k = new Kit();
    const shape = k.one('Constant', [], { value: Tensor.fromInt64('', [2], [-1, 6]) });
    const y = k.one('Reshape', [k.input('x', [2, 3, 4]), shape]);
    const res = inferShapes(k.model);
    expect(y.shape).toEqual([4, 6]);
    expect(res.known.get(shape)!.data).toEqual([-1, 6]);
  });
});
