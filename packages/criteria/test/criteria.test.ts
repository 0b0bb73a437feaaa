import { buildDependencyGraph, CALIBRATION, Tensor, type ChannelGroup } from '@shears/core';
import { assertConformance, testContext, tinyModel } from '@shears/core/testing';
import { randomDataset } from '@shears/data';
import { smallFixture } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { createRuntime } from '@shears/runtime';
import { describe, expect, it } from 'vitest';
import { apoz, bnScale, fpgm, hrank, l1, l2, matrixRank, meanActivation, medianDistances, random } from '../src/index.js';

const quiet = () => testContext();
const runtime = createRuntime();

describe('criteria conformance', () => {
  for (const [factory, bad] of [
    [l1, { reduction: 'max' }],
    [l2, { normalize: 'median' }],
    [fpgm, { iterations: 0 }],
    [bnScale, { normalize: 1 }],
    [random, { seed: -1 }],
  ] as const) {
    it(`${factory.pluginName} passes the conformance kit`, async () => {
      await assertConformance({ factory, options: {}, badOptions: [bad, { colour: 'red' }] });
    });
  }
  for (const factory of [meanActivation, apoz, hrank]) {
    it(`${factory.pluginName} passes the conformance kit (onnxruntime on random data)`, async () => {
      await assertConformance({ factory, options: { samples: 2, batchSize: 2 }, badOptions: [{ samples: 0 }], context: { runtime } });
    });
  }
});

describe('weight criteria on groups', () => {
  it('l1 sums |w| per channel over producers and consumers, mean over members, normalized per group', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const graph = buildDependencyGraph(model);
    const group = graph.groups[1]!;
    const raw = await l1({ normalize: 'none' }).scoreGroup!({ model, graph, group }, quiet());
    const weights = group.members.filter((m) => m.kind === 'weight');
    const manual = new Float64Array(group.size);
    for (const m of weights) {
      const t = m.tensor;
      const inner = t.dims.slice(m.axis + 1).reduce((a, b) => a * b, 1);
      const w = t.floats();
      for (let i = 0; i < w.length; i++) {
        const c = m.channelOf[Math.floor(i / inner) % t.dims[m.axis]!]!;
        if (c >= 0) manual[c] += Math.abs(w[i]!) / weights.length;
      }
    }
    raw.forEach((x, c) => expect(x).toBeCloseTo(manual[c]!, 3));
    const norm = await l1().scoreGroup!({ model, graph, group }, quiet());
    expect(norm.reduce((a, b) => a + b, 0) / norm.length).toBeCloseTo(1, 5);
    const sum = await l1({ reduction: 'sum', normalize: 'none' }).scoreGroup!({ model, graph, group }, quiet());
    expect(sum[0]).toBeCloseTo(raw[0]! * weights.length, 2);
    const two = await l2().scoreGroup!({ model, graph, group }, quiet());
    expect(two).toHaveLength(group.size);
  });

  it('fpgm: filters near the geometric median score lowest', () => {
    const t = new Tensor({ dtype: 'float32', dims: [5, 2], data: Float32Array.from([0, 0, 1, 0, 0, 1, 1, 1, 10, 10]) });
    const d = medianDistances(t, 0, 20);
    const order = [...d.keys()].sort((a, b) => d[a]! - d[b]!);
    expect(order.at(-1)).toBe(4);
    expect(d[4]).toBeGreaterThan(10);
  });

  it('random is seeded and per group', async () => {
    const model = await readModel(smallFixture('tiny-cnn.onnx'));
    const graph = buildDependencyGraph(model);
    const s = (seed: number, g: ChannelGroup) => random({ seed }).scoreGroup!({ model, graph, group: g }, quiet());
    expect(await s(1, graph.groups[0]!)).toEqual(await s(1, graph.groups[0]!));
    expect(await s(1, graph.groups[0]!)).not.toEqual(await s(2, graph.groups[0]!));
  });

  it('random: the seeded streams are pinned (element, channel and group scores), and a scratch gets the same numbers', async () => {
    const model = tinyModel();
    const node = model.graph.nodes.find((n) => n.name === 'conv2')!;
    const t = { model, node, input: 1, weight: node.inputs[1]!.constValue!, granularity: { kind: 'element' as const } };
    const el = await random({ seed: 1 }).score(t, quiet());
    expect(el).toHaveLength(1152);
    expect(Array.from(el.subarray(0, 4))).toEqual([0.35129106044769287, 0.18402650952339172, 0.1896091103553772, 0.6223596930503845]);
    expect(Array.from(el.subarray(-2))).toEqual([0.21957308053970337, 0.3234909474849701]);
    const out = new Float32Array(1152);
    expect(await random({ seed: 1 }).score({ ...t, out }, quiet())).toBe(out);
    expect(out).toEqual(el);
    const ch = await random({ seed: 1 }).score({ ...t, granularity: { kind: 'channel', axis: 0 } }, quiet());
    expect(Array.from(ch.subarray(0, 3))).toEqual([37.63499450683594, 37.7827033996582, 33.68162536621094]);
    const graph = buildDependencyGraph(model);
    const group = graph.group('c1')!;
    expect(Array.from(await random({ seed: 1 }).scoreGroup!({ model, graph, group }, quiet()))).toEqual([
      0.12986251711845398, 0.18341770768165588, 0.384968101978302, 0.4052639305591583, 0.13988231122493744, 0.5794183015823364, 0.8072815537452698, 0.5714430809020996,
    ]);
  });

  it('l1 declares elementMagnitude and its element scores are |w| bit for bit (into the scratch when given); l2 declares nothing', async () => {
    expect(l1().capabilities).toEqual({ elementMagnitude: true });
    expect(l2().capabilities).toBeUndefined();
    const model = tinyModel();
    const node = model.graph.nodes.find((n) => n.name === 'conv2')!;
    const weight = node.inputs[1]!.constValue!;
    const w = weight.floats();
    w[0] = -0;
    w[1] = -3.5;
    const out = new Float32Array(w.length);
    const s = await l1().score({ model, node, input: 1, weight, granularity: { kind: 'element' }, out }, quiet());
    expect(s).toBe(out);
    expect(Object.is(s[0], 0)).toBe(true);
    expect(Array.from(s)).toEqual(Array.from(w, Math.abs));
  });

  it('bn-scale falls back to L1 with a warning where BatchNorm was folded', async () => {
    const model = tinyModel();
    const graph = buildDependencyGraph(model);
    const warnings: string[] = [];
    const ctx = testContext({ logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } });
    const s = await bnScale().scoreGroup!({ model, graph, group: graph.groups[0]! }, ctx);
    expect(s).toEqual(await l1().scoreGroup!({ model, graph, group: graph.groups[0]! }, ctx));
    expect(warnings).toEqual(['bn-scale: group c1 has no normalization scale (BatchNorm folded into the convs?); using L1 of its weights']);
  });
});

describe('activation criteria', () => {
  it('matrixRank', () => {
    expect(matrixRank(Float64Array.from([1, 2, 2, 4]), 2, 2)).toBe(1);
    expect(matrixRank(Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]), 3, 3)).toBe(3);
    expect(matrixRank(new Float64Array(6), 2, 3)).toBe(0);
    expect(matrixRank(Float64Array.from([1, 2, 3, 2, 4, 6.001]), 2, 3)).toBe(2);
  });

  it('rank a dead channel last, on calibration data from the run state or random noise with a warning', async () => {
    const model = tinyModel();
    // conv1 channel 3 is always zero after ReLU.
    const w = model.graph.initializer('conv1.weight')!.floats();
    w.fill(0, 3 * 27, 4 * 27);
    model.graph.initializer('conv1.bias')!.floats()[3] = -1;
    const graph = buildDependencyGraph(model);
    const group = graph.group('c1')!;
    const warnings: string[] = [];
    const ctx = testContext({ runtime, logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } });
    for (const factory of [meanActivation, apoz, hrank]) {
      const s = await factory({ samples: 4 }).scoreGroup!({ model, graph, group }, ctx);
      expect(s).toHaveLength(8);
      expect(Math.min(...s)).toBe(s[3]);
      for (const x of s) expect(Number.isFinite(x)).toBe(true);
    }
    expect(warnings[0]).toBe('mean-activation: no calibration data (--calib); using random:4, so channels are ranked by their response to noise');
    const given = testContext({ runtime, logger: { debug() {}, info() {}, error() {}, warn: (m) => warnings.push(m) } });
    given.state.set(CALIBRATION, randomDataset(3, [3, 8, 8], 5));
    warnings.length = 0;
    const s = await apoz().scoreGroup!({ model, graph, group }, given);
    expect(s[3]).toBe(0);
    expect(warnings).toEqual([]);
  });
});

describe('without a runtime', () => {
  /** The hook's error: a ShearsError E_NO_RUNTIME on one line that names the plugin and the package to install. */
  const expectNoRuntime = async (name: string, hook: () => Promise<unknown>) => {
    const e = await hook().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e, `${name} ran without a runtime`).toBeInstanceOf(Error);
    expect((e as { code?: string }).code).toBe('E_NO_RUNTIME');
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toContain(name);
    expect(message).toContain('@shears/runtime');
  };

  for (const factory of [meanActivation, apoz, hrank]) {
    it(`${factory.pluginName}: score() and scoreGroup() fail with E_NO_RUNTIME naming the plugin and @shears/runtime`, async () => {
      const model = tinyModel();
      const node = model.graph.nodes.find((n) => n.name === 'fc')!; // the one layer whose output shape tinyModel gives
      const weight = node.inputs[1]!.constValue!;
      await expectNoRuntime(factory.pluginName!, () => factory({ samples: 2 }).score({ model, node, input: 1, weight, granularity: { kind: 'element' } }, quiet()));
      const graph = buildDependencyGraph(model);
      await expectNoRuntime(factory.pluginName!, () => factory({ samples: 2 }).scoreGroup!({ model, graph, group: graph.groups[0]! }, quiet()));
    });
  }
});
