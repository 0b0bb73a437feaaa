// Equivalence on small graphs with the ops the torchvision fixtures lack:
// ConvTranspose, grouped ConvTranspose, depthwise multipliers, InstanceNorm,
// PRelu, Pad, Clip, Dropout, Identity, Split, Resize with sizes, MatMul and
// Gemm chains, channels-last Transpose.
import { testContext } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { filterPruning } from '../src/index.js';
import { Build, equivalence } from './helpers.js';

async function check(b: Build, opts: Record<string, unknown> = {}) {
  const plan = await filterPruning({ amount: 0.5, roundTo: 1, ...opts }).plan(b.model, testContext());
  const feeds = { input: { dims: b.graph.inputs[0]!.shape as number[], data: Float32Array.from({ length: (b.graph.inputs[0]!.shape as number[]).reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i * 0.37)) } };
  const r = await equivalence(b.model, plan, feeds);
  expect(r.channels).toBeGreaterThan(0);
  expect(r.sameOutputShapes).toBe(true);
  expect(r.params[1]).toBeLessThan(r.params[0]);
  expect(r.rel).toBeLessThan(1e-5);
  return { plan, r };
}

describe('equivalence on synthetic graphs', () => {
  it('ConvTranspose between convs (weights [C_in, C_out/g, k, k])', async () => {
    const b = new Build();
    const x = b.input([1, 3, 6, 6]);
    const a = b.one('Relu', [b.conv(x, 3, 8, { k: 3 })]);
    const up = b.one('ConvTranspose', [a, b.weight([8, 6, 2, 2]), b.weight([6], 0.1)], { kernel_shape: [2, 2], strides: [2, 2] });
    b.output(b.conv(b.one('Relu', [up]), 6, 2));
    await check(b);
  });

  it('grouped ConvTranspose: whole groups and divisible positions', async () => {
    for (const groupedConv of ['groups', 'divisible'] as const) {
      const b = new Build();
      const x = b.input([1, 3, 5, 5]);
      const a = b.one('Relu', [b.conv(x, 3, 8)]);
      const up = b.one('ConvTranspose', [a, b.weight([8, 3, 3, 3]), b.weight([12], 0.1)], { kernel_shape: [3, 3], group: 4 });
      b.output(b.conv(b.one('Relu', [up]), 12, 2));
      await check(b, { groupedConv });
    }
  });

  it('depthwise conv with a channel multiplier, InstanceNorm, PRelu, Pad, Clip, Dropout, Identity, AveragePool', async () => {
    const b = new Build();
    const x = b.input([1, 3, 8, 8]);
    const a = b.conv(x, 3, 6);
    const inorm = b.one('InstanceNormalization', [a, b.positive([6]), b.weight([6], 0.1)]);
    const pr = b.one('PRelu', [inorm, b.weight([6, 1, 1], 0.3)]);
    const dw = b.conv(pr, 6, 12, { group: 6, k: 3 });
    const pad = b.one('Pad', [dw, b.ints([0, 0, 1, 1, 0, 0, 1, 1])]);
    const clip = b.one('Clip', [b.one('Identity', [pad]), b.scalar(0), b.scalar(6)]);
    const drop = b.one('Dropout', [clip]);
    const pool = b.one('AveragePool', [drop], { kernel_shape: [2, 2], strides: [2, 2] });
    b.output(b.conv(pool, 12, 2));
    await check(b);
  });

  it('Split across the channels, Concat back, Resize with constant sizes', async () => {
    const b = new Build();
    const x = b.input([1, 3, 4, 4]);
    const a = b.one('Relu', [b.conv(x, 3, 10)]);
    const [p, q] = b.op('Split', [a, b.ints([4, 6])], { axis: 1 }, 2) as [typeof a, typeof a];
    const cat = b.one('Concat', [b.conv(p, 4, 5), b.one('Relu', [q])], { axis: 1 });
    const sizes = b.ints([1, 11, 8, 8]);
    const up = b.one('Resize', [cat, null, null, sizes], { mode: 'nearest' });
    b.output(b.conv(up, 11, 2));
    await check(b);
  });

  it('MatMul and Gemm chains with channels-last activations', async () => {
    const b = new Build();
    const x = b.input([1, 3, 4, 4]);
    const a = b.conv(x, 3, 8);
    const t = b.one('Transpose', [a], { perm: [0, 2, 3, 1] });
    const h = b.one('Relu', [b.one('Add', [b.one('MatMul', [t, b.weight([8, 12])]), b.weight([12], 0.1)])]);
    const y = b.one('MatMul', [h, b.weight([12, 6])]);
    const flat = b.one('Flatten', [y], { axis: 1 });
    const g1 = b.one('Relu', [b.one('Gemm', [flat, b.weight([96, 16]), b.weight([16], 0.1)])]);
    b.output(b.one('Gemm', [g1, b.weight([4, 16]), b.weight([4], 0.1)], { transB: 1 }));
    await check(b);
  });
});
