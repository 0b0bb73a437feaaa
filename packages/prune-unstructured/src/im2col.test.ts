import { applyPlan, CALIBRATION, CURRENT_CRITERION, type Model } from '@shears/core';
import { Session } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { l1 } from '@shears/criteria';
import { sparsegpt } from './criteria/sparsegpt.js';
import { im2colRows, samplePositions, windowGeom, windowOffsets } from './im2col.js';
import { layoutOf, roleOf } from './layout.js';
import { unstructuredPruning } from './strategy.js';
import { chainModel, context, memDataset, rng } from './test-helpers.js';

async function run(model: Model, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const s = await Session.create(model, { threads: 1 });
  try {
    const r = await s.run({ input: { dims, data: x } });
    return r[s.outputNames[0]!]!.data as Float32Array;
  } finally {
    await s.release();
  }
}

describe('im2col', () => {
  const cases: [string, number[], number[], Record<string, number | number[]>][] = [
    ['2-D strides, asymmetric pads, dilations, groups', [2, 6, 9, 8], [4, 3, 3, 2], { group: 2, strides: [2, 1], pads: [1, 0, 2, 1], dilations: [1, 2] }],
    ['2-D plain 1×1', [1, 5, 4, 4], [3, 5, 1, 1], {}],
    ['1-D', [2, 4, 11], [6, 4, 3], { strides: [2], pads: [1, 1] }],
  ];
  for (const [name, inDims, wDims, attrs] of cases) {
    it(`rows × W equals onnxruntime's Conv: ${name}`, async () => {
      const model = chainModel([...inDims], [{ op: 'Conv', w: wDims, attrs }]);
      const node = model.graph.nodes[0]!;
      const layout = layoutOf(node.inputs[1]!.constValue!, roleOf(model, node, 1), node);
      const g = windowGeom(node, layout, inDims);
      if (typeof g === 'string') throw new Error(g);
      const r = rng(5);
      const x = Float32Array.from({ length: inDims.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const y = await run(model, x, inDims);
      const w = node.inputs[1]!.constValue!.floats();
      const n = g.kh * g.kw * g.cg;
      const p = g.oh * g.ow;
      const all = samplePositions(p, p, 0, new Int32Array(p));
      const rows = new Float32Array(p * n);
      const k = wDims[0]! / g.groups;
      expect(y.length).toBe(inDims[0]! * wDims[0]! * p);
      for (let s = 0; s < inDims[0]!; s++) {
        for (let grp = 0; grp < g.groups; grp++) {
          im2colRows(x, s, g, grp, all, p, rows, 0);
          const { rowOffset, colOffset } = windowOffsets(layout, g, grp);
          for (let o = 0; o < k; o++) {
            for (let q = 0; q < p; q++) {
              let acc = 0;
              for (let j = 0; j < n; j++) acc += rows[q * n + j]! * w[rowOffset[o]! + colOffset[j]!]!;
              expect(acc).toBeCloseTo(y[(s * wDims[0]! + grp * k + o) * p + q]!, 4);
            }
          }
        }
      }
    });
  }

  it('SAME_UPPER auto_pad matches the output size', () => {
    const model = chainModel([1, 2, 7, 7], [{ op: 'Conv', w: [2, 2, 3, 3], attrs: { strides: [2, 2] } }]);
    const node = model.graph.nodes[0]!;
    node.setAttr('auto_pad', { type: 'string', value: 'SAME_UPPER' });
    const g = windowGeom(node, layoutOf(node.inputs[1]!.constValue!, roleOf(model, node, 1), node), [1, 2, 7, 7]);
    expect(typeof g !== 'string' && [g.oh, g.ow, g.pt, g.pl]).toEqual([4, 4, 1, 1]);
  });

  it('samples positions deterministically, without repeats', () => {
    const a = samplePositions(100, 10, 7, new Int32Array(100));
    expect(Array.from(a)).toEqual(Array.from(samplePositions(100, 10, 7, new Int32Array(100))));
    expect(new Set(a).size).toBe(10);
    expect(Array.from(a)).toEqual([...a].sort((x, y) => x - y));
  });
});

describe('sparsegpt on a conv layer', () => {
  it('reconstructs better than magnitude when input channels are correlated', async () => {
    const r = rng(11);
    const gauss = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
    // 64 samples of 8 channels that mix 3 sources, 10×10.
    const mix = Array.from({ length: 24 }, gauss);
    const x = new Float32Array(64 * 8 * 100);
    for (let s = 0; s < 64; s++) {
      const src = Array.from({ length: 300 }, gauss);
      for (let c = 0; c < 8; c++) for (let p = 0; p < 100; p++) x[(s * 8 + c) * 100 + p] = mix[c * 3]! * src[p]! + mix[c * 3 + 1]! * src[100 + p]! + mix[c * 3 + 2]! * src[200 + p]! + 0.05 * gauss();
    }
    const build = () => chainModel([1, 8, 10, 10], [{ op: 'Conv', w: [6, 8, 3, 3], attrs: { pads: [1, 1, 1, 1], strides: [1, 2] } }], 3);
    const dense = build();
    const test = x.slice(0, 8 * 8 * 100);
    const ref = await run(dense, test.subarray(0, 800), [1, 8, 10, 10]);
    const errOf = async (crit: ReturnType<typeof l1>) => {
      const m = build();
      const ctx = context();
      ctx.state.set(CALIBRATION, memDataset(x, [8, 10, 10]));
      ctx.state.set(CURRENT_CRITERION, crit);
      applyPlan(m, await unstructuredPruning({ amount: 0.5, keepFirst: false, keepLast: false }).plan(m, ctx));
      const y = await run(m, test.subarray(0, 800), [1, 8, 10, 10]);
      return y.reduce((a, v, i) => a + (v - ref[i]!) ** 2, 0) / ref.reduce((a, v) => a + v * v, 0);
    };
    const mag = await errOf(l1());
    const gpt = await errOf(sparsegpt());
    expect(gpt).toBeLessThan(mag / 3);
  });
});
