// The |w| fast path is chosen by a declared capability (elementMagnitude),
// not by which package made the criterion: @shears/criteria's l1 (what
// `--criterion l1` loads) takes it, and it prunes exactly what the scored
// path prunes.
import { applyPlan, cloneModel, CURRENT_CRITERION, type CriterionPlugin, type Model, type PruningPlan } from '@shears/core';
import { l1 as criteriaL1, random as criteriaRandom } from '@shears/criteria';
import { describe, expect, it } from 'vitest';
import { l1, random, unstructuredPruning, type UnstructuredOptions } from './index.js';
import { context, convModel, mlpModel } from './test-helpers.js';

const refuse = (): Promise<Float32Array> => Promise.reject(new Error('score() called'));

async function planWith(model: Model, criterion: CriterionPlugin, options: UnstructuredOptions): Promise<PruningPlan> {
  const ctx = context({ runtime: undefined });
  ctx.state.set(CURRENT_CRITERION, criterion);
  return unstructuredPruning(options).plan(model, ctx);
}

/** The weights after applying the plan to a copy: the same bits mean the same masks, whichever form the plan holds them in. */
function applied(model: Model, plan: PruningPlan): Map<string, Uint32Array> {
  const m = cloneModel(model);
  applyPlan(m, plan);
  const out = new Map<string, Uint32Array>();
  for (const name of m.graph.initializers.keys()) {
    const t = m.graph.initializer(name)!;
    if (t.dtype === 'float32') out.set(name, new Uint32Array(Float32Array.from(t.floats()).buffer));
  }
  return out;
}

const cases: [string, () => Model, UnstructuredOptions][] = [
  ['conv, per layer', () => convModel(3), { amount: 0.6 }],
  ['conv, global', () => convModel(3), { amount: 0.6, scope: 'global', keepFirst: false }],
  ['conv, ERK', () => convModel(5), { amount: 0.5, allocation: 'erk', keepLast: false }],
  // Many equal magnitudes: ties must fall the same way on both paths.
  ['mlp with ties, global', () => mlpModel(2, (i) => ((i * 7) % 5) / 4 - 0.5), { amount: 0.45, scope: 'global', keepFirst: false, keepLast: false }],
];

describe('the |w| fast path, by declared capability', () => {
  it("prune-unstructured's l1 and random are @shears/criteria's (one implementation each)", () => {
    expect(l1).toBe(criteriaL1);
    expect(random).toBe(criteriaRandom);
    expect(l1().capabilities?.elementMagnitude).toBe(true);
    expect(random().capabilities?.elementMagnitude).toBeUndefined();
  });

  for (const [name, model, options] of cases) {
    it(`${name}: @shears/criteria's l1 never has score() called, and prunes exactly what the scored path prunes`, async () => {
      const m = model();
      // Declares the capability, refuses to score: only the fast path can plan with it.
      const fast = await planWith(m, { ...criteriaL1(), score: refuse }, options);
      expect(fast.criterion).toBe('l1');
      const direct = await planWith(m, criteriaL1(), options);
      // The same |w| scores without the declaration: the scored path.
      const scored = await planWith(m, { ...criteriaL1(), capabilities: undefined }, options);
      const a = applied(m, fast);
      expect(applied(m, direct)).toEqual(a);
      expect(applied(m, scored)).toEqual(a);
      // And something was pruned, in every planned layer.
      const before = applied(m, { ...fast, actions: [] });
      let changed = 0;
      for (const [k, bits] of a) if (bits.some((x, i) => x !== before.get(k)![i])) changed++;
      expect(changed).toBeGreaterThanOrEqual(2);
    });
  }

  it('without the declaration the strategy scores (score() is called), whatever the name', async () => {
    await expect(planWith(convModel(3), { ...criteriaL1(), capabilities: undefined, score: refuse }, { amount: 0.5 })).rejects.toThrow('score() called');
    await expect(planWith(convModel(3), { ...criteriaL1(), capabilities: {}, score: refuse }, { amount: 0.5, scope: 'global' })).rejects.toThrow('score() called');
  });

  it('a criterion that reconstructs is asked to, even if it declares elementMagnitude', async () => {
    const asked: string[] = [];
    const reconstructs: CriterionPlugin = {
      ...criteriaL1(),
      name: 'reconstructs',
      score: refuse,
      async reconstruct(t, budget) {
        asked.push(t.node.label);
        const prune = Uint32Array.from({ length: budget.count }, (_, i) => i);
        const data = Float32Array.from(t.weight.floats());
        for (const i of prune) data[i] = 0;
        return { prune, data };
      },
    };
    const plan = await planWith(convModel(3), reconstructs, { amount: 0.5 });
    expect(asked.length).toBeGreaterThan(0);
    expect(plan.actions.filter((a) => a.type === 'set-tensor')).toHaveLength(asked.length);
  });
});
