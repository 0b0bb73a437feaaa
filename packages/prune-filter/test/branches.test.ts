// Groups a Split cuts into branches (YOLO's C2f / C3k2: cv1 → Split in two →
// bottlenecks on one half → Concat of every branch → cv2): round-to holds in
// each branch, not only over the group, and branches too small to lose a
// round-to step leave the group whole with a note saying so.
import { buildDependencyGraph, pipeline, type PruningPlan, type RemoveChannelsAction } from '@shears/core';
import { testContext } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { filterPruning } from '../src/index.js';
import { branchesOf, constrain, scored } from '../src/select.js';
import { Build, equivalence } from './helpers.js';

/** A C2f-like block: conv(3→a+b) → Split [a, b] → conv(b→b) on the second → Concat [a, b, m] → conv → output. */
function c2f(a: number, b: number) {
  const m = new Build();
  const x = m.input([1, 3, 8, 8]);
  const cv1 = m.one('Relu', [m.conv(x, 3, a + b, { k: 3 })]);
  const [p, q] = m.op('Split', [cv1, m.ints([a, b])], { axis: 1 }, 2) as [typeof x, typeof x];
  const inner = m.one('Relu', [m.conv(q, b, b, { k: 3 })]);
  const cat = m.one('Concat', [p, q, inner], { axis: 1 });
  m.output(m.conv(m.one('Relu', [m.conv(cat, a + 2 * b, 16)]), 16, 4));
  return { m, cv1: cv1.producer!.input(0)!.name };
}

const feeds = (_m: Build) => ({ input: { dims: [1, 3, 8, 8], data: Float32Array.from({ length: 192 }, (_, i) => Math.sin(i * 0.7)) } });
const splitSizes = (plan: PruningPlan, group: string) => plan.actions.find((x): x is RemoveChannelsAction => x.type === 'remove-channels' && x.group === group);

describe('groups cut into Split branches', () => {
  it('finds the branches of a C2f cv1 group (and none in a plain group)', () => {
    const { m, cv1 } = c2f(16, 16);
    const g = buildDependencyGraph(m.model);
    const br = branchesOf(g.group(cv1)!);
    expect(br?.sizes).toEqual([16, 16]);
    expect(Array.from(br!.of.subarray(0, 16)).every((b) => b === br!.of[0])).toBe(true);
    expect(br!.of[16]).not.toBe(br!.of[0]);
    const plain = g.groups.find((x) => x.id !== cv1 && x.prunable > 0)!;
    expect(branchesOf(plain)).toBeUndefined();
  });

  it('round-to applies in each branch: counts are sums of per-branch steps, lowest-scored chunks first', () => {
    const { m, cv1 } = c2f(8, 24);
    const g = buildDependencyGraph(m.model).group(cv1)!;
    const lim = { roundTo: 8, maxLayerAmount: 1 };
    // Branch 0 (8 channels) cannot lose a step; branch 1 (24) can lose 8 or 16.
    const s = scored(g, Float32Array.from({ length: 32 }, (_, i) => (i < 8 ? 0 : i)), lim);
    expect(Array.from(s.branches!.bounds)).toEqual([0, 8, 16]);
    expect(Array.from(s.order.subarray(0, 8))).toEqual([8, 9, 10, 11, 12, 13, 14, 15]);
    expect(constrain(s, 11, lim).n).toBe(8);
    expect(constrain(s, 30, lim).n).toBe(16);
    expect(constrain(s, 3, lim)).toMatchObject({ n: 0, code: 'rounded' });
    expect(constrain(s, 3, lim).note).toBe('would prune 3 of 32 channels; round-to 8 in each Split branch (8 + 24) keeps all 32; left whole');
    // Without round-to the branches do not matter.
    expect(scored(g, new Float32Array(32), { roundTo: 1, maxLayerAmount: 1 }).branches).toBeUndefined();
  });

  it('filter --amount 0.5: each branch keeps a multiple of round-to; the result equals its masked twin', async () => {
    const { m, cv1 } = c2f(16, 16);
    const plan = await filterPruning({ amount: 0.5, roundTo: 8 }).plan(m.model, testContext());
    const a = splitSizes(plan, cv1)!;
    expect(a.channels.filter((c) => c < 16)).toHaveLength(8);
    expect(a.channels.filter((c) => c >= 16)).toHaveLength(8);
    const e = await equivalence(m.model, plan, feeds(m));
    expect(e.rel).toBeLessThan(1e-5);
    expect(e.sameOutputShapes).toBe(true);
  });

  it('round-to 16 on branches of 16: the group stays whole, reported as too small', async () => {
    const { m, cv1 } = c2f(16, 16);
    const r = await pipeline(filterPruning({ amount: 0.5, roundTo: 16 })).run(m.model, { dryRun: true });
    const plan = r.steps[0]!.plan!;
    expect(splitSizes(plan, cv1)).toBeUndefined();
    expect(plan.skipped).toContainEqual({ target: cv1, code: 'too-small', reason: 'Split branches of 16 + 16 channels, none more than round-to 16 (each keeps a multiple of it); left whole' });
  });

  it('a MACs target lands with the branches cut in round-to steps', async () => {
    const { m, cv1 } = c2f(32, 32);
    const plan = await filterPruning({ targetMacs: 0.6, roundTo: 4 }).plan(m.model, testContext());
    const a = splitSizes(plan, cv1)!;
    expect(a.channels.length).toBeGreaterThan(0);
    expect(a.channels.filter((c) => c < 32).length % 4).toBe(0);
    expect(a.channels.filter((c) => c >= 32).length % 4).toBe(0);
    const t = plan.details!.target as { reached: boolean; achieved: number };
    expect(t.reached, JSON.stringify(t)).toBe(true);
    const e = await equivalence(m.model, plan, feeds(m));
    expect(e.rel).toBeLessThan(1e-5);
  });
});
