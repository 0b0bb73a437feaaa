// Removed channels whose activation is a non-zero constant (a zero filter with
// a bias after Clip or HardSwish, a Pad border of 1.5, a BatchNorm shift after
// the activation), in the channels-last layout tf2onnx writes. The masked twin
// zeroes the weights that read those channels, so it drops the constant just
// as removing them does: both must agree to rounding in onnxruntime.
import { buildDependencyGraph, cloneModel, maskChannels, type PruningPlan, type RemoveChannelsAction, type Value } from '@shears/core';
import { describe, expect, it } from 'vitest';
import { Build, equivalence, run, selectionOf } from './helpers.js';

/** A conv whose first `dead` filters are zero and whose bias is 2 there: those channels are the constant act(2). */
function constantConv(b: Build, x: Value, cin: number, cout: number, dead: number, k = 1): Value {
  const w = b.weight([cout, cin, k, k]);
  const bias = b.weight([cout], 0.1);
  const wd = w.constValue!.floats();
  const bd = bias.constValue!.floats();
  for (let c = 0; c < dead; c++) {
    wd.fill(0, c * cin * k * k, (c + 1) * cin * k * k);
    bd[c] = 2;
  }
  return b.one('Conv', [x, w, bias], { kernel_shape: [k, k], pads: new Array(4).fill((k - 1) >> 1) });
}

/** Remove the constant channels of `constant`'s group (plus one more), and half of every other prunable group. */
function planFor(b: Build, constant: Value, dead: number): PruningPlan {
  const g = buildDependencyGraph(b.model);
  const actions: PruningPlan['actions'] = [];
  for (const grp of g.groups) {
    const free = grp.pinned.flatMap((p, c) => (p ? [] : [c]));
    const channels = grp.id === constant.name ? free.slice(0, dead + 1) : free.filter((_, i) => i % 2 === 1);
    if (channels.length) actions.push({ type: 'remove-channels', group: grp.id, channels, size: grp.size });
  }
  expect(actions.find((a): a is RemoveChannelsAction => a.type === 'remove-channels' && a.group === constant.name)?.channels).toEqual(Array.from({ length: dead + 1 }, (_, i) => i));
  return { version: 1, strategy: 'filter', actions, skipped: [] };
}

async function check(b: Build, constant: Value, dead: number) {
  const plan = planFor(b, constant, dead);
  const dims = b.graph.inputs[0]!.shape as number[];
  const feeds = { input: { dims, data: Float32Array.from({ length: dims.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i * 0.37) * 2) } };
  const r = await equivalence(b.model, plan, feeds);
  expect(r.channels).toBeGreaterThan(0);
  expect(r.sameOutputShapes).toBe(true);
  expect(r.params[1]).toBeLessThan(r.params[0]);
  expect(r.rel).toBeLessThan(1e-6);
  // The constants matter: the dense model's outputs differ from the masked ones.
  const masked = cloneModel(b.model);
  maskChannels(masked, selectionOf(plan));
  const [dense, m] = [await run(b.model, feeds), await run(masked, feeds)];
  const d = (dense[0]!.data as Float32Array).reduce((acc, x, i) => Math.max(acc, Math.abs(x - (m[0]!.data as Float32Array)[i]!)), 0);
  expect(d).toBeGreaterThan(1e-2);
}

describe('removed channels that carry a non-zero constant', () => {
  it('bias through Clip(0.5, 6), a Pad with constant 1.5, then a 3×3 conv', async () => {
    const b = new Build();
    const x = b.input([1, 3, 8, 8]);
    const c = constantConv(b, x, 3, 8, 3);
    const a = b.one('Clip', [c, b.scalar(0.5), b.scalar(6)]);
    const pad = b.one('Pad', [a, b.ints([0, 0, 1, 1, 0, 0, 1, 1]), b.scalar(1.5)], { mode: 'constant' });
    b.output(b.conv(pad, 8, 4, { k: 3 }));
    await check(b, c, 3);
  });

  it('HardSwish, then a BatchNorm shift after the activation, a depthwise conv and a residual Add', async () => {
    const b = new Build();
    const x = b.input([1, 3, 6, 6]);
    const c = constantConv(b, x, 3, 8, 2);
    const h = b.one('HardSwish', [c]);
    const bn = b.one('BatchNormalization', [h, b.positive([8]), b.weight([8], 1), b.weight([8], 0.2), b.positive([8])]);
    const dw = b.one('Relu', [b.conv(bn, 8, 8, { group: 8, k: 3 })]);
    const sum = b.one('Add', [dw, bn]);
    b.output(b.conv(sum, 8, 4));
    await check(b, c, 2);
  });

  it('channels-last as tf2onnx writes it: NHWC input, Transpose, Conv, Relu6, Transpose back, bias Add', async () => {
    const b = new Build();
    const x = b.input([1, 8, 8, 4]);
    const nchw = b.one('Transpose', [x], { perm: [0, 3, 1, 2] });
    const c = constantConv(b, nchw, 4, 12, 4, 3);
    const a = b.one('Clip', [c, b.scalar(0), b.scalar(6)]);
    const nhwc = b.one('Transpose', [a], { perm: [0, 2, 3, 1] });
    const biased = b.one('Add', [nhwc, b.weight([12], 0.5)]);
    const back = b.one('Transpose', [biased], { perm: [0, 3, 1, 2] });
    b.output(b.one('Transpose', [b.conv(back, 12, 5, { k: 3 })], { perm: [0, 2, 3, 1] }));
    await check(b, c, 4);
  });
});
