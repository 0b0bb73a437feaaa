// The shared structural applier: physically removes channels from every
// weight, bias, norm parameter, constant operand, shape constant and Reshape
// target, so the result is a smaller dense model with the same outputs.
import { ShearsError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';
import { constTensorOf, paramSlotsOf } from '../ops/helpers.js';
import type { ParamSlot, StructureParam } from '../ops/types.js';
import type { PluginContext } from '../plugin/context.js';
import type { PruningPlan, RemoveChannelsAction } from '../plugin/plan.js';
import type { PassResult } from '../plugin/types.js';
import { inferShapes } from '../shape/infer.js';
import { sliceRange } from '../shape/kernels.js';
import type { ConstRef, RewriteRec } from './build.js';
import { buildDependencyGraph, cachedDependencyGraph, ChannelGraph } from './graph.js';
import type { Space } from './space.js';
import { sliceMask, sliceTensor } from './tensor-slice.js';
import type { ChannelSelection, StructureChoices, StructureOptions } from './types.js';

export interface RemoveChannelsOptions extends StructureOptions {
  /** A graph already built for this model (with the same options). */
  graph?: ChannelGraph;
}

export interface RemoveChannelsReport {
  groups: number;
  channels: number;
  /** Channels removed per group. */
  removed: { group: string; channels: number; of: number }[];
  /** Nodes left without uses and removed (shape subgraphs of frozen parameters, Identity of sliced constants). */
  deadNodes: number;
}

/**
 * Refuse a selection that names pinned channels (removeChannels and
 * maskChannels alike: a masked twin built on a graph that pins what the plan
 * removes, e.g. without the --input-shape the plan was made with, would
 * silently zero nothing).
 */
export function refusePinned(graph: ChannelGraph, selection: ChannelSelection): void {
  for (const [id, chans] of selection) {
    const g = graph.group(id);
    if (!g) throw new ShearsError('E_PLUGIN', `no channel group ${id} in this model (was the plan made for another model, or with other structure options?)`);
    for (let k = 0; k < chans.length; k++) {
      const c = chans[k]!;
      const why = g.pinned[c];
      if (why) throw new ShearsError('E_PLUGIN', `group ${id}: channel ${c} cannot be removed: ${why}`);
    }
  }
}

/**
 * Remove the selected channels from the model, in place. Refuses pinned
 * channels and selections that would empty a tensor. Re-runs shape
 * inference at the end, which also checks the result.
 */
export function removeChannels(model: Model, selection: ChannelSelection, opts: RemoveChannelsOptions = {}): RemoveChannelsReport {
  const graph = opts.graph ?? buildDependencyGraph(model, opts);
  const removed = graph.removedRoots(selection);
  const report: RemoveChannelsReport = { groups: 0, channels: 0, removed: [], deadNodes: 0 };
  refusePinned(graph, selection);
  for (const [id, chans] of selection) {
    const g = graph.group(id)!;
    const set = new Set(Array.from(chans));
    if (set.size > 0) {
      report.groups++;
      report.channels += set.size;
      report.removed.push({ group: id, channels: set.size, of: g.size });
    }
  }
  const emptied = graph.emptiedBy(removed);
  if (emptied.length) {
    const e = emptied[0]!;
    throw new ShearsError('E_PLUGIN', `removing these channels leaves ${e.value} with no channels (keep at least one, e.g. channel ${e.channel} of group ${e.group})`);
  }
  if (report.channels === 0) return report;
  new Surgery(model, graph, removed).run(report);
  return report;
}

class Surgery {
  readonly #keep = new Map<Space, Int32Array>();
  readonly #dropped = new Set<Value>();
  #names = new Set<string>();

  constructor(
    readonly model: Model,
    readonly graph: ChannelGraph,
    readonly removed: Uint8Array,
  ) {
    for (const name of model.graph.valuesByName().keys()) this.#names.add(name);
  }

  run(report: RemoveChannelsReport): void {
    // Parameters are computed from the original shapes, so rewrite them before anything changes.
    const params = this.graph.build.rewrites.map((r) => [r, this.#newParams(r)] as const);
    this.#weights();
    for (const [rec, values] of params) this.#writeParams(rec, values);
    this.#types();
    report.deadNodes = this.#deadCode();
    try {
      inferShapes(this.model);
    } catch (e) {
      throw new ShearsError('E_INTERNAL', `structured pruning produced an inconsistent graph: ${(e as Error).message}`, { cause: e });
    }
  }

  keep(s: Space): Int32Array {
    let k = this.#keep.get(s);
    if (!k) {
      const root = this.graph.root;
      const out: number[] = [];
      for (let i = 0; i < s.size; i++) if (!this.removed[root[s.elem[i]!]!]) out.push(i);
      k = Int32Array.from(out);
      this.#keep.set(s, k);
    }
    return k;
  }

  /** New size of each axis of a space (pruning acts on its prunable axis only). */
  newDims(s: Space): number[] {
    const kept = this.keep(s).length;
    if (s.single) return [kept];
    return s.dims.map((d, k) => (k === s.prunable ? (kept * d) / s.size : d));
  }

  unique(base: string): string {
    let name = base;
    for (let i = 1; this.#names.has(name); i++) name = `${base}_${i}`;
    this.#names.add(name);
    return name;
  }

  // --- weights and constants -----------------------------------------------------

  #weights(): void {
    const { members } = this.graph.build;
    // (node, input) → the constant and the kept indices per axis.
    const uses = new Map<string, { node: Node; input: number; c: ConstRef; keeps: Map<number, Int32Array> }>();
    members.forEach((m, k) => {
      const roots = this.graph.memberRoots[k]!;
      const keep: number[] = [];
      for (let j = 0; j < roots.length; j++) if (!this.removed[roots[j]!]) keep.push(j);
      if (keep.length === roots.length) return;
      const key = `${this.model.graph.nodes.indexOf(m.node)}:${m.input}`;
      let u = uses.get(key);
      if (!u) uses.set(key, (u = { node: m.node, input: m.input, c: m.c, keeps: new Map() }));
      const prev = u.keeps.get(m.axis);
      const next = Int32Array.from(keep);
      if (prev && (prev.length !== next.length || prev.some((x, i) => x !== next[i])))
        throw new ShearsError('E_INTERNAL', `${m.node.label}: input ${m.input} would be cut two ways along axis ${m.axis}`);
      u.keeps.set(m.axis, next);
    });
    const bySource = new Map<Value, (typeof uses extends Map<string, infer U> ? U : never)[]>();
    for (const u of uses.values()) {
      const list = bySource.get(u.c.source) ?? [];
      list.push(u);
      bySource.set(u.c.source, list);
    }
    const sig = (keeps: Map<number, Int32Array>) =>
      [...keeps]
        .sort((a, b) => a[0] - b[0])
        .map(([a, k]) => `${a}:${Array.from(k).join(',')}`)
        .join('|');
    for (const [source, list] of bySource) {
      const t = list[0]!.c.tensor;
      const inPlace =
        !!source.constValue &&
        list.every((u) => u.c.direct) &&
        list.every((u) => sig(u.keeps) === sig(list[0]!.keeps)) &&
        source.uses().length === list.length &&
        !this.model.graph.outputs.includes(source) &&
        !overridable(this.model, source);
      if (inPlace) {
        const keeps = list[0]!.keeps;
        const mask = source.mask;
        const sliced = this.model.graph.replaceInitializer(source.name, sliceTensor(t, keeps)).constValue!;
        // IR < 4 lists every initializer as a graph input too: its declared shape follows.
        if (source.type?.kind === 'tensor' && this.model.graph.inputs.includes(source)) source.type = { ...source.type, shape: [...sliced.dims] };
        if (mask) source.mask = sliceMask(mask, t.dims, keeps);
        continue;
      }
      for (const u of list) {
        const name = this.unique(`${source.name}.pruned`);
        const v = this.model.graph.addInitializer(sliceTensor(t, u.keeps, name), name);
        if (source.mask) v.mask = sliceMask(source.mask, t.dims, u.keeps);
        const old = u.node.input(u.input);
        u.node.setInput(u.input, v);
        if (old) this.#dropped.add(old);
      }
    }
  }

  // --- structural parameters -----------------------------------------------------

  #paramValue(node: Node, slot: ParamSlot, zeroCopies?: boolean): { values: number[]; dtype: Tensor['dtype'] } | undefined {
    if ('attr' in slot) {
      const v = node.attrInts(slot.attr);
      return v ? { values: [...v], dtype: 'int64' } : undefined;
    }
    const v = node.input(slot.input);
    if (!v) return undefined;
    const k = this.graph.build.inferred.known.get(v);
    if (k) {
      // One symbolic entry (a dynamic batch) becomes -1, unless a -1 is there already.
      const symbolic = k.data.filter((d) => typeof d !== 'number').length;
      if (symbolic === 0 || (symbolic === 1 && !k.data.includes(-1))) return { values: k.data.map((d) => (typeof d === 'number' ? d : -1)), dtype: k.dtype };
      // Symbolic entries that copy the input's dim at the same index become 0 where 0 copies (Reshape without allowzero).
      const inShape = zeroCopies ? node.input(0)?.shape : undefined;
      if (inShape && k.data.every((d, i) => typeof d === 'number' || (d !== null && inShape[i] === d))) return { values: k.data.map((d) => (typeof d === 'number' ? d : 0)), dtype: k.dtype };
    }
    const t = v.constValue;
    if (t) return { values: t.toNumbers(), dtype: t.dtype };
    return undefined;
  }

  /** The parameter values a node needs after pruning (computed against the original shapes). */
  #newParams(rec: RewriteRec): Map<StructureParam, { values: number[]; dtype: Tensor['dtype']; changed: boolean }> {
    const out = new Map<StructureParam, { values: number[]; dtype: Tensor['dtype']; changed: boolean }>();
    const { slots, zeroCopies } = paramSlotsOf(rec.spec, rec.opset);
    const node = rec.node;
    for (const [name, slot] of Object.entries(slots) as [StructureParam, ParamSlot][]) {
      const cur = this.#paramValue(node, slot, name === 'shape' && !!zeroCopies?.(node));
      const computed = 'input' in slot && !!node.input(slot.input) && !node.input(slot.input)!.constValue && !isConstantNode(node.input(slot.input)!);
      let values = cur?.values;
      const dtype = cur?.dtype ?? 'int64';
      if (name === 'shape' || name === 'sizes') values = values && this.#shapeLike(rec, values);
      else if ((name === 'starts' || name === 'ends') && values) values = this.#sliceBounds(rec, name, values);
      else if (name === 'split') values = this.#splitSizes(rec) ?? values;
      if (!values) continue;
      const changed = computed || !cur || values.some((x, i) => x !== cur.values[i]);
      out.set(name, { values, dtype, changed });
    }
    return out;
  }

  #shapeLike(rec: RewriteRec, values: number[]): number[] {
    const os = rec.outs[0];
    const out = rec.node.outputs[0]!;
    if (!os || !out.shape) return values;
    const R = out.shape.length;
    const off = R - values.length;
    const nd = this.newDims(os);
    const next = [...values];
    os.axes.forEach((a, k) => {
      const i = a - off;
      if (i >= 0 && values[i] === os.dims[k]) next[i] = nd[k]!;
    });
    return next;
  }

  #sliceBounds(rec: RewriteRec, which: 'starts' | 'ends', values: number[]): number[] {
    const xs = rec.in;
    const st = rec.structure;
    if (!xs || !xs.single || !st?.axes || !st.starts || !st.ends) return values;
    const k = st.axes.indexOf(xs.axes[0]!);
    if (k < 0) return values;
    const r = sliceRange(xs.size, st.starts[k]!, st.ends[k]!, 1);
    const keep = this.keep(xs);
    let before = 0;
    let inside = 0;
    for (const i of keep) {
      if (i < r.start) before++;
      else if (i < r.start + r.count) inside++;
    }
    const next = [...values];
    next[k] = which === 'starts' ? before : before + inside;
    return next;
  }

  #splitSizes(rec: RewriteRec): number[] | undefined {
    const xs = rec.in;
    const st = rec.structure;
    if (!xs || !xs.single || st?.axis !== xs.axes[0] || !st.split) return undefined;
    const keep = this.keep(xs);
    const sizes: number[] = [];
    let off = 0;
    for (const n of st.split) {
      let c = 0;
      for (const i of keep) if (i >= off && i < off + n) c++;
      sizes.push(c);
      off += n;
    }
    return sizes;
  }

  #writeParams(rec: RewriteRec, values: Map<StructureParam, { values: number[]; dtype: Tensor['dtype']; changed: boolean }>): void {
    const node = rec.node;
    if (rec.groups) {
      const kept = this.keep(rec.groups.out).length;
      node.setAttr(rec.groups.attr, { type: 'int', value: kept / rec.groups.perGroup });
    }
    const { slots, drop } = paramSlotsOf(rec.spec, rec.opset);
    let wrote = false;
    for (const [name, v] of values) {
      if (!v.changed) continue;
      const slot = slots[name]!;
      wrote = true;
      if ('attr' in slot) {
        node.setAttr(slot.attr, { type: 'ints', value: v.values });
        continue;
      }
      const cname = this.unique(`${node.name || node.outputs[0]!.name}.${name}`);
      const t = v.dtype === 'int64' ? Tensor.fromInt64(cname, [v.values.length], v.values) : numericTensor(cname, v.dtype, v.values);
      const val = this.model.graph.addInitializer(t, cname);
      const old = node.input(slot.input);
      node.setInput(slot.input, val);
      if (old) this.#dropped.add(old);
    }
    if (wrote) for (const a of drop ?? []) node.attributes.delete(a);
  }

  // --- value types, dead code ---------------------------------------------------------

  #types(): void {
    for (const s of this.graph.build.spaces) {
      const t = s.value.type;
      if (!t || (t.kind !== 'tensor' && t.kind !== 'sparse_tensor') || !t.shape) continue;
      const nd = this.newDims(s);
      const shape: Dim[] = [...t.shape];
      s.axes.forEach((a, k) => (shape[a] = nd[k]!));
      s.value.type = { ...t, shape };
    }
  }

  #deadCode(): number {
    const g = this.model.graph;
    const dead = new Set<Node>();
    const stack = [...this.#dropped];
    const isOutput = new Set(g.outputs);
    while (stack.length) {
      const v = stack.pop()!;
      if (v.uses().length > 0 || isOutput.has(v)) continue;
      if (v.constValue && g.initializers.get(v.name) === v && !overridable(this.model, v)) {
        g.removeInitializer(v.name);
        const at = g.inputs.indexOf(v);
        if (at >= 0) g.inputs.splice(at, 1);
        continue;
      }
      const p = v.producer;
      if (!p || dead.has(p) || p.graph !== g) continue;
      if (p.outputs.some((o) => o.uses().length > 0 || isOutput.has(o))) continue;
      const inputs = p.inputs.filter((x): x is Value => !!x);
      dead.add(p);
      g.removeNode(p, { force: true });
      stack.push(...inputs);
    }
    return dead.size;
  }
}

/**
 * An initializer that is also a graph input may be fed at run time (a default
 * value), except in IR < 4 models, where every initializer had to be listed
 * as an input (old exporters: opset 7-9 files).
 */
function overridable(model: Model, v: Value): boolean {
  return model.irVersion >= 4 && model.graph.inputs.includes(v);
}

/** A Constant node's output (constTensorOf sees it, but it is no initializer). */
function isConstantNode(v: Value): boolean {
  return !v.constValue && constTensorOf(v) !== undefined;
}

function numericTensor(name: string, dtype: Tensor['dtype'], values: number[]): Tensor {
  const t = new Tensor({ name, dtype, dims: [values.length] });
  const arr = t.values;
  if (arr instanceof BigInt64Array || arr instanceof BigUint64Array) values.forEach((x, i) => (arr[i] = BigInt(x)));
  else values.forEach((x, i) => ((arr as Float32Array)[i] = x));
  return t;
}

/** Structure choices recorded in remove-channels actions (they must agree within a plan). */
export function planChoices(actions: RemoveChannelsAction[], plugin: string): StructureChoices {
  const first = actions[0]?.structure ?? {};
  for (const a of actions) {
    const s = a.structure ?? {};
    if ((s.groupedConv ?? 'groups') !== (first.groupedConv ?? 'groups') || (s.crossChannel ?? 'block') !== (first.crossChannel ?? 'block'))
      throw new ShearsError('E_PLUGIN', `${plugin}: remove-channels actions were planned with different structure options`, { plugin });
  }
  return first;
}

/** The dependency graph a plan's remove-channels actions were made on, and their selection (group id → sorted channels). */
export function planSelection(model: Model, plan: PruningPlan, ctx?: PluginContext): { graph: ChannelGraph; selection: ChannelSelection } | undefined {
  const actions = plan.actions.filter((a): a is RemoveChannelsAction => a.type === 'remove-channels');
  if (actions.length === 0) return undefined;
  const graph = cachedDependencyGraph(model, { ...planChoices(actions, plan.strategy), registry: ctx?.ops });
  const selection = new Map<string, Set<number>>();
  for (const a of actions) {
    const g = graph.group(a.group);
    if (!g) throw new ShearsError('E_PLUGIN', `${plan.strategy}: plan names channel group ${a.group}, which this model does not have`, { plugin: plan.strategy });
    if (a.size !== undefined && a.size !== g.size)
      throw new ShearsError('E_PLUGIN', `${plan.strategy}: group ${a.group} has ${g.size} channels, but the plan was made for ${a.size}`, { plugin: plan.strategy });
    const set = selection.get(a.group) ?? new Set<number>();
    for (const c of a.channels) set.add(c);
    selection.set(a.group, set);
  }
  return { graph, selection: new Map([...selection].map(([k, v]) => [k, [...v].sort((x, y) => x - y)])) };
}

/** Runs a structural step, naming the plan's strategy on the errors that name no plugin. */
export function asPlanStep<T>(plan: PruningPlan, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof ShearsError && !e.plugin) throw e.with({ plugin: plan.strategy });
    throw e;
  }
}

/**
 * The channel applier applyPlan uses by default: builds the dependency graph
 * with the plan's structure options (and the run's op table `ctx.ops`, if a plugin
 * set one), re-finds each group by id (checking its size), and removes the
 * channels.
 */
export function applyChannelRemoval(model: Model, plan: PruningPlan, ctx?: PluginContext): PassResult {
  const found = planSelection(model, plan, ctx);
  if (!found) return { model, modified: false, details: {} };
  const report = asPlanStep(plan, () => removeChannels(model, found.selection, { graph: found.graph }));
  return { model, modified: report.channels > 0, details: { channels: report } };
}
