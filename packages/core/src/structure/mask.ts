// The masked counterpart of removeChannels: the same channels, silenced by
// zeroing the weights that read them, with the shapes left alone.
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { PluginContext } from '../plugin/context.js';
import type { PruningPlan } from '../plugin/plan.js';
import type { PassResult } from '../plugin/types.js';
import { asPlanStep, planSelection, refusePinned, type RemoveChannelsOptions } from './apply.js';
import { buildDependencyGraph } from './graph.js';
import { stridesOf } from './space.js';
import type { ChannelSelection } from './types.js';

export interface MaskChannelsReport {
  /** Weight elements set to zero. */
  zeroed: number;
}

/**
 * Zero the consumer-side weights of the selected channels (every input
 * channel of every layer that reads them) and record the zeros in
 * `Value.mask`. The model keeps its shapes and computes exactly what
 * `removeChannels` with the same selection computes: the equivalence that
 * the tests check, and the channel masks that compaction turns into speed.
 * Refuses pinned channels as removeChannels does (pass the plan's
 * `inputShapes` when it was made with sizes).
 */
export function maskChannels(model: Model, selection: ChannelSelection, opts: RemoveChannelsOptions = {}): MaskChannelsReport {
  const graph = opts.graph ?? buildDependencyGraph(model, opts);
  const removed = graph.removedRoots(selection);
  refusePinned(graph, selection);
  const root = graph.root;
  const uses = new Map<string, { node: Node; input: number; source: Value; direct: boolean; axis: number; zero: Set<number> }>();
  graph.build.members.forEach((m) => {
    if (m.role !== 'consumer' || !m.readers) return;
    const zero = new Set<number>();
    for (let p = 0; p < m.space.size; p++) if (removed[root[m.space.elem[p]!]!] && m.readers[p]! >= 0) zero.add(m.readers[p]!);
    if (zero.size === 0) return;
    const key = `${m.node.label}|${m.input}|${m.axis}`;
    const u = uses.get(key);
    if (u) for (const j of zero) u.zero.add(j);
    else uses.set(key, { node: m.node, input: m.input, source: m.c.source, direct: m.c.direct, axis: m.axis, zero });
  });
  let zeroed = 0;
  let n = 0;
  for (const u of uses.values()) {
    let v = u.source;
    const own = u.direct && !!v.constValue && v.uses().length === 1;
    if (!own) {
      const t = (v.constValue ?? u.node.input(u.input)!.constValue ?? graph.build.members.find((m) => m.node === u.node && m.input === u.input)!.c.tensor).clone();
      let name = `${v.name}.masked`;
      while (model.graph.initializers.has(name)) name = `${v.name}.masked${++n}`;
      const mask = v.mask;
      v = model.graph.addInitializer(t, name);
      if (mask) v.mask = mask.slice();
      u.node.setInput(u.input, v);
    }
    const t = v.constValue!;
    const data = t.values as Float32Array;
    const mask = v.mask ?? (v.mask = new Uint8Array(data.length).fill(1));
    const st = stridesOf(t.dims)[u.axis]!;
    const d = t.dims[u.axis]!;
    for (let i = 0; i < data.length; i++) {
      if (!u.zero.has(Math.floor(i / st) % d)) continue;
      if (data[i] !== 0) zeroed++;
      data[i] = 0;
      mask[i] = 0;
    }
  }
  return { zeroed };
}

/**
 * A channel applier (`applyPlan(model, plan, { channelApplier: applyChannelMask })`)
 * that masks a plan's remove-channels actions instead of removing them: the
 * masked twin, which keeps every shape and computes what the removed model
 * computes. The plan's other actions (mask, set-tensor) apply as usual. Built
 * on the model's own shapes, as applyChannelRemoval is: a plan made with
 * `--input-shape` needs `inferShapes(model, { inputShapes })` first.
 */
export function applyChannelMask(model: Model, plan: PruningPlan, ctx?: PluginContext): PassResult {
  const found = planSelection(model, plan, ctx);
  if (!found) return { model, modified: false, details: {} };
  const report = asPlanStep(plan, () => maskChannels(model, found.selection, { graph: found.graph }));
  return { model, modified: [...found.selection.values()].some((c) => c.length > 0), details: { channels: report } };
}
