import { describe, expect, it } from 'vitest';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import { defaultOpRegistry } from '../ops/registry.js';
import { floatAttr, Kit } from '../shape/test-kit.js';
import { seededFloats } from '../testing/tiny-model.js';
import { foldBatchNorms } from './fold-batchnorm.js';

/**
 * A reference evaluator for the ops these tests use, on activations [N, C]
 * or [N, C, 1, 1] (1×1 kernels, so a convolution is a per-sample matrix
 * product): enough to check folded numbers without a runtime.
 */
function evaluate(model: Model, x: Float32Array, n: number): Float32Array[] {
  const env = new Map<Value, Float32Array>([[model.graph.inputs[0]!, x]]);
  const f = (v: Value | null) => (v ? (v.constValue?.floats() ?? env.get(v)) : undefined);
  for (const node of model.graph.nodes) env.set(node.outputs[0]!, step(node, f(node.input(0))!, n, f));
  return model.graph.outputs.map((o) => env.get(o)!);
}

function step(node: Node, x: Float32Array, n: number, f: (v: Value | null) => Float32Array | undefined): Float32Array {
  const C = x.length / n;
  const W = node.input(1)?.constValue;
  const w = f(node.input(1))!;
  const b = f(node.input(2));
  const linear = (O: number, weight: (o: number, c: number) => number, bias: (o: number) => number) => {
    const y = new Float32Array(n * O);
    for (let s = 0; s < n; s++) for (let o = 0; o < O; o++) {
      let acc = bias(o);
      for (let c = 0; c < C; c++) acc += weight(o, c) * x[s * C + c]!;
      y[s * O + o] = acc;
    }
    return y;
  };
  switch (node.opType) {
    case 'Conv': {
      const [O, Cg] = [W!.dims[0]!, W!.dims[1]!];
      const Og = O / (C / Cg);
      return linear(O, (o, c) => (Math.floor(c / Cg) === Math.floor(o / Og) ? w[o * Cg + (c % Cg)]! : 0), (o) => b?.[o] ?? 0);
    }
    case 'ConvTranspose': {
      const Og = W!.dims[1]!;
      const O = Og * node.attrInt('group', 1);
      const Cg = C / node.attrInt('group', 1);
      return linear(O, (o, c) => (Math.floor(c / Cg) === Math.floor(o / Og) ? w[c * Og + (o % Og)]! : 0), (o) => b?.[o] ?? 0);
    }
    case 'Gemm': {
      const transB = node.attrInt('transB', 0) === 1;
      const O = transB ? W!.dims[0]! : W!.dims[1]!;
      const [alpha, beta] = [node.attrFloat('alpha', 1), node.attrFloat('beta', 1)];
      return linear(O, (o, c) => alpha * (transB ? w[o * C + c]! : w[c * O + o]!), (o) => beta * (b?.[o] ?? 0));
    }
    case 'BatchNormalization': {
      const [g, beta, mean, v] = [1, 2, 3, 4].map((i) => f(node.input(i))!);
      const eps = node.attrFloat('epsilon', 1e-5);
      return x.map((xi, i) => ((xi - mean![i % C]!) / Math.sqrt(v![i % C]! + eps)) * g![i % C]! + beta![i % C]!);
    }
    case 'Relu':
      return x.map((v) => Math.max(0, v));
    default:
      throw new Error(`evaluate: ${node.opType}`);
  }
}

/** Statistics with a spread of scales, means and variances. */
function bn(k: Kit, x: Value, C: number, seed: number, epsilon = 1e-3): Value {
  const g = k.floats([C], [...seededFloats(C, seed, 2)]);
  const b = k.floats([C], [...seededFloats(C, seed + 1, 1)]);
  const mean = k.floats([C], [...seededFloats(C, seed + 2, 0.5)]);
  const variance = k.floats([C], [...seededFloats(C, seed + 3, 1)].map((v) => Math.abs(v) + 0.1));
  return k.one('BatchNormalization', [x, g, b, mean, variance], { epsilon: floatAttr(epsilon) });
}

function weights(k: Kit, dims: number[], seed: number): Value {
  return k.floats(dims, [...seededFloats(dims.reduce((a, b) => a * b, 1), seed, 0.7)]);
}

/** Fold a copy's statistics and check the folded model computes what the original does. */
function expectSameNumbers(build: () => Kit, n = 3, C = 4): { folded: ReturnType<typeof foldBatchNorms>; model: Model } {
  const ref = build().model;
  const model = build().model;
  const folded = foldBatchNorms(model);
  const x = seededFloats(n * C, 99, 2);
  const [want, got] = [evaluate(ref, x, n), evaluate(model, x, n)];
  expect(got.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) for (let j = 0; j < want[i]!.length; j++) expect(got[i]![j]).toBeCloseTo(want[i]![j]!, 5);
  return { folded, model };
}

const ops = (m: Model) => m.graph.nodes.map((n) => n.opType);

describe('foldBatchNorms', () => {
  it('Conv (grouped, without a bias) then BatchNormalization: one Conv with the same numbers, a new bias', () => {
    const { folded, model } = expectSameNumbers(() => {
      const k = new Kit();
      const y = k.one('Conv', [k.input('x', [3, 4, 1, 1]), weights(k, [6, 2, 1, 1], 1)], { group: 2, kernel_shape: [1, 1] });
      k.output(k.one('Relu', [bn(k, y, 6, 10)]));
      return k;
    });
    expect(folded).toEqual([{ norm: 'BatchNormalization_6', into: 'Conv_1' }]);
    expect(ops(model)).toEqual(['Conv', 'Relu']);
    const conv = model.graph.nodes[0]!;
    expect(conv.input(1)!.name).toBe('f0'); // read only by this Conv: keeps its name
    expect(conv.input(2)!.name).toBe('Conv_1.bias_bnfolded');
    // The statistics are gone with the node that read them.
    expect([...model.graph.initializers.keys()].sort()).toEqual(['Conv_1.bias_bnfolded', 'f0']);
  });

  it('ConvTranspose folds along its weight axis 1; a grouped one is left alone', () => {
    const { folded } = expectSameNumbers(() => {
      const k = new Kit();
      const y = k.one('ConvTranspose', [k.input('x', [3, 4, 1, 1]), weights(k, [4, 5, 1, 1], 2), k.floats([5], [...seededFloats(5, 3)])]);
      k.output(bn(k, y, 5, 20));
      return k;
    });
    expect(folded).toHaveLength(1);
    const grouped = expectSameNumbers(() => {
      const k = new Kit();
      const y = k.one('ConvTranspose', [k.input('x', [3, 4, 1, 1]), weights(k, [4, 3, 1, 1], 2)], { group: 2 });
      k.output(bn(k, y, 6, 20));
      return k;
    });
    expect(grouped.folded).toEqual([]);
    expect(ops(grouped.model)).toEqual(['ConvTranspose', 'BatchNormalization']);
  });

  for (const transB of [0, 1])
    it(`Gemm (transB=${transB}, alpha 2, beta 0.5) then BatchNormalization: beta is folded into C and reset to 1`, () => {
      const { folded, model } = expectSameNumbers(() => {
        const k = new Kit();
        const B = weights(k, transB ? [5, 4] : [4, 5], 4);
        const y = k.one('Gemm', [k.input('x', [3, 4]), B, k.floats([5], [...seededFloats(5, 5)])], { transB, alpha: floatAttr(2), beta: floatAttr(0.5) });
        k.output(bn(k, y, 5, 30));
        return k;
      });
      expect(folded).toHaveLength(1);
      expect(model.graph.nodes[0]!.attrFloat('beta', 1)).toBe(1);
      expect(model.graph.nodes[0]!.attrFloat('alpha', 1)).toBe(2);
    });

  it('leaves what it cannot fold: Gemm without C, a shared conv output, used training outputs, float16 weights', () => {
    const k = new Kit();
    const x = k.input('x', [3, 4]);
    const noC = bn(k, k.one('Gemm', [x, weights(k, [4, 4], 6)]), 4, 40);
    const c = k.one('Conv', [k.input('x4', [3, 4, 1, 1]), weights(k, [4, 4, 1, 1], 7)]);
    const shared = bn(k, c, 4, 50);
    const training = k.node('BatchNormalization', [k.one('Conv', [shared, weights(k, [4, 4, 1, 1], 8)]), ...[1, 2, 3, 4].map((i) => k.floats([4], [1, 1, 1, i]))], {}, 3);
    const half = k.init('half', new Tensor({ dtype: 'float16', dims: [4, 4, 1, 1], data: new Uint16Array(16).fill(0x3c00) }));
    const h = bn(k, k.one('Conv', [training[0]!, half]), 4, 60);
    k.output(noC, c, training[1]!, h);
    expect(foldBatchNorms(k.model)).toEqual([]);
    expect(ops(k.model).filter((o) => o === 'BatchNormalization')).toHaveLength(4);
  });

  it('a weight shared by two convs: the first gets a renamed copy with the mask, the second the name; the tensor is not written to', () => {
    const build = () => {
      const k = new Kit();
      const x = k.input('x', [3, 4, 1, 1]);
      const w = weights(k, [4, 4, 1, 1], 9);
      const a = bn(k, k.one('Conv', [x, w]), 4, 70);
      k.output(bn(k, k.one('Conv', [a, w]), 4, 80));
      return k;
    };
    const mask = Uint8Array.from({ length: 16 }, (_, i) => (i % 3 ? 1 : 0));
    const masked = () => {
      const k = build();
      const w = k.graph.initializers.get('f0')!;
      const data = Float32Array.from(w.constValue!.floats(), (v, i) => v * mask[i]!);
      k.graph.replaceInitializer('f0', Tensor.fromFloat32('', [4, 4, 1, 1], data));
      w.mask = Uint8Array.from(mask);
      return k;
    };
    const k = masked();
    const original = k.graph.initializer('f0')!;
    const before = Float32Array.from(original.floats());
    const { folded, model } = expectSameNumbers(masked);
    expect(folded).toHaveLength(2);
    const [w1, w2] = model.graph.nodes.map((n) => n.input(1)!);
    // Once the first Conv has its copy, the second reads f0 alone and keeps the name.
    expect([w1!.name, w2!.name]).toEqual(['Conv_1.weight_bnfolded', 'f0']);
    expect(foldBatchNorms(k.model)).toHaveLength(2);
    expect(original.floats()).toEqual(before);
    expect(k.graph.initializer('f0')).not.toBe(original);
    for (const w of [w1!, w2!]) {
      expect(w.mask).toEqual(mask);
      expect(w.constValue!.floats().every((v, i) => mask[i] === 1 || v === 0)).toBe(true);
    }
    expect(w1!.mask).not.toBe(w2!.mask);
  });

  it('keeps the mask of a private weight, drops the bias mask, and keeps a graph output by name', () => {
    const k = new Kit();
    const conv = k.one('Conv', [k.input('x', [3, 4, 1, 1]), weights(k, [4, 4, 1, 1], 11), k.floats([4], [0, 1, 0, 1])]);
    const y = bn(k, conv, 4, 90);
    k.output(y);
    const [w, b] = [k.graph.initializers.get('f0')!, k.graph.initializers.get('f1')!];
    w.mask = new Uint8Array(16).fill(1);
    b.mask = Uint8Array.of(0, 1, 0, 1);
    expect(foldBatchNorms(k.model)).toHaveLength(1);
    const node = k.graph.nodes[0]!;
    expect(ops(k.model)).toEqual(['Conv']);
    expect(node.outputs[0]).toBe(y);
    expect(k.graph.outputs).toEqual([y]);
    expect(y.name).toBe('BatchNormalization_7_out0');
    expect(node.input(1)).toBe(w);
    expect(w.hasMask).toBe(true);
    expect(node.input(2)).toBe(b);
    expect(b.hasMask).toBe(false);
    // A pruned channel's folded bias is β − μ·s, not zero.
    expect(b.constValue!.floats()[0]).not.toBe(0);
  });

  it('reads the op table it is given: a compute op the table teaches, and a norm it does not describe', () => {
    const build = (domain: string) => {
      const k = new Kit({ '': 17, 'my.ops': 1 });
      const y = k.one('Dense', [k.input('x', [3, 4]), weights(k, [5, 4], 12), k.floats([5], [...seededFloats(5, 13)])], {}, domain);
      k.output(bn(k, y, 5, 100));
      return k.model;
    };
    // Dense is the table's: a compute op with a weight [out, in] and a bias.
    const dense = { opType: 'Dense', domain: 'my.ops', since: 1, channel: 'compute' as const, weights: [{ input: 1, role: 'weight' as const, outAxis: 0, inAxis: 1 }, { input: 2, role: 'bias' as const, outAxis: 0 }] };
    expect(foldBatchNorms(build('my.ops'))).toEqual([]);
    const taught = build('my.ops');
    expect(foldBatchNorms(taught, defaultOpRegistry().extend([dense]))).toEqual([{ norm: 'BatchNormalization_7', into: 'Dense_2' }]);
    const w = taught.graph.nodes[0]!.input(1)!.constValue!.floats();
    expect(w[0]).not.toBeCloseTo(seededFloats(20, 12, 0.7)[0]!, 6);
    // A BatchNormalization without listed statistics is not folded.
    const blind = defaultOpRegistry().extend([{ opType: 'BatchNormalization', domain: '', since: 1, channel: 'unary' }, dense]);
    expect(foldBatchNorms(build('my.ops'), blind)).toEqual([]);
  });
});
