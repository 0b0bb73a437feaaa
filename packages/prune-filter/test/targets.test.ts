// MACs and params targets that land: the cost model counts what the applier
// leaves, the solver lands within ±0.02 where the groups allow it, and says
// how close it got and why where they do not (round-to, pinned channels).
import { analyzeModel, applyPlan, buildDependencyGraph, cloneModel, countParams, type Model, type PruningPlan, type SkipNote } from '@shears/core';
import { testContext } from '@shears/core/testing';
import { describe, expect, it } from 'vitest';
import { CostModel, filterPruning } from '../src/index.js';
import { Build, equivalence, selectionOf } from './helpers.js';

const SHAPE = [1, 3, 16, 16];

/** Convs of unequal widths and kernels, a residual Add and a pinned head: groups of every size. */
function mixed(): Model {
  const b = new Build();
  const x = b.input(SHAPE);
  const c1 = b.one('Relu', [b.conv(x, 3, 24, { k: 3 })]);
  const c2 = b.one('Relu', [b.conv(c1, 24, 40, { k: 3 })]);
  const r = b.one('Add', [c2, b.conv(b.one('Relu', [b.conv(c2, 40, 16, { k: 3 })]), 16, 40)]);
  const c4 = b.one('Relu', [b.conv(r, 40, 64, { k: 3 })]);
  b.output(b.conv(c4, 64, 10));
  return b.model;
}

/** One wide group carrying almost every MAC (a BlazeFace-like residual chain), and a pinned head. */
function oneGroup(): Model {
  const b = new Build();
  let h = b.one('Relu', [b.conv(b.input(SHAPE), 3, 24, { k: 3 })]);
  for (let i = 0; i < 4; i++) h = b.one('Add', [h, b.conv(b.one('Relu', [b.conv(h, 24, 24, { group: 24, k: 3 })]), 24, 24)]);
  b.output(b.conv(h, 24, 4));
  return b.model;
}

const feeds = () => ({ input: { dims: SHAPE, data: Float32Array.from({ length: 3 * 16 * 16 }, (_, i) => Math.sin(i)) } });

async function plan(model: Model, options: Record<string, unknown>, warnings: string[] = []): Promise<PruningPlan> {
  return filterPruning(options).plan(model, testContext({ logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } }));
}

describe('the cost model', () => {
  it('counts the MACs and params the applier leaves, exactly', () => {
    const model = mixed();
    const graph = buildDependencyGraph(model, { registry: undefined });
    const macs = new CostModel(graph, 'macs');
    const params = new CostModel(graph, 'params');
    expect(macs.total).toBe(graph.macs);
    expect(params.total).toBe(countParams(model));
    // Remove a few channels of every prunable group, the same in both models and in a real applied copy.
    const sel = new Map<string, number[]>();
    graph.groups.forEach((g, gi) => {
      if (!g.prunable) return;
      const chans = Array.from({ length: Math.floor(g.size / 3) }, (_, k) => (k * 5) % g.size).filter((c, k, a) => a.indexOf(c) === k);
      sel.set(g.id, chans);
      macs.change(gi, chans, 1);
      params.change(gi, chans, 1);
    });
    expect(macs.value).toBeCloseTo(graph.estimateMacs(sel), 6);
    const pruned = cloneModel(model);
    applyPlan(pruned, {
      version: 1,
      strategy: 'test',
      actions: [...sel].map(([id, channels]) => ({ type: 'remove-channels', group: id, channels, size: graph.group(id)!.size, structure: { ...graph.choices }, layers: graph.group(id)!.layers })),
      skipped: [],
    });
    const after = analyzeModel(pruned, { inputShapes: { input: SHAPE } });
    expect(macs.value).toBeCloseTo(after.macs, 6);
    expect(params.value).toBeCloseTo(after.params, 6);
    // And back: every change undone gives the totals again.
    graph.groups.forEach((g, gi) => {
      if (sel.has(g.id)) {
        macs.change(gi, sel.get(g.id)!, -1);
        params.change(gi, sel.get(g.id)!, -1);
      }
    });
    expect(macs.settle()).toBeCloseTo(graph.macs, 6);
    expect(params.settle()).toBeCloseTo(countParams(model), 6);
  });
});

describe('targets that land', () => {
  const cases = [
    ...[0.3, 0.5, 0.7].flatMap((r) => [8, 1].map((roundTo) => ({ metric: 'macs' as const, r, roundTo }))),
    ...[8, 1].map((roundTo) => ({ metric: 'params' as const, r: 0.5, roundTo })),
  ];
  it.each(cases)('target $metric $r, round-to $roundTo: within ±0.02, runs, and equals its masked twin', async ({ metric, r, roundTo }) => {
    const model = mixed();
    const p = await plan(model, { [metric === 'macs' ? 'targetMacs' : 'targetParams']: r, roundTo, inputShapes: { input: SHAPE } });
    const e = await equivalence(model, p, feeds());
    const achieved = metric === 'macs' ? e.macs[1] / e.macs[0] : e.params[1] / e.params[0];
    expect(Math.abs(achieved - r), `achieved ${achieved}`).toBeLessThanOrEqual(0.02);
    expect(p.details!.target).toMatchObject({ metric, goal: r, reached: true });
    expect((p.details!.target as { achieved: number }).achieved).toBeCloseTo(achieved, 9);
    expect(e.sameOutputShapes).toBe(true);
    expect(e.rel).toBeLessThan(1e-5);
    expect(p.skipped.some((s) => s.code === 'target-unreachable')).toBe(false);
  });

  it('scope layer (one amount for every group) lands too', async () => {
    const model = mixed();
    const p = await plan(model, { targetMacs: 0.5, scope: 'layer', roundTo: 1, inputShapes: { input: SHAPE } });
    const e = await equivalence(model, p, feeds());
    expect(Math.abs(e.macs[1] / e.macs[0] - 0.5)).toBeLessThanOrEqual(0.02);
  });
});

describe('targets out of reach', () => {
  it('round-to steps too coarse: the nearest plan, how close, and the hint --round-to 1 (which then lands)', async () => {
    const model = oneGroup();
    const warnings: string[] = [];
    const p = await plan(model, { targetMacs: 0.5, roundTo: 16 }, warnings);
    const t = p.details!.target as { achieved: number; reached: boolean; why: string };
    expect(t.reached).toBe(false);
    const note = p.skipped.find((s) => s.code === 'target-unreachable')!;
    expect(note.reason).toBe(t.why);
    expect(note.reason).toMatch(new RegExp(`^target MACs 0.5: reached ${t.achieved.toFixed(3)}; .*--round-to 1`));
    expect(warnings[0]).toBe(`filter: model: ${t.why}`);
    const fine = await plan(model, { targetMacs: 0.5, roundTo: 1 });
    expect(Math.abs((fine.details!.target as { achieved: number }).achieved - 0.5)).toBeLessThanOrEqual(0.02);
  });

  it('pinned channels: says what share stays and which groups pin it, by MACs', async () => {
    const b = new Build();
    const x = b.input(SHAPE);
    // The big layer reads the graph input and writes a graph output: nothing of it can go.
    const big = b.conv(x, 3, 64, { k: 3 });
    const side = b.conv(b.one('Relu', [b.conv(x, 3, 16, { k: 3 })]), 16, 4);
    b.output(big, side);
    const p = await plan(b.model, { targetMacs: 0.3, roundTo: 1 });
    const t = p.details!.target as { achieved: number; reached: boolean; why: string };
    expect(t.reached).toBe(false);
    expect(t.why).toMatch(/^target MACs 0.3: reached 0\.\d{3}; \d+% of the MACs stay even with every free channel removed; pinned: /);
    expect(t.why).toContain(`${big.name} (reaches graph output ${big.name})`);
  });

  it('a model whose every group is pinned: the top groups by MACs with their reasons, the count of the rest, in one warning', async () => {
    const b = new Build();
    const x = b.input(SHAPE);
    const outs = [4, 8, 12, 16, 20].map((c) => b.conv(x, 3, c, { k: 3 }));
    b.output(...outs);
    const warnings: string[] = [];
    const p = await plan(b.model, { targetMacs: 0.5 }, warnings);
    expect(p.actions).toEqual([]);
    const top = [outs[4]!, outs[3]!, outs[2]!].map((v) => `${v.name} (reaches graph output ${v.name})`).join('; ');
    const nothing = `nothing pruned: every channel group is pinned (5 groups); by MACs: ${top}; and 2 more`;
    expect(p.skipped.find((s) => s.code === 'nothing-pruned')!.reason).toBe(nothing);
    expect(warnings.length).toBeLessThanOrEqual(5);
    expect(warnings).toContain(`filter: ${nothing}`);
    expect(warnings).toContain('filter: model: target MACs 0.5: reached 1.000; every channel group is pinned');
  });
});

describe('round-to never leaves a layer whole silently', () => {
  it('groups it rounds to nothing or that are too small are in skipped, and a warning suggests --round-to 1 when they hold most MACs', async () => {
    const model = mixed();
    const warnings: string[] = [];
    const p = await plan(model, { amount: 0.1, roundTo: 32 }, warnings);
    const whole = p.skipped.filter((s: SkipNote) => s.code === 'too-small' || (s.code === 'rounded' && /left whole$/.test(s.reason)));
    const pruned = new Set(selectionOf(p).keys());
    const graph = buildDependencyGraph(model);
    // Every free group the plan leaves whole has a note saying why.
    const left = graph.groups.filter((g) => g.prunable && !pruned.has(g.id));
    expect(left.length).toBeGreaterThan(1);
    expect(pruned.size).toBeGreaterThan(0);
    for (const g of left) expect(whole.map((s) => s.target)).toContain(g.id);
    expect(whole.find((s) => s.code === 'too-small')!.reason).toMatch(/not more than round-to 32; left whole$/);
    expect(whole.find((s) => s.code === 'rounded')!.reason).toMatch(/^would prune \d+ of \d+ channels; round-to 32 keeps all \d+; left whole$/);
    const share = left.reduce((a, g) => a + g.macs, 0) / graph.groups.filter((g) => g.prunable).reduce((a, g) => a + g.macs, 0);
    expect(share).toBeGreaterThan(0.5);
    expect(warnings.at(-1)).toBe(`filter: round-to 32 leaves whole groups holding ${Math.round(100 * share)}% of the prunable MACs; try --round-to 1`);
    expect(warnings.length).toBeLessThanOrEqual(5);
    // With round-to 1 nothing is left whole and there is no such warning.
    const w1: string[] = [];
    const p1 = await plan(model, { amount: 0.1, roundTo: 1 }, w1);
    expect(p1.skipped.filter((s) => s.code === 'too-small' || s.code === 'rounded')).toEqual([]);
    expect(w1).toEqual([]);
  });

  it('targets note the groups round-to holds back', async () => {
    const model = mixed();
    const p = await plan(model, { targetMacs: 0.7, roundTo: 16, inputShapes: { input: SHAPE } });
    const pruned = new Set(selectionOf(p).keys());
    const graph = buildDependencyGraph(model);
    const noted = new Set(p.skipped.map((s) => s.target));
    const tooSmall = graph.groups.filter((g) => g.prunable && g.size <= 16);
    expect(tooSmall.length).toBeGreaterThan(0);
    for (const g of tooSmall) {
      expect(pruned.has(g.id)).toBe(false);
      expect(noted.has(g.id)).toBe(true);
    }
  });
});

describe('options', () => {
  it('one of amount, targetMacs and targetParams', () => {
    expect(() => filterPruning({ targetMacs: 0.5, targetParams: 0.5 })).toThrow(/^filter: option targetParams: give one of amount, targetMacs and targetParams, not targetMacs and targetParams$/);
    expect(() => filterPruning({ amountTable: { x: 0.5 }, targetParams: 0.5 })).toThrow(/give either amountTable \(with amount as the default\) or targetParams/);
    expect(() => filterPruning({ targetParams: 0 })).toThrow(/targetParams/);
    expect(filterPruning({ targetParams: 0.5 }).options).toMatchObject({ targetParams: 0.5 });
  });
});
