// The channel strategy's MACs and params targets land within ±0.02 (the same
// solver as filter), measured on the applied model, and say why when not.
import { analyzeModel, applyPlan, cloneModel, Graph, Model, Node, Tensor, tensorType, Value } from '@shears/core';
import { seededFloats, testContext } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { channelPruning } from '../src/index.js';

const SHAPE = [1, 3, 12, 12];

/** Conv 3→32 → Relu → Conv 32→48 → Relu → Conv 48→16 → Relu → Conv 16→6 (the output, pinned). */
function chain(): Model {
  const g = new Graph('chain');
  let x = g.addInput(new Value('input', tensorType('float32', SHAPE)));
  const widths = [3, 32, 48, 16, 6];
  for (let i = 1; i < widths.length; i++) {
    const [cin, cout] = [widths[i - 1]!, widths[i]!];
    const w = g.addInitializer(new Tensor({ name: `w${i}`, dtype: 'float32', dims: [cout, cin, 3, 3], data: seededFloats(cout * cin * 9, 20 + i, 0.3) }));
    const b = g.addInitializer(new Tensor({ name: `b${i}`, dtype: 'float32', dims: [cout], data: seededFloats(cout, 40 + i, 0.1) }));
    const k = { type: 'ints' as const, value: [3, 3] };
    const conv = g.appendNode(new Node({ opType: 'Conv', name: `conv${i}`, inputs: [x, w, b], outputs: [`c${i}`], attributes: { kernel_shape: k, pads: { type: 'ints', value: [1, 1, 1, 1] } } }));
    x = conv.outputs[0]!;
    if (i < widths.length - 1) x = g.appendNode(new Node({ opType: 'Relu', name: `relu${i}`, inputs: [x], outputs: [`r${i}`] })).outputs[0]!;
  }
  x.type = tensorType('float32');
  g.outputs.push(x);
  const m = new Model({ opsetImports: { '': 17 } });
  m.graph = g;
  return m;
}

describe('channel strategy targets', () => {
  it.each([
    { metric: 'macs', r: 0.3 },
    { metric: 'macs', r: 0.5 },
    { metric: 'macs', r: 0.7 },
    { metric: 'params', r: 0.5 },
  ] as const)('$metric $r with round-to 1: within ±0.02 on the applied model', async ({ metric, r }) => {
    const target = metric === 'macs' ? { targetMacs: r } : { targetParams: r };
    const model = chain();
    const plan = await channelPruning({ ...target, roundTo: 1, selection: 'l1', reconstruct: false }).plan(model, testContext());
    const pruned = cloneModel(model);
    applyPlan(pruned, plan);
    const [a, b] = [analyzeModel(model), analyzeModel(pruned)];
    const achieved = b[metric] / a[metric];
    expect(Math.abs(achieved - r), `achieved ${achieved}`).toBeLessThanOrEqual(0.02);
    expect(plan.details!.target).toMatchObject({ metric, goal: r, reached: true });
    expect((plan.details!.target as { achieved: number }).achieved).toBeCloseTo(achieved, 9);
  });

  it('out of reach with round-to 32: the nearest plan, and why', async () => {
    const warnings: string[] = [];
    const plan = await channelPruning({ targetMacs: 0.3, roundTo: 32, selection: 'l1', reconstruct: false }).plan(
      chain(),
      testContext({ logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } }),
    );
    const t = plan.details!.target as { achieved: number; reached: boolean; why: string };
    expect(t.reached).toBe(false);
    expect(t.why).toMatch(/^target MACs 0\.3: reached 0\.\d{3}; with round-to 32 the least reachable is 0\.\d{3}; --round-to 1 would reach 0\.\d{3}$/);
    expect(warnings[0]).toBe(`channel: model: ${t.why}`);
    expect(plan.skipped.filter((s) => s.code === 'too-small').map((s) => s.target)).toEqual(['c1', 'c3']);
  });

  it('one of amount, targetMacs and targetParams', () => {
    expect(() => channelPruning({ amount: 0.5, targetParams: 0.5 })).toThrow(/^channel: option targetParams: give one of amount, targetMacs and targetParams, not amount and targetParams$/);
  });
});
