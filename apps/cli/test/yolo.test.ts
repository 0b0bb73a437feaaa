// YOLO-style detectors (scripts/yolo_models.py: YOLOv8n, YOLO11n, YOLO26n
// shapes at 640×640, random weights) pruned by every strategy, in process:
// valid models with the dense output shapes; structured results equal to
// their masked twins (applyChannelMask) in onnxruntime; the DFL conv and the
// decoding constants (anchors, strides, split sizes, reshape targets) byte
// for byte as they were; which groups stay pinned, and why; a MACs target
// that lands; and small C2f branches that round-to leaves whole, reported.
import { analyzeModel, applyChannelMask, applyPlan, CALIBRATION, cloneModel, fillUniform, inferShapes, normalizeModel, pipeline, StateBag, type Model, type NamedTensor, type PluginContext, type PruningPlan, type StrategyPlugin, withOutputs } from '@shears/core';
import { randomDataset } from '@shears/data';
import { fixture, yoloModels } from '@shears/fixtures';
import { readModel } from '@shears/onnx';
import { channelPruning } from '@shears/prune-channel';
import { filterPruning } from '@shears/prune-filter';
import { unstructuredPruning } from '@shears/prune-unstructured';
import { createRuntime } from '@shears/runtime';
import { beforeAll, describe, expect, it } from 'vitest';
import { relDiff } from './rel-diff.js';

const runtime = createRuntime({ threads: 2 });

interface Way {
  way: string;
  make: () => StrategyPlugin;
  structured: boolean;
  calib?: boolean;
  /** Every Split branch must keep a multiple of 16 channels (or all it had). */
  roundTo16?: boolean;
}

const WAYS: Way[] = [
  { way: 'unstructured magnitude 0.3 (keepLast off)', make: () => unstructuredPruning({ amount: 0.3, keepLast: false }), structured: false },
  { way: 'unstructured 2:4', make: () => unstructuredPruning({ pattern: '2:4' }), structured: false },
  { way: 'filter --amount 0.3', make: () => filterPruning({ amount: 0.3 }), structured: true },
  { way: 'filter --target-macs 0.5', make: () => filterPruning({ targetMacs: 0.5 }), structured: true },
  // One random image, every layer fitted on the dense model's inputs (mode layer): the test's time budget.
  { way: 'channel --amount 0.3 --round-to 16 (random:1)', make: () => channelPruning({ amount: 0.3, roundTo: 16, calibSamples: 1, mode: 'layer' }), structured: true, calib: true, roundTo16: true },
];

/** What stays pinned in each detector, and the reason the plan gives (a substring of its skip note). */
const PINNED: Record<string, [RegExp, string][]> = {
  yolov8n: [
    [/^\/detect\/box\.0\/box\.0\.2\//, 'Softmax /detect/Softmax mixes values across the channel axis'], // the DFL's softmax over the 16 bins
    [/^\/detect\/cls\.0\/cls\.0\.2\//, 'reaches graph output output0'], // the class scores
    [/^\/detect\/dfl\//, 'drops the channel axis'], // the DFL conv's one output channel
  ],
  yolo11n: [
    [/^\/detect\/box\.0\/box\.0\.2\//, 'Softmax /detect/Softmax mixes values across the channel axis'],
    [/^\/detect\/cls\.0\/cls\.0\.2\//, 'reaches graph output output0'],
    [/^\/detect\/dfl\//, 'drops the channel axis'],
    // C2PSA: the heads' q/k/v split of the reshaped qkv conv, and the positional conv reading v.
    [/attn\/qkv\//, 'cuts a channel axis of a reshaped layout'],
    [/attn\/pe\//, 'whole groups cannot be removed'],
  ],
  yolo26n: [
    // No DFL: the boxes go through GatherElements, the class scores through ReduceMax (TopK postprocess).
    [/^\/detect\/box\.0\/box\.0\.2\//, 'GatherElements /detect/GatherElements reads these channels'],
    [/^\/detect\/cls\.0\/cls\.0\.2\//, 'ReduceMax /detect/ReduceMax reduces over the channel axis'],
    [/attn\/qkv\//, 'cuts a channel axis of a reshaped layout'],
    [/attn\/pe\//, 'whole groups cannot be removed'],
  ],
};

const OUTPUT: Record<string, number[]> = { yolov8n: [1, 84, 8400], yolo11n: [1, 84, 8400], yolo26n: [1, 300, 6] };

/** The head's fixed constants, by name → bytes: what the decoding reads (anchors, strides, split sizes, reshape targets, TopK's k…) and the DFL conv's weight. */
function frozenBytes(model: Model): Map<string, Uint8Array> {
  const read = new Set<string>();
  for (const n of model.graph.nodes) {
    if (!n.name.startsWith('/detect/') || (n.opType === 'Conv' && !n.name.startsWith('/detect/dfl/'))) continue;
    for (const v of n.inputs) if (v) read.add(v.name);
  }
  const out = new Map<string, Uint8Array>();
  for (const [name, v] of model.graph.initializers) {
    if (!read.has(name)) continue;
    const t = v.constValue!;
    const a = t.values as ArrayLike<number> & { buffer: ArrayBuffer; byteOffset: number; byteLength: number };
    out.set(name, new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice());
  }
  return out;
}

/**
 * Compared besides the output: the class logits (sigmoid scores of random
 * weights are ~1e-3, where onnxruntime's Sigmoid rounds at ~2e-7 absolute),
 * and for the end-to-end head the decoded boxes its TopK/Gather postprocess
 * picks from (it ranks near-equal random scores: one float32 rounding may
 * swap two of them).
 */
const LOGITS = '/detect/Split_output_1';
const BOXES = '/detect/Mul_output_0';
const watched = (name: string) => (name === 'yolo26n' ? [LOGITS, BOXES] : [LOGITS]);

const runAt = (model: Model, feeds: Record<string, NamedTensor>, name: string) => runtime.run(withOutputs(model, watched(name)), feeds);

/** Column k of an [1, N, C] output, sorted. */
function column(t: NamedTensor, k: number): NamedTensor {
  const C = t.dims.at(-1)!;
  const d = t.data as Float32Array;
  return { dims: [d.length / C], data: Float32Array.from({ length: d.length / C }, (_, i) => d[i * C + k]!).sort() };
}

const ctxOf = (model: Model, calib: boolean): Partial<PluginContext> & { state: StateBag } => {
  const state = new StateBag();
  if (calib) state.set(CALIBRATION, randomDataset(1, (model.graph.inputs[0]!.shape as number[]).slice(1), 3));
  return { state };
};

describe.each(yoloModels.map((name) => ({ name, path: fixture(name) })))('$name', ({ name, path }) => {
  let dense: Model;
  let feeds: Record<string, NamedTensor>;
  let reference: NamedTensor;
  let frozen: Map<string, Uint8Array>;
  beforeAll(async () => {
    if (!path) return;
    dense = await readModel(path);
    normalizeModel(dense); // as the CLI does after import
    inferShapes(dense);
    feeds = { images: { dims: [1, 3, 640, 640], data: fillUniform(new Float32Array(3 * 640 * 640), 11).map((x) => (x + 1) / 2) } };
    reference = (await runtime.run(dense, feeds)).output0!;
    frozen = frozenBytes(dense);
  }, 60_000);

  it.skipIf(!path).each(WAYS)('$way: valid, same output shape, DFL and decoding untouched; structured = its masked twin', async ({ make, structured, calib, way, roundTo16 }) => {
    const model = cloneModel(dense);
    const r = await pipeline(make()).run(model, { runtime, ...ctxOf(model, !!calib) });
    const plan: PruningPlan = r.steps[0]!.plan!;
    const pruned = r.model;
    const got = await runAt(pruned, feeds, name);
    const out = got.output0!;
    expect(out.dims).toEqual(OUTPUT[name]);
    expect(Array.from(out.data as Float32Array).every(Number.isFinite)).toBe(true);
    const after = frozenBytes(pruned);
    expect(frozen.size).toBeGreaterThan(2);
    for (const [k, bytes] of frozen) expect(after.get(k), `${way}: ${k} changed`).toEqual(bytes);
    if (name !== 'yolo26n') expect(frozen.has('detect.dfl.weight')).toBe(true);
    const { macs: before } = analyzeModel(cloneModel(dense, { shareWeights: true }));
    const { macs } = analyzeModel(cloneModel(pruned, { shareWeights: true }));
    if (!structured) {
      expect(macs).toBe(before);
      // Pruned weights, but the DFL is left dense (it reads the bins' Softmax: a read-out, whatever keepLast says), as is the stem.
      expect(plan.actions.length).toBeGreaterThan(40);
      if (name !== 'yolo26n') expect(plan.skipped).toContainEqual(expect.objectContaining({ target: '/detect/dfl/Conv', code: 'pinned', reason: expect.stringContaining('probability distribution') }));
      return;
    }
    expect(macs).toBeLessThan(0.75 * before);
    if (roundTo16) expectBranchesOf16(dense, pruned);
    const twin = cloneModel(dense);
    applyPlan(twin, plan, { channelApplier: applyChannelMask });
    expect(twin.graph.initializers.get('detect.anchors')?.constValue?.dims).toEqual([1, 2, 8400]);
    const want = await runAt(twin, feeds, name);
    for (const v of watched(name)) expect(relDiff(want[v]!, got[v]!), `${way}: masked twin vs removed at ${v}`).toBeLessThanOrEqual(1e-5);
    if (name === 'yolo26n') {
      // The 300 scores it keeps, as a sorted list (probabilities: absolute).
      const [a, b] = [column(want.output0!, 4).data as Float32Array, column(out, 4).data as Float32Array];
      expect(Math.max(...a.map((x, i) => Math.abs(x - b[i]!))), `${way}: kept scores`).toBeLessThanOrEqual(1e-6);
    } else expect(relDiff(want.output0!, out), `${way}: masked twin vs removed`).toBeLessThanOrEqual(1e-5);
    // The output is not trivially equal to the dense one: something was pruned.
    expect(relDiff(reference, out)).toBeGreaterThan(1e-4);
    // Pinned groups and their reasons.
    const notes = plan.skipped.filter((s) => s.code === 'pinned');
    for (const [group, reason] of PINNED[name]!) {
      const note = notes.find((s) => group.test(s.target));
      expect(note?.reason, `${way}: ${group} pinned`).toContain(reason);
    }
    expect(notes.length).toBe(PINNED[name]!.length);
    if (way.includes('target-macs')) {
      const t = plan.details!.target as { achieved: number; reached: boolean; goal: number };
      expect(t.reached).toBe(true);
      expect(Math.abs(macs / before - t.achieved)).toBeLessThan(0.005);
      expect(Math.abs(macs / before - 0.5)).toBeLessThanOrEqual(0.02);
    }
  }, 120_000);

  it.skipIf(!path)('round-to 16: C2f branches kept as multiples of 16, the small ones reported whole', async () => {
    const model = cloneModel(dense);
    const r = await pipeline(filterPruning({ amount: 0.3, roundTo: 16 })).run(model, { dryRun: true });
    const plan = r.steps[0]!.plan!;
    const small = plan.skipped.filter((s) => s.code === 'too-small');
    // The first C2f / C3k2 (cv1 writes 32 channels, split 16 + 16): no branch can lose 16 and keep some.
    const firstSplit = small.find((s) => s.target === '/b1/b1.2/cv1/conv/Conv_output_0');
    expect(firstSplit?.reason).toMatch(/^Split branches of 16 \+ 16 channels, none more than round-to 16 \(each keeps a multiple of it\); left whole$/);
    expect(small.find((s) => s.target === '/b1/b1.0/conv/Conv_output_0')?.reason).toBe('has 16 channels, not more than round-to 16; left whole');
    const pruned = cloneModel(dense);
    applyPlan(pruned, plan);
    expectBranchesOf16(dense, pruned);
  }, 60_000);
});

/** Every Split branch keeps a multiple of 16 channels, or all it had; the C2f/C3k2 branches do lose some. */
function expectBranchesOf16(dense: Model, pruned: Model): void {
  const was = new Map(dense.graph.nodes.filter((x) => x.opType === 'Split').flatMap((x) => x.outputs.map((o) => [o.name, o.shape![1] as number] as const)));
  const branches = pruned.graph.nodes.filter((x) => x.opType === 'Split' && !x.name.startsWith('/detect/')).flatMap((x) => x.outputs);
  expect(branches.length).toBeGreaterThanOrEqual(16);
  for (const o of branches) {
    const c = o.shape![1] as number;
    expect(c % 16 === 0 || c === was.get(o.name), `${o.name}: ${c} channels of ${was.get(o.name)}`).toBe(true);
  }
  expect(branches.filter((o) => (o.shape![1] as number) < was.get(o.name)!).length).toBeGreaterThanOrEqual(6);
}
