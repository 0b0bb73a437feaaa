import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ShearsError } from '../errors.js';
import { cloneModel } from '../ir/clone.js';
import type { Value } from '../ir/value.js';
import { defaultOpRegistry } from '../ops/registry.js';
import type { OpSpec } from '../ops/types.js';
import { applyPlan } from '../plugin/apply-plan.js';
import { deserializePlan, serializePlan, type PruningPlan } from '../plugin/plan.js';
import { Kit } from '../shape/test-kit.js';
import { removeChannels } from './apply.js';
import { findDeadChannels } from './dead.js';
import { buildDependencyGraph } from './graph.js';
import { applyChannelMask, maskChannels } from './mask.js';
import { sliceArray } from './tensor-slice.js';

const conv = (k: Kit, x: Value, cin: number, cout: number, group = 1, kernel = 1) =>
  k.one('Conv', [x, k.floats([cout, cin / group, kernel, kernel]), k.floats([cout])], { group, kernel_shape: [kernel, kernel], pads: new Array(4).fill((kernel - 1) / 2) });

const sel = (entries: [string, number[]][]) => new Map(entries);

describe('dependency graph', () => {
  it('couples a conv with its BatchNorm, activation and the next conv, and pins graph outputs', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 8, 8]);
    const c1 = conv(k, x, 3, 8, 1, 3);
    const bn = k.one('BatchNormalization', [c1, k.floats([8]), k.floats([8]), k.floats([8]), k.floats([8], new Array(8).fill(1))]);
    const r = k.one('Relu', [bn]);
    const c2 = conv(k, r, 8, 4);
    k.output(c2);
    const g = buildDependencyGraph(k.model);
    expect(g.groups.map((x) => [x.id, x.size, x.prunable])).toEqual([
      [c1.name, 8, 8],
      [c2.name, 4, 0],
    ]);
    const first = g.groups[0]!;
    expect(first.members.map((m) => `${m.role}:${m.node.opType}:${m.input}@${m.axis}`).sort()).toEqual([
      'consumer:Conv:1@1',
      'param:BatchNormalization:1@0',
      'param:BatchNormalization:2@0',
      'param:BatchNormalization:3@0',
      'param:BatchNormalization:4@0',
      'param:Conv:2@0',
      'producer:Conv:1@0',
    ]);
    expect(g.groups[1]!.pinned[0]).toMatch(/reaches graph output/);
    expect(first.sites.map((s) => s.value.name)).toEqual([r.name]);
    expect(g.macs).toBe(1 * 8 * 8 * 8 * 27 + 64 * 4 * 8);
    expect(g.estimateMacs(sel([[c1.name, [0, 1, 2, 3]]]))).toBe(64 * 4 * 27 + 64 * 4 * 4);
  });

  it('removes channels from every coupled tensor and keeps shapes consistent', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 8, 8]);
    const c1 = conv(k, x, 3, 8, 1, 3);
    const bn = k.one('BatchNormalization', [c1, k.floats([8]), k.floats([8]), k.floats([8]), k.floats([8], new Array(8).fill(1))]);
    const c2 = conv(k, k.one('Relu', [bn]), 8, 4);
    k.output(c2);
    const w2 = Float32Array.from(k.model.graph.nodes.at(-1)!.input(1)!.constValue!.floats());
    const r = removeChannels(k.model, sel([[c1.name, [1, 6]]]));
    expect(r).toMatchObject({ groups: 1, channels: 2 });
    const nodes = k.model.graph.nodes;
    expect(nodes[0]!.input(1)!.constValue!.dims).toEqual([6, 3, 3, 3]);
    expect(nodes[0]!.input(2)!.constValue!.dims).toEqual([6]);
    for (let i = 1; i <= 4; i++) expect(nodes[1]!.input(i)!.constValue!.dims).toEqual([6]);
    const nw2 = nodes[3]!.input(1)!.constValue!;
    expect(nw2.dims).toEqual([4, 6, 1, 1]);
    // Row 0 of the consumer keeps input channels 0, 2, 3, 4, 5, 7.
    expect(Array.from(nw2.floats().subarray(0, 6))).toEqual([0, 2, 3, 4, 5, 7].map((i) => w2[i]));
    expect(c1.shape).toEqual([1, 6, 8, 8]);
    expect(c2.shape).toEqual([1, 4, 8, 8]);
  });

  it('ties residual Adds together and maps Concat offsets', () => {
    const k = new Kit();
    const x = k.input('x', [1, 4, 4, 4]);
    const a = conv(k, x, 4, 6);
    const b = conv(k, x, 4, 6);
    const s = k.one('Add', [a, b]);
    const c = conv(k, x, 4, 2);
    const cat = k.one('Concat', [s, c], { axis: 1 });
    const y = conv(k, cat, 8, 3);
    k.output(y);
    const g = buildDependencyGraph(k.model);
    expect(g.groups.map((x) => [x.id, x.size, x.layers.length])).toEqual([
      [a.name, 6, 2],
      [c.name, 2, 1],
      [y.name, 3, 1],
    ]);
    const consumer = g.group(c.name)!.members.find((m) => m.role === 'consumer')!;
    expect(Array.from(consumer.channelOf)).toEqual([-1, -1, -1, -1, -1, -1, 0, 1]);
    removeChannels(k.model, sel([[a.name, [0, 5]], [c.name, [1]]]));
    expect(cat.shape).toEqual([1, 5, 4, 4]);
    expect(k.model.graph.nodes.at(-1)!.input(1)!.constValue!.dims).toEqual([3, 5, 1, 1]);
  });

  it('rewrites Split sizes and Slice bounds on the channel axis', () => {
    const k = new Kit();
    const x = k.input('x', [1, 4, 4, 4]);
    const a = conv(k, x, 4, 8);
    const [p, q] = k.node('Split', [a, k.ints([3, 5])], { axis: 1 }, 2) as [Value, Value];
    const sl = k.one('Slice', [a, k.ints([2]), k.ints([6]), k.ints([1])]);
    k.output(conv(k, p, 3, 2), conv(k, q, 5, 2), conv(k, sl, 4, 2));
    removeChannels(k.model, sel([[a.name, [0, 3, 4]]]));
    expect(p.shape).toEqual([1, 2, 4, 4]);
    expect(q.shape).toEqual([1, 3, 4, 4]);
    expect(sl.shape).toEqual([1, 2, 4, 4]);
    const split = k.model.graph.nodes.find((n) => n.opType === 'Split')!;
    expect(split.input(1)!.constValue!.toNumbers()).toEqual([2, 3]);
    const slice = k.model.graph.nodes.find((n) => n.opType === 'Slice')!;
    expect([slice.input(1)!.constValue!.toNumbers(), slice.input(2)!.constValue!.toNumbers()]).toEqual([[1], [3]]);
  });

  it('couples depthwise input and output channels and rewrites the group count', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 6, 6]);
    const a = conv(k, x, 3, 8);
    const dw = conv(k, k.one('Relu', [a]), 8, 8, 8, 3);
    k.output(conv(k, dw, 8, 2));
    const g = buildDependencyGraph(k.model);
    expect(g.groups).toHaveLength(2);
    expect(g.groups[0]).toMatchObject({ id: a.name, size: 8, layers: [a.producer!.label, dw.producer!.label] });
    removeChannels(k.model, sel([[a.name, [2, 3, 7]]]));
    const node = dw.producer!;
    expect(node.attrInt('group')).toBe(5);
    expect(node.input(1)!.constValue!.dims).toEqual([5, 1, 3, 3]);
  });

  it('prunes whole groups of a grouped conv, or the same positions in every group', () => {
    const build = () => {
      const k = new Kit();
      const x = k.input('x', [1, 3, 4, 4]);
      const a = conv(k, x, 3, 8);
      const gc = conv(k, a, 8, 8, 4);
      k.output(conv(k, gc, 8, 2));
      return { k, a, gc };
    };
    const whole = build();
    const g1 = buildDependencyGraph(whole.k.model);
    expect(g1.groups[0]).toMatchObject({ size: 4, width: 2 });
    removeChannels(whole.k.model, sel([[whole.a.name, [1]]]));
    expect(whole.gc.producer!.attrInt('group')).toBe(3);
    expect(whole.gc.shape).toEqual([1, 6, 4, 4]);

    const div = build();
    const g2 = buildDependencyGraph(div.k.model, { groupedConv: 'divisible' });
    expect(g2.groups.map((g) => [g.size, g.width])).toEqual([
      [2, 4],
      [2, 4],
      [2, 1],
    ]);
    removeChannels(div.k.model, sel([[div.a.name, [0]], [div.gc.name, [1]]]), { groupedConv: 'divisible' });
    const node = div.gc.producer!;
    expect(node.attrInt('group')).toBe(4);
    expect(node.input(1)!.constValue!.dims).toEqual([4, 1, 1, 1]);
  });

  it('follows Flatten into Gemm: one channel is H×W features', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = conv(k, x, 3, 4);
    const f = k.one('Flatten', [k.one('MaxPool', [a], { kernel_shape: [2, 2], strides: [2, 2] })], { axis: 1 });
    const y = k.one('Gemm', [f, k.floats([5, 16]), k.floats([5])], { transB: 1 });
    k.output(y);
    const g = buildDependencyGraph(k.model);
    const consumer = g.groups[0]!.members.find((m) => m.role === 'consumer')!;
    expect(Array.from(consumer.channelOf)).toEqual([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3]);
    removeChannels(k.model, sel([[a.name, [2]]]));
    expect(y.producer!.input(1)!.constValue!.dims).toEqual([5, 12]);
    expect(f.shape).toEqual([1, 12]);
  });

  it('treats a Reshape→Transpose→Reshape channel shuffle as a permutation and rewrites the targets', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const a = conv(k, x, 2, 4);
    const b = conv(k, x, 2, 4);
    const cat = k.one('Concat', [a, b], { axis: 1 });
    const r1 = k.one('Reshape', [cat, k.ints([1, 2, 4, 4, 4])]);
    const t = k.one('Transpose', [r1], { perm: [0, 2, 1, 3, 4] });
    const r2 = k.one('Reshape', [t, k.ints([1, -1, 4, 4])]);
    k.output(conv(k, r2, 8, 2));
    const g = buildDependencyGraph(k.model);
    // Channel c of both branches goes together, so the 5-D shape stays a product.
    expect(g.groups[0]).toMatchObject({ id: a.name, size: 4, layers: [a.producer!.label, b.producer!.label] });
    const consumer = g.groups[0]!.members.find((m) => m.role === 'consumer')!;
    expect(Array.from(consumer.channelOf)).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    removeChannels(k.model, sel([[a.name, [1]]]));
    expect(r1.shape).toEqual([1, 2, 3, 4, 4]);
    expect(r1.producer!.input(1)!.constValue!.toNumbers()).toEqual([1, 2, 3, 4, 4]);
    expect(r2.shape).toEqual([1, 6, 4, 4]);
  });

  it('couples squeeze-excite gates [N,C,1,1] with the features they scale, and slices constant operands', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = conv(k, x, 3, 6);
    const pooled = k.one('GlobalAveragePool', [a]);
    const gate = k.one('Sigmoid', [conv(k, k.one('Relu', [conv(k, pooled, 6, 2)]), 2, 6)]);
    const scaled = k.one('Mul', [a, gate]);
    const biased = k.one('Add', [scaled, k.floats([6, 1, 1])]);
    k.output(conv(k, biased, 6, 2));
    const g = buildDependencyGraph(k.model);
    const main = g.group(a.name)!;
    expect(main.layers).toHaveLength(2);
    expect(main.members.some((m) => m.role === 'const' && m.node.opType === 'Add')).toBe(true);
    removeChannels(k.model, sel([[a.name, [0, 4]]]));
    expect(gate.shape).toEqual([1, 4, 1, 1]);
    expect(biased.producer!.input(1)!.constValue!.dims).toEqual([4, 1, 1]);
  });

  it('follows Transpose into a channels-last MatMul and blocks LayerNorm over the channels', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 2, 2]);
    const a = conv(k, x, 3, 4);
    const t = k.one('Transpose', [a], { perm: [0, 2, 3, 1] });
    const h = k.one('MatMul', [t, k.floats([4, 6])]);
    const act = k.one('Relu', [k.one('Add', [h, k.floats([6])])]);
    const ln = k.one('LayerNormalization', [act, k.floats([6]), k.floats([6])], { axis: -1 });
    k.output(k.one('MatMul', [ln, k.floats([6, 2])]));
    const g = buildDependencyGraph(k.model);
    expect(g.group(a.name)!.prunable).toBe(4);
    expect(g.group(h.name)!.prunable).toBe(0);
    expect(g.group(h.name)!.pinned[0]).toMatch(/LayerNormalization .* mixes values across the channel axis/);
    const loose = buildDependencyGraph(k.model, { crossChannel: 'prune' });
    expect(loose.group(h.name)!.prunable).toBe(6);
    expect(loose.group(h.name)!.members.filter((m) => m.role === 'param' && m.node.opType === 'LayerNormalization')).toHaveLength(2);
    removeChannels(k.model, sel([[a.name, [3]]]));
    expect(t.shape).toEqual([1, 2, 2, 3]);
    expect(h.producer!.input(1)!.constValue!.dims).toEqual([3, 6]);
  });

  it('blocks only the groups an unknown op touches, and says why', () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = conv(k, x, 3, 4);
    const fancy = k.one('FancyOp', [a], {}, 'com.example');
    fancy.type = { kind: 'tensor', dtype: 'float32', shape: [1, 4, 4, 4] }; // declared in value_info
    const b = conv(k, fancy, 4, 4);
    k.output(conv(k, k.one('Relu', [b]), 4, 2));
    const g = buildDependencyGraph(k.model);
    expect(g.group(a.name)!.prunable).toBe(0);
    expect(g.group(a.name)!.pinned[0]).toBe(`unknown op com.example::FancyOp at ${k.model.graph.nodes[1]!.label}`);
    expect(g.group(b.name)!.prunable).toBe(4);
    expect(g.blocks.some((n) => n.op === 'com.example::FancyOp')).toBe(true);
  });

  it('lets a plugin register a new op through OpRegistry.extend, with no special case in the builder', () => {
    const build = () => {
      const k = new Kit({ '': 17, 'com.example': 1 });
      const x = k.input('x', [1, 3, 4, 4]);
      const a = conv(k, x, 3, 4);
      const s = k.one('Swish2', [a], {}, 'com.example');
      k.output(conv(k, s, 4, 2));
      return { k, a, s };
    };
    const swish: OpSpec = { opType: 'Swish2', domain: 'com.example', since: 1, channel: 'unary', zeroPreserving: true, infer: (ctx) => [ctx.type(0)] };
    const registry = defaultOpRegistry().extend([swish]);
    const { k, a, s } = build();
    expect(buildDependencyGraph(k.model).group(a.name)!.prunable).toBe(0);
    expect(buildDependencyGraph(k.model, { registry }).group(a.name)!.prunable).toBe(4);
    removeChannels(k.model, sel([[a.name, [0]]]), { registry });
    expect(s.type).toMatchObject({ shape: [1, 3, 4, 4] });
  });

  it('freezes Slice bounds computed from Shape as constants, and pins channels whose shape is read elsewhere', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const a = conv(k, x, 2, 6);
    const shape = k.one('Shape', [a]);
    const c = k.one('Gather', [shape, k.ints([1])], { axis: 0 });
    const half = k.one('Div', [c, k.ints([2])]);
    const lo = k.one('Slice', [a, k.ints([0]), half, k.ints([1])]);
    const hi = k.one('Slice', [a, half, k.ints([1000]), k.ints([1])]);
    k.output(conv(k, lo, 3, 2), conv(k, hi, 3, 2));
    removeChannels(k.model, sel([[a.name, [0, 1]]]));
    expect([lo.shape, hi.shape]).toEqual([
      [1, 1, 4, 4],
      [1, 3, 4, 4],
    ]);
    expect(k.model.graph.nodes.some((n) => n.opType === 'Shape')).toBe(false);

    const k2 = new Kit();
    const x2 = k2.input('x', [1, 2, 4, 4]);
    const a2 = conv(k2, x2, 2, 6);
    const fill = k2.one('ConstantOfShape', [k2.one('Shape', [a2])]);
    k2.output(conv(k2, k2.one('Add', [a2, fill]), 6, 2));
    const g2 = buildDependencyGraph(k2.model);
    expect(g2.group(a2.name)!.prunable).toBe(0);
  });

  it('keeps channels a subgraph reads', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const a = conv(k, x, 2, 4);
    k.output(conv(k, a, 4, 2));
    const branch = new Kit();
    const inner = branch.one('Relu', [a]);
    branch.output(inner);
    const cond = k.input('cond', [], 'bool');
    const [out] = k.node('If', [cond], { then_branch: { type: 'graph', value: branch.graph }, else_branch: { type: 'graph', value: branch.graph } });
    k.output(out!);
    branch.graph.nodes[0]!.setInput(0, a);
    const g = buildDependencyGraph(k.model);
    expect(g.group(a.name)!.prunable).toBe(0);
  });
});

describe('applier', () => {
  const model = () => {
    const k = new Kit();
    const x = k.input('x', [1, 3, 4, 4]);
    const a = conv(k, x, 3, 8);
    const b = conv(k, k.one('Relu', [a]), 8, 8);
    k.output(conv(k, k.one('Relu', [b]), 8, 2));
    return { k, a, b };
  };

  it('is what applyPlan uses for remove-channels by default, and re-finds groups from a serialized plan', () => {
    const { k, a, b } = model();
    const plan: PruningPlan = { version: 1, strategy: 's', actions: [{ type: 'remove-channels', group: a.name, channels: [0, 2], size: 8 }], skipped: [] };
    const fresh = cloneModel(k.model);
    const r = applyPlan(fresh, deserializePlan(serializePlan(plan)));
    expect(r.modified).toBe(true);
    expect(fresh.graph.nodes[0]!.outputs[0]!.shape).toEqual([1, 6, 4, 4]);
    expect(() => applyPlan(cloneModel(k.model), { ...plan, actions: [{ type: 'remove-channels', group: a.name, channels: [0], size: 9 }] })).toThrow(/has 8 channels, but the plan was made for 9/);
    expect(() => applyPlan(cloneModel(k.model), { ...plan, actions: [{ type: 'remove-channels', group: 'nope', channels: [0] }] })).toThrow(/plan names channel group nope/);
    const out = k.model.graph.outputs[0]!.name;
    expect(() => applyPlan(cloneModel(k.model), { ...plan, actions: [{ type: 'remove-channels', group: out, channels: [0] }] })).toThrow(/cannot be removed: reaches graph output/);
    expect(() => removeChannels(cloneModel(k.model), new Map([[b.name, [0, 1, 2, 3, 4, 5, 6, 7]]]))).toThrow(ShearsError);
    let custom = 0;
    applyPlan(cloneModel(k.model), plan, { channelApplier: (m) => ((custom += 1), { model: m, modified: false }) });
    expect(custom).toBe(1);
  });

  it('applyChannelMask: the masked twin of a plan (same channels zeroed in their readers, shapes kept, other actions applied)', () => {
    const { k, a, b } = model();
    const plan: PruningPlan = {
      version: 1,
      strategy: 's',
      actions: [
        { type: 'remove-channels', group: a.name, channels: [2, 0], size: 8 },
        { type: 'remove-channels', group: a.name, channels: [5] },
        { type: 'remove-channels', group: b.name, channels: [7], size: 8 },
        { type: 'mask', tensor: k.model.graph.nodes[0]!.input(1)!.name, prune: Uint32Array.from([1]) },
      ],
      skipped: [],
    };
    const twin = cloneModel(k.model);
    const r = applyPlan(twin, deserializePlan(serializePlan(plan)), { channelApplier: applyChannelMask });
    expect(r.modified).toBe(true);
    expect(r.details?.masked).toEqual({ [k.model.graph.nodes[0]!.input(1)!.name]: 1 });
    // Shapes kept; exactly what maskChannels does with the merged selection.
    expect(twin.graph.nodes.map((n) => n.outputs[0]!.shape)).toEqual([...new Array(4).fill([1, 8, 4, 4]), [1, 2, 4, 4]]);
    const direct = cloneModel(k.model);
    applyPlan(direct, { ...plan, actions: [plan.actions[3]!] });
    maskChannels(direct, new Map([[a.name, [0, 2, 5]], [b.name, [7]]]));
    const weights = (m: typeof twin) => m.graph.nodes.filter((n) => n.opType === 'Conv').map((n) => Array.from(n.input(1)!.constValue!.floats()));
    expect(weights(twin)).toEqual(weights(direct));
    // The removed model keeps exactly the twin's non-zeroed reader columns.
    const removed = cloneModel(k.model);
    applyPlan(removed, plan);
    const w2 = twin.graph.nodes.find((n) => n.opType === 'Conv' && n.input(0)!.producer?.input(0) === twin.graph.valuesByName().get(a.name))!.input(1)!.constValue!;
    const kept = Array.from(w2.floats()).filter((_, i) => ![0, 2, 5].includes(i % 8) && Math.floor(i / 8) !== 7);
    const r2 = removed.graph.nodes.filter((n) => n.opType === 'Conv')[1]!.input(1)!.constValue!;
    expect(r2.dims).toEqual([7, 5, 1, 1]);
    expect(Array.from(r2.floats())).toEqual(kept);
    expect(Array.from(w2.floats()).filter((_, i) => [0, 2, 5].includes(i % 8)).every((v) => v === 0)).toBe(true);
    // The same refusals as the removing applier, naming the plan's strategy.
    expect(() => applyPlan(cloneModel(k.model), { ...plan, actions: [{ type: 'remove-channels', group: a.name, channels: [0], size: 9 }] }, { channelApplier: applyChannelMask })).toThrow(/s: group .* has 8 channels, but the plan was made for 9/);
    const out = k.model.graph.outputs[0]!.name;
    expect(() => applyPlan(cloneModel(k.model), { ...plan, actions: [{ type: 'remove-channels', group: out, channels: [0] }] }, { channelApplier: applyChannelMask })).toThrow(/cannot be removed: reaches graph output/);
    expect(applyChannelMask(cloneModel(k.model), { ...plan, actions: [] }).modified).toBe(false);
  });

  it('slices initializer masks with their weights', () => {
    const { k, a } = model();
    const w = k.model.graph.nodes[0]!.input(1)!;
    w.mask = new Uint8Array(w.constValue!.size).fill(1);
    w.mask[0] = 0;
    removeChannels(k.model, new Map([[a.name, [3]]]));
    expect(w.mask).toHaveLength(7 * 3);
    expect(w.mask[0]).toBe(0);
  });

  it('sliceArray keeps listed indices along several axes', () => {
    const data = Float32Array.from({ length: 24 }, (_, i) => i);
    const r = sliceArray(data, [2, 3, 4], new Map([[1, [0, 2]], [2, [1, 3]]]), (n) => new Float32Array(n));
    expect(r.dims).toEqual([2, 2, 2]);
    expect(Array.from(r.data)).toEqual([1, 3, 9, 11, 13, 15, 21, 23]);
  });
});

describe('dead channels (compaction)', () => {
  it('finds zero filters passing f(0)=0 ops, zero-weight readers, and Mul by a zero factor', () => {
    const k = new Kit();
    const x = k.input('x', [1, 2, 4, 4]);
    const w1 = new Array(4 * 2).fill(1);
    w1.fill(0, 2, 4); // filter 1 is zero
    const a = k.one('Conv', [x, k.floats([4, 2, 1, 1], w1), k.floats([4], [1, 0, 1, 1])]);
    const r = k.one('Relu', [a]);
    const w2 = new Array(3 * 4).fill(1);
    for (let o = 0; o < 3; o++) w2[o * 4 + 2] = 0; // every reader ignores channel 2
    k.output(k.one('Conv', [r, k.floats([3, 4, 1, 1], w2)]));
    const g = buildDependencyGraph(k.model);
    const d = findDeadChannels(g);
    expect(d.selection.get(a.name)).toEqual([1, 2]);
    expect([d.zeroProduced, d.unread]).toEqual([1, 1]);

    // A channel that is masked (consumer weights zeroed) is found as dead again.
    const k2 = new Kit();
    const x2 = k2.input('x', [1, 2, 4, 4]);
    const b = conv(k2, x2, 2, 6);
    k2.output(conv(k2, k2.one('Sigmoid', [b]), 6, 2));
    maskChannels(k2.model, new Map([[b.name, [0, 5]]]));
    expect(findDeadChannels(buildDependencyGraph(k2.model)).selection.get(b.name)).toEqual([0, 5]);
  });
});

describe('the builder reads the op table only', () => {
  it('never compares op type names in the structure code', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    for (const f of readdirSync(here).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))) {
      const src = readFileSync(join(here, f), 'utf8');
      expect(src, f).not.toMatch(/opType\s*[!=]==|===\s*['"][A-Z][A-Za-z]+['"]/);
    }
  });
});
