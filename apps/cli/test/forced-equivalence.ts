// The masked twin of a structured result, and a node-by-node comparison with
// it that float32 error growth does not blur (bench/equivalence.mjs does the
// same for the coverage bench).
import { applyChannelMask, applyPlan, cloneModel, planSelection, tensorType, Value, withOutputs, type Model, type NamedTensor, type PruningPlan } from '@shears/core';
import { Session } from '@shears/runtime';

type Feeds = Record<string, NamedTensor>;

/** The plan's tensor edits (reconstruction) applied to `dense`, its channels zeroed in place, not removed. */
export function maskedTwin(dense: Model, plan: PruningPlan): Model {
  const twin = cloneModel(dense);
  applyPlan(twin, plan, { channelApplier: applyChannelMask });
  return twin;
}

export async function capture(model: Model, feeds: Feeds, names: string[] = []): Promise<Record<string, NamedTensor>> {
  const s = await Session.create(names.length ? withOutputs(model, names) : model, { threads: 2 });
  try {
    return await s.run(feeds);
  } finally {
    await s.release();
  }
}

export interface ForcedEquivalence {
  /** Worst max|twin − pruned| / max|twin| over the compared values. */
  rel: number;
  value: string;
  /** Float activations compared, of those the pruned model computes. */
  values: number;
  of: number;
}

/**
 * Feed every float activation of `pruned` from the twin (its kept channels),
 * so each node computes from the inputs its twin node saw, and compare what
 * each node writes. A wrong applier shows at the first node it touches;
 * rounding stays at float32 level instead of growing through the network.
 */
export async function forcedEquivalence(twin: Model, pruned: Model, feeds: Feeds, plan: PruningPlan): Promise<ForcedEquivalence> {
  const { graph, selection } = planSelection(twin, plan) ?? {};
  if (!graph || !selection) throw new Error('forcedEquivalence: the plan removes no channels');
  const removed = graph.removedRoots(selection);
  const tv = twin.graph.valuesByName();
  const names = pruned.graph.nodes.flatMap((n) => n.outputs.filter((o) => o.name && tv.get(o.name)?.producer).map((o) => o.name));
  const [want, got] = [await capture(twin, feeds, names), await capture(pruned, feeds, names)];
  const expected = new Map<string, { dims: number[]; data: Float32Array }>();
  let floats = 0;
  for (const name of names) {
    const t = want[name];
    const p = got[name];
    if (!(p?.data instanceof Float32Array)) continue;
    floats++;
    if (!(t?.data instanceof Float32Array)) continue;
    const s = graph.build.spaceOf.get(tv.get(name)!);
    const data = s ? keptOf(t.dims, t.data, s, graph.root, removed) : t.data;
    if (data.length === p.data.length) expected.set(name, { dims: p.dims, data });
  }
  const forced = cloneModel(pruned);
  const inputs = new Map<string, Value>();
  for (const node of forced.graph.nodes) {
    node.inputs.forEach((v, i) => {
      if (!v?.producer || !expected.has(v.name)) return;
      let x = inputs.get(v.name);
      if (!x) inputs.set(v.name, (x = forced.graph.addInput(new Value(`${v.name}::forced`, tensorType('float32', expected.get(v.name)!.dims)))));
      node.setInput(i, x);
    });
  }
  const forcedFeeds: Feeds = { ...feeds };
  for (const [name, x] of inputs) forcedFeeds[x.name] = expected.get(name)!;
  const out = await capture(forced, forcedFeeds, [...expected.keys()]);
  const worst: ForcedEquivalence = { rel: 0, value: '', values: expected.size, of: floats };
  for (const [name, e] of expected) {
    const y = out[name]!.data as Float32Array;
    let d = 0;
    let m = 0;
    for (let i = 0; i < y.length; i++) {
      const diff = Math.abs(e.data[i]! - y[i]!);
      d = Number.isNaN(diff) ? Infinity : Math.max(d, diff);
      m = Math.max(m, Math.abs(e.data[i]!));
    }
    const rel = m > 0 ? d / m : d;
    if (rel > worst.rel) Object.assign(worst, { rel, value: name });
  }
  return worst;
}

/** The elements of a twin tensor whose channel (position on the space's axes) is kept, in order. */
function keptOf(dims: readonly number[], data: Float32Array, s: { size: number; axes: number[]; dims: number[]; elem: Int32Array }, root: Int32Array, removed: Uint8Array): Float32Array {
  const keep = new Uint8Array(s.size);
  let n = 0;
  for (let i = 0; i < s.size; i++) if (!removed[root[s.elem[i]!]!]) (keep[i] = 1), n++;
  if (n === s.size) return data;
  const strides = dims.map((_, a) => dims.slice(a + 1).reduce((p, q) => p * q, 1));
  const sStrides = s.dims.map((_, k) => s.dims.slice(k + 1).reduce((p, q) => p * q, 1));
  const out = new Float32Array((data.length / s.size) * n);
  let k = 0;
  for (let p = 0; p < data.length; p++) {
    let si = 0;
    for (let j = 0; j < s.axes.length; j++) si += (Math.floor(p / strides[s.axes[j]!]!) % dims[s.axes[j]!]!) * sStrides[j]!;
    if (keep[si]) out[k++] = data[p]!;
  }
  return out;
}
