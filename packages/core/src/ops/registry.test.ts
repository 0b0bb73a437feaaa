import { describe, expect, it } from 'vitest';
import { Graph } from '../ir/graph.js';
import { Node } from '../ir/node.js';
import { inferShapes } from '../shape/infer.js';
import { Kit } from '../shape/test-kit.js';
import { checkKnownOps, defaultOpRegistry, isKnownOp } from './registry.js';
import type { OpSpec } from './types.js';

describe('OpRegistry lookup', () => {
  const reg = defaultOpRegistry();

  it('picks the spec whose opset range contains the model opset', () => {
    const old = reg.lookup('ReduceMean', '', 13)!;
    const now = reg.lookup('ReduceMean', '', 18)!;
    expect(old.until).toBe(17);
    expect(now.since).toBe(18);
    expect(reg.lookup('ReduceSum', '', 13)!.since).toBe(13);
    expect(reg.lookup('Softmax', '', 11)!.until).toBe(12);
    expect(reg.lookup('GroupNormalization', '', 17)).toBeUndefined();
    expect(reg.lookup('Conv')).toBeDefined();
  });

  it('treats ai.onnx as the default domain', () => {
    expect(reg.lookup('Relu', 'ai.onnx', 14)).toBe(reg.lookup('Relu', '', 14));
  });

  it('is immutable; extend returns a new registry whose specs win', () => {
    const mine: OpSpec = { opType: 'Relu', domain: '', since: 14, channel: 'opaque' };
    const custom: OpSpec = { opType: 'Swizzle', domain: 'my.ops', since: 1, channel: 'unary', infer: (ctx) => [ctx.type(0)] };
    const next = reg.extend([mine, custom]);
    expect(next).not.toBe(reg);
    expect(next.lookup('Relu', '', 17)!.channel).toBe('opaque');
    expect(next.lookup('Relu', '', 6)!.channel).toBe('unary');
    expect(reg.lookup('Relu', '', 17)!.channel).toBe('unary');
    expect(reg.lookup('Swizzle', 'my.ops')).toBeUndefined();
    expect(next.isKnown('Swizzle', 'my.ops')).toBe(true);
    expect(Object.isFrozen(reg)).toBe(true);
    expect(Object.isFrozen(next.lookup('Swizzle', 'my.ops'))).toBe(true);
    expect(() => reg.extend([{ opType: 'X', domain: '', since: 5, until: 2, channel: 'opaque' }])).toThrow(/invalid op spec/);
  });

  it('lets plugin specs drive shape inference', () => {
    const reg2 = reg.extend([{ opType: 'Swizzle', domain: 'my.ops', since: 1, channel: 'unary', infer: (ctx) => [ctx.type(0)] }]);
    const k = new Kit({ '': 17, 'my.ops': 1 });
    const y = k.one('Swizzle', [k.input('x', [2, 3])], {}, 'my.ops');
    inferShapes(k.model, { registry: reg2 });
    expect(y.shape).toEqual([2, 3]);
  });
});

describe('known ops', () => {
  it('knows every standard op, the ML domain and common contrib ops', () => {
    expect(isKnownOp('Conv', '')).toBe(true);
    expect(isKnownOp('STFT', '')).toBe(true); // known even without a shape rule
    expect(isKnownOp('TreeEnsembleClassifier', 'ai.onnx.ml')).toBe(true);
    expect(isKnownOp('FusedConv', 'com.microsoft')).toBe(true);
    expect(isKnownOp('Convolution', '')).toBe(false);
    expect(isKnownOp('Relu', 'com.example')).toBe(false);
  });

  it('checkKnownOps names the first unknown node, and accepts model-local functions', () => {
    const k = new Kit({ '': 17, 'acme.ops': 1 });
    const x = k.input('x', [1]);
    k.one('Relu', [x]);
    k.graph.appendNode(new Node({ opType: 'Frob', domain: 'acme.ops', name: 'frob1', inputs: [x], outputs: ['y'] }));
    expect(() => checkKnownOps(k.model)).toThrow(expect.objectContaining({ code: 'E_UNKNOWN_OP', message: 'node frob1: unknown op acme.ops::Frob' }));
    k.model.functions.push({ name: 'Frob', domain: 'acme.ops', attributes: [], attributeDefaults: [], opsetImports: new Map(), body: new Graph('Frob') });
    expect(() => checkKnownOps(k.model)).not.toThrow();
  });
});

describe('immutability of built-in specs', () => {
  it('freezes static weight lists', () => {
    const bn = defaultOpRegistry().lookup('BatchNormalization', '', 17)!;
    expect(Object.isFrozen(bn.weights)).toBe(true);
    expect(() => (bn.weights as { outAxis?: number }[])[0]!.outAxis = 3).toThrow(TypeError);
  });
});
