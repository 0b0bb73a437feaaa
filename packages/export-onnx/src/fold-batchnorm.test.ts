// The fold-batchnorm pass (core's foldBatchNorms) checked in onnxruntime:
// the folded model computes what the original does.
import { cloneModel, Graph, Model, Node, Tensor, tensorType, Value, type AttributeValue } from '@shears/core';
import { seededFloats, testContext } from '@shears/core/testing';
import { compare } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { float16, foldBatchNorm, validateModel } from './index.js';

/** A graph built in code: seeded weights, and BatchNormalizations with spread-out statistics. */
class Build {
  readonly g = new Graph('bn');
  #n = 0;

  input(name: string, shape: number[]): Value {
    return this.g.addInput(new Value(name, tensorType('float32', shape)));
  }

  w(dims: number[], scale = 0.5): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.g.addInitializer(new Tensor({ dtype: 'float32', dims, data: seededFloats(n, ++this.#n, scale) }), `w${this.#n}`);
  }

  op(opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}): Value {
    const name = `${opType.toLowerCase()}${++this.#n}`;
    return this.g.appendNode(new Node({ opType, name, inputs, outputs: [`${name}_out`], attributes })).outputs[0]!;
  }

  bn(x: Value, C: number): Value {
    const variance = this.w([C], 1);
    const v = variance.constValue!;
    this.g.replaceInitializer(variance.name, new Tensor({ dtype: 'float32', dims: [C], data: v.floats().map((x) => Math.abs(x) + 0.05) }));
    return this.op('BatchNormalization', [x, this.w([C], 2), this.w([C], 1), this.w([C], 0.5), variance], { epsilon: { type: 'float', value: 1e-3 } });
  }

  model(...outputs: Value[]): Model {
    this.g.outputs.push(...outputs);
    return new Model({ graph: this.g, opsetImports: { '': 17 }, irVersion: 8 });
  }
}

const int = (value: number): AttributeValue => ({ type: 'int', value });
const ints = (value: number[]): AttributeValue => ({ type: 'ints', value });
const float = (value: number): AttributeValue => ({ type: 'float', value });
const count = (m: Model, op: string) => m.graph.nodes.filter((n) => n.opType === op).length;

/** Fold a copy (`prepare` edits it first) in a pipeline step; the copy must match the original in onnxruntime and validate. */
async function foldAndCompare(m: Model, folds: number, prepare: (copy: Model) => void = () => {}) {
  const folded = cloneModel(m);
  prepare(folded);
  const r = await foldBatchNorm().run(folded, testContext());
  expect(r.details?.folded).toHaveLength(folds);
  expect(count(folded, 'BatchNormalization')).toBe(count(m, 'BatchNormalization') - folds);
  expect(validateModel(folded)).toEqual([]);
  expect(folded.graph.outputs.map((o) => o.name)).toEqual(m.graph.outputs.map((o) => o.name));
  const diff = await compare(m, folded);
  expect(diff.maxRelDiff).toBeLessThanOrEqual(1e-5);
  return folded;
}

describe('fold-batchnorm in onnxruntime', () => {
  it('Conv 3×3 (stride 2, grouped, with and without bias), the last BatchNormalization a graph output', async () => {
    const b = new Build();
    const x = b.input('x', [2, 4, 9, 9]);
    const c1 = b.op('Conv', [x, b.w([8, 2, 3, 3]), b.w([8], 0.1)], { group: int(2), pads: ints([1, 1, 1, 1]), strides: ints([2, 2]) });
    const r = b.op('Relu', [b.bn(c1, 8)]);
    const c2 = b.op('Conv', [r, b.w([6, 8, 3, 3])], { pads: ints([1, 1, 1, 1]) });
    const m = b.model(b.bn(c2, 6));
    const folded = await foldAndCompare(m, 2);
    expect(folded.graph.nodes.map((n) => n.opType)).toEqual(['Conv', 'Relu', 'Conv']);
    expect(folded.graph.outputs[0]!.producer!.opType).toBe('Conv');
  });

  it('ConvTranspose (stride 2) folds; a grouped one stays', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 5, 5]);
    const t = b.op('ConvTranspose', [x, b.w([4, 6, 3, 3]), b.w([6], 0.1)], { strides: ints([2, 2]) });
    const g = b.op('ConvTranspose', [b.bn(t, 6), b.w([6, 2, 3, 3])], { group: int(3) });
    const m = b.model(b.bn(g, 6));
    await foldAndCompare(m, 1);
  });

  for (const transB of [0, 1])
    it(`Gemm (transB=${transB}, alpha 1.5, beta 0.5) folds, C and beta rewritten`, async () => {
      const b = new Build();
      const x = b.input('x', [3, 10]);
      const y = b.op('Gemm', [x, b.w(transB ? [7, 10] : [10, 7]), b.w([7], 0.3)], { transB: int(transB), alpha: float(1.5), beta: float(0.5) });
      const m = b.model(b.bn(y, 7));
      const folded = await foldAndCompare(m, 1);
      expect(folded.graph.nodes[0]!.attrFloat('beta', 1)).toBe(1);
    });

  it('a weight shared by two convs, masked: both fold, the mask follows, float16 afterwards stays within 1e-2', async () => {
    const b = new Build();
    const x = b.input('x', [1, 4, 6, 6]);
    const w = b.w([4, 4, 3, 3]);
    const mask = Uint8Array.from({ length: 144 }, (_, i) => (i % 4 ? 1 : 0));
    b.g.replaceInitializer(w.name, new Tensor({ dtype: 'float32', dims: [4, 4, 3, 3], data: w.constValue!.floats().map((v, i) => v * mask[i]!) }));
    const pads = ints([1, 1, 1, 1]);
    const a = b.bn(b.op('Conv', [x, w], { pads }), 4);
    const m = b.model(b.bn(b.op('Conv', [a, w], { pads }), 4));
    // cloneModel leaves masks behind: the copy gets its own.
    const folded = await foldAndCompare(m, 2, (copy) => {
      copy.graph.initializers.get(w.name)!.mask = mask;
    });
    const weights = folded.graph.nodes.map((n) => n.input(1)!);
    expect(new Set(weights).size).toBe(2);
    for (const v of weights) {
      expect(v.mask).toEqual(mask);
      expect(v.constValue!.floats().every((x, i) => mask[i] === 1 || x === 0)).toBe(true);
    }
    const half = cloneModel(folded);
    await float16().run(half, testContext());
    expect((await compare(m, half)).maxRelDiff).toBeLessThanOrEqual(1e-2);
  });
});
