import { applyPlan, buildDependencyGraph, cloneModel, CURRENT_CRITERION, defaultOpRegistry, definePlugin, maskChannels, pipeline, ShearsError, type OpSpec, type PruningPlan, type RemoveChannelsAction } from '@shears/core';
import { assertConformance, testContext, tinyModel } from '@shears/core/testing';
import { bnScale, random } from '@shears/criteria';
import { smallFixture } from '@shears/fixtures';
import { onnxImport, readModel } from '@shears/onnx';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { compactPruning, constrain, filterPruning, listGroups, scored } from '../src/index.js';
import { Build, equivalence, fixtureFeeds, run, selectionOf } from './helpers.js';

const removes = (plan: PruningPlan) => plan.actions.filter((a): a is RemoveChannelsAction => a.type === 'remove-channels');

describe('filter strategy', () => {
  it('passes the conformance kit (plans, serializes, and the shared applier applies)', async () => {
    await assertConformance({
      factory: filterPruning,
      options: { amount: 0.5, roundTo: 2 },
      badOptions: [{}, { amount: 0.3, targetMacs: 0.5 }, { amount: 1.2 }, { amount: 0.3, roundTo: 0 }, { amount: 0.3, exclude: '(' }, { amount: 0.3, colour: 'red' }],
    });
    await assertConformance({ factory: compactPruning, options: {}, badOptions: [{ tolerance: -1 }, { exclude: '[' }] });
  });

  it('names the plugin and the option in one line', () => {
    expect(() => filterPruning({ amount: 0.3, targetMacs: 0.5 })).toThrow(/^filter: option targetMacs: give one of amount, targetMacs and targetParams, not amount and targetMacs$/);
    expect(() => filterPruning({ amount: 0.3, exclude: '(' })).toThrow(/^filter: option exclude: not a regular expression/);
    try {
      filterPruning({ amount: 2 });
    } catch (e) {
      expect(e).toBeInstanceOf(ShearsError);
      expect((e as ShearsError).option).toBe('amount');
    }
  });

  it('keeps channel counts multiples of round-to, at least round-to, within maxLayerAmount', () => {
    const g = { id: 'g', size: 64, width: 1, layers: [], members: [], sites: [], pinned: new Array(64).fill(undefined), prunable: 64, macs: 0 };
    const s = scored(g, Float32Array.from({ length: 64 }, (_, i) => i));
    const lim = { roundTo: 8, maxLayerAmount: 1 };
    expect(constrain(s, 19, lim).n).toBe(16); // keeps 45 → 48
    expect(constrain(s, 63, lim)).toEqual({ n: 56, note: 'would keep 1 of 64 channels; keeps 8 (round-to 8)', code: 'rounded' });
    expect(constrain(s, 40, { roundTo: 8, maxLayerAmount: 0.5 }).n).toBe(32);
    expect(constrain(s, 10, { roundTo: 1, maxLayerAmount: 1 }).n).toBe(10);
    const small = scored({ ...g, size: 6, pinned: new Array(6).fill(undefined), prunable: 6 }, new Float32Array(6));
    expect(constrain(small, 3, lim).note).toMatch(/not more than round-to 8/);
    // A 4-wide grouped layer: round-to 8 means an even number of groups.
    const grouped = scored({ ...g, size: 16, width: 4, pinned: new Array(16).fill(undefined), prunable: 16 }, new Float32Array(16));
    expect(constrain(grouped, 5, lim).n).toBe(4); // keeps 11 → 12 groups
  });

  it('an amount so high a layer would lose every channel keeps round-to channels and says so', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const plan = await filterPruning({ amount: 0.99 }).plan(model, testContext());
    expect(removes(plan).map((a) => [a.size, a.channels.length])).toEqual([
      [16, 8],
      [32, 24],
    ]);
    expect(plan.skipped.filter((s) => /keeps 8 \(round-to 8\)/.test(s.reason))).toHaveLength(2);
  });

  it('says why, group by group, when nothing is prunable', async () => {
    const b = new Build();
    const x = b.input([1, 3, 4, 4]);
    const a = b.conv(x, 3, 4);
    b.output(a, b.conv(b.one('Relu', [a]), 4, 2));
    const warnings: string[] = [];
    const plan = await filterPruning({ amount: 0.5 }).plan(b.model, testContext({ logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } }));
    expect(plan.actions).toEqual([]);
    expect(plan.skipped.map((s) => s.reason)).toEqual([
      `not prunable: reaches graph output ${a.name}`,
      expect.stringMatching(/^not prunable: reaches graph output/),
      `nothing pruned: every channel group is pinned (2 groups); by MACs: ${a.name} (reaches graph output ${a.name}); ${plan.skipped[1]!.target} (${plan.skipped[1]!.reason.slice('not prunable: '.length)})`,
    ]);
    expect(warnings).toEqual([`filter: ${plan.skipped[2]!.reason}`]);
  });

  it('lists the groups an unknown op blocks in the report', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const relu = model.graph.nodes.find((n) => n.opType === 'Relu')!;
    relu.opType = 'Mystery';
    relu.domain = 'com.example';
    const plan = await filterPruning({ amount: 0.5, roundTo: 1 }).plan(model, testContext());
    expect(plan.skipped.find((s) => /unknown op com\.example::Mystery/.test(s.reason))).toBeDefined();
    expect(removes(plan).length).toBe(1);
  });

  it('prunes through a custom op taught by a plugin (ops: [spec]) or by RunOptions.registry, read as ctx.ops', async () => {
    const build = () => {
      const b = new Build();
      b.model.opsetImports.set('com.example', 1);
      const x = b.input([1, 3, 4, 4]);
      const a = b.conv(x, 3, 8);
      const node = b.op('Swish2', [a])[0]!.producer!;
      node.domain = 'com.example';
      b.output(b.conv(node.outputs[0]!, 8, 2));
      return b;
    };
    const none = await pipeline(filterPruning({ amount: 0.5, roundTo: 1 })).run(build().model);
    expect(none.steps[0]!.plan!.actions).toEqual([]);
    expect(none.steps[0]!.plan!.skipped[0]!.reason).toMatch(/unknown op com\.example::Swish2/);
    const swish: OpSpec = { opType: 'Swish2', domain: 'com.example', since: 1, channel: 'unary', zeroPreserving: true, infer: (ctx) => [ctx.type(0)] };
    const teach = definePlugin({ name: 'swish2-op', kind: 'pass', ops: [swish], async run(model) { return { model, modified: false }; } });
    const r = await pipeline(teach, filterPruning({ amount: 0.5, roundTo: 1 })).run(build().model);
    expect(removes(r.steps[1]!.plan!)[0]!.channels).toHaveLength(4);
    expect(r.model.graph.nodes[1]!.outputs[0]!.shape).toEqual([1, 4, 4, 4]);
    const viaRegistry = await pipeline(filterPruning({ amount: 0.5, roundTo: 1 })).run(build().model, { registry: defaultOpRegistry().extend([swish]) });
    expect(removes(viaRegistry.steps[0]!.plan!)[0]!.channels).toHaveLength(4);
  });

  it('reports grouped layers whose groups cannot be removed', async () => {
    const b = new Build();
    const x = b.input([1, 4, 4, 4]);
    const gc = b.conv(x, 4, 8, { group: 2 }); // reads the graph input: its groups cannot go
    b.output(b.conv(b.one('Relu', [gc]), 8, 2));
    const plan = await filterPruning({ amount: 0.5 }).plan(b.model, testContext());
    expect(plan.skipped[0]!.reason).toMatch(/whole groups cannot be removed, because the channels it reads are not prunable/);
    const div = await filterPruning({ amount: 0.5, groupedConv: 'divisible', roundTo: 1 }).plan(b.model, testContext());
    expect(removes(div)[0]!.channels).toHaveLength(2); // 2 of 4 positions, in both groups
  });

  it('excludes groups by id or layer name, ranks globally, and follows the criterion in the pipeline', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const ex = await filterPruning({ amount: 0.5, exclude: 'c1' }).plan(model, testContext());
    expect(removes(ex).map((a) => a.group)).toEqual(['/c3/Conv_output_0']);
    expect(ex.skipped.some((s) => s.reason === 'excluded by c1')).toBe(true);
    const glob = await filterPruning({ amount: 0.5, scope: 'global', roundTo: 1 }).plan(model, testContext());
    expect(removes(glob).reduce((s, a) => s + a.channels.length, 0)).toBe(24);
    const r = await pipeline(onnxImport(), random({ seed: 3 }), filterPruning({ amount: 0.25, roundTo: 4 })).run(smallFixture('tiny-cnn.onnx'));
    expect(r.steps[2]!.plan!.criterion).toBe('random');
    expect(r.model.graph.nodes[0]!.outputs[0]!.shape).toEqual([1, 12, 32, 32]);
  });

  it('bn-scale ranks by |γ| where BatchNorm nodes exist', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const ctx = testContext();
    ctx.state.set(CURRENT_CRITERION, bnScale());
    const plan = await filterPruning({ amount: 0.25, roundTo: 1 }).plan(model, ctx);
    // The first group is c1 and c2 (tied by the residual Add): both BatchNorms' |γ|.
    const scales = buildDependencyGraph(model).groups[0]!.members.filter((m) => m.kind === 'scale');
    expect(scales).toHaveLength(2);
    const gamma = Array.from({ length: 16 }, (_, c) => scales.reduce((s, m) => s + Math.abs(m.tensor.floats()[c]!), 0));
    const lowest = [...gamma.keys()].sort((a, b) => gamma[a]! - gamma[b]!).slice(0, 4).sort((a, b) => a - b);
    expect(removes(plan)[0]!.channels).toEqual(lowest);
  });

  it('dry run from code: list the groups, plan, edit the plan, apply', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const { groups } = listGroups(model);
    expect(groups.map((g) => [g.id, g.size, g.prunable])).toEqual([
      ['/c1/Conv_output_0', 16, 16],
      ['/c3/Conv_output_0', 32, 32],
      ['output', 10, 0],
    ]);
    expect(groups[2]!.blocked).toBe('reaches graph output output');
    const plan = await filterPruning({ amount: 0.5 }).plan(model, testContext({ dryRun: true }));
    const first = removes(plan)[0]!;
    first.channels = [0, 1, 2, 3]; // edited by hand
    plan.actions = [first];
    const pruned = cloneModel(model);
    applyPlan(pruned, plan);
    expect(pruned.graph.nodes[0]!.outputs[0]!.shape).toEqual([1, 12, 32, 32]);
    const r = await equivalence(model, plan, fixtureFeeds('tiny-cnn', model));
    expect(r.rel).toBeLessThan(1e-5);
  });
});

describe('compact strategy', () => {
  it('removes exactly the masked channels and leaves outputs identical', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const masked = cloneModel(model);
    const sel = new Map([
      ['/c1/Conv_output_0', [1, 4, 9]],
      ['/c3/Conv_output_0', [0, 2, 30, 31]],
    ]);
    maskChannels(masked, sel);
    const plan = await compactPruning().plan(masked, testContext());
    expect(selectionOf(plan)).toEqual(sel);
    const compacted = cloneModel(masked);
    applyPlan(compacted, plan);
    const feeds = fixtureFeeds('tiny-cnn', model);
    const [a, b] = [await run(masked, feeds), await run(compacted, feeds)];
    const [x, y] = [a[0]!.data as Float32Array, b[0]!.data as Float32Array];
    const scale = Math.max(...x.map(Math.abs));
    for (let i = 0; i < x.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-6 * scale);
  });

  it('finds filters that are zero through ReLU and keeps one channel of an all-dead layer', async () => {
    const model = tinyModel();
    const w = model.graph.initializer('conv1.weight')!.floats();
    const bias = model.graph.initializer('conv1.bias')!.floats();
    w.fill(0, 0, 27 * 2); // filters 0 and 1
    bias[0] = 0;
    bias[1] = 0;
    const plan = await compactPruning().plan(model, testContext());
    expect(removes(plan)).toMatchObject([{ group: 'c1', channels: [0, 1] }]);
    model.graph.initializer('conv1.weight')!.floats().fill(0);
    model.graph.initializer('conv1.bias')!.floats().fill(0);
    const all = await compactPruning().plan(model, testContext());
    expect(removes(all)[0]!.channels).toHaveLength(7);
    expect(all.skipped.some((s) => /every channel is dead; channel 0 kept/.test(s.reason))).toBe(true);
    const none = await compactPruning().plan(tinyModel(), testContext());
    expect(none.actions).toEqual([]);
    expect(none.skipped.at(-1)!.reason).toMatch(/^no channel provably contributes nothing/);
  });

  it('does not touch pinned channels', async () => {
    const b = new Build();
    const x = b.input([1, 2, 4, 4]);
    const a = b.conv(x, 2, 4, { bias: false });
    a.producer!.input(1)!.constValue!.floats().fill(0);
    b.output(a);
    const plan = await compactPruning().plan(b.model, testContext());
    expect(plan.actions).toEqual([]);
    expect(buildDependencyGraph(b.model).groups[0]!.pinned[0]).toMatch(/reaches graph output/);
  });
});

describe('strategies read the op table only', () => {
  it('never compare op type names', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
    for (const f of readdirSync(src).filter((f) => f.endsWith('.ts'))) {
      expect(readFileSync(join(src, f), 'utf8'), f).not.toMatch(/opType|===\s*['"][A-Z][A-Za-z]+['"]/);
    }
  });
});
