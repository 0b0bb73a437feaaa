// Assembles channel groups from the builder's union-find and answers
// questions about removals (MACs, emptied tensors) without touching the model.
import { ShearsError } from '../errors.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import { buildStructure, type BuildResult, type MemberRec } from './build.js';
import { UnionFind, type Space } from './space.js';
import type { ActivationSite, BlockNote, ChannelGroup, ChannelSelection, DependencyGraph, GroupMember, StructureChoices, StructureOptions } from './types.js';

/** The dependency graph of a model (see buildDependencyGraph). */
export class ChannelGraph implements DependencyGraph {
  readonly model: Model;
  readonly choices: Required<StructureChoices>;
  readonly groups: ChannelGroup[] = [];
  readonly blocks: BlockNote[];
  readonly macs: number;
  /** @internal builder state, for the applier. */
  readonly build: BuildResult;
  /** @internal element → class root. */
  readonly root: Int32Array;
  /** @internal class root → group index, or -1. */
  readonly groupOfRoot: Int32Array;
  /** @internal class root → channel within its group, or -1. */
  readonly channelOfRoot: Int32Array;
  /** @internal per group: channel → class root. */
  readonly groupRoots: Int32Array[] = [];
  /** @internal per member record: weight index → class root. */
  readonly memberRoots: Int32Array[];
  readonly #byId = new Map<string, number>();

  constructor(build: BuildResult) {
    this.build = build;
    this.model = build.model;
    this.choices = build.choices;
    this.blocks = build.blocks;
    const n = build.uf.size;
    this.root = new Int32Array(n);
    for (let e = 0; e < n; e++) this.root[e] = build.uf.find(e);
    this.groupOfRoot = new Int32Array(n).fill(-1);
    this.channelOfRoot = new Int32Array(n).fill(-1);
    let total = 0;
    for (const m of build.macs.values()) total += m;
    this.macs = total;
    this.#assemble();
    this.memberRoots = build.members.map((m) => Int32Array.from(m.at, (p) => this.root[m.space.elem[p]!]!));
    this.#members();
  }

  group(id: string): ChannelGroup | undefined {
    const i = this.#byId.get(id);
    return i === undefined ? undefined : this.groups[i];
  }

  /** @internal index of a group by id. */
  groupIndex(id: string): number | undefined {
    return this.#byId.get(id);
  }

  #assemble(): void {
    const { spaces, pins } = this.build;
    const root = this.root;
    const gu = new UnionFind();
    gu.fresh(root.length);
    const sources = spaces.filter((s) => s.source);
    for (const s of sources) {
      const r0 = root[s.elem[0]!]!;
      for (let i = 1; i < s.size; i++) gu.union(r0, root[s.elem[i]!]!);
    }
    const groupOfKey = new Map<number, number>();
    const pinnedRoot = new Map<number, string>();
    for (const [e, why] of pins) {
      const r = root[e]!;
      if (!pinnedRoot.has(r)) pinnedRoot.set(r, why);
    }
    const layers: Set<string>[] = [];
    for (const s of sources) {
      if (s.size === 0) continue;
      const key = gu.find(root[s.elem[0]!]!);
      let gi = groupOfKey.get(key);
      if (gi === undefined) {
        gi = this.groups.length;
        groupOfKey.set(key, gi);
        const id = s.value.name || `${s.value.producer?.label ?? 'value'}#${s.id}`;
        const distinct = new Set<number>();
        for (let i = 0; i < s.size; i++) distinct.add(root[s.elem[i]!]!);
        this.groups.push({ id, size: 0, width: Math.max(1, Math.round(s.size / distinct.size)), layers: [], members: [], sites: [], pinned: [], prunable: 0, macs: 0 });
        this.groupRoots.push(new Int32Array(0));
        layers.push(new Set());
        this.#byId.set(id, gi);
      }
      const roots: number[] = Array.from(this.groupRoots[gi]!);
      for (let i = 0; i < s.size; i++) {
        const r = root[s.elem[i]!]!;
        if (this.groupOfRoot[r] !== -1) continue;
        this.groupOfRoot[r] = gi;
        this.channelOfRoot[r] = roots.length;
        roots.push(r);
      }
      this.groupRoots[gi] = Int32Array.from(roots);
      const producer = s.value.producer;
      if (producer) layers[gi]!.add(producer.label);
    }
    this.groups.forEach((g, gi) => {
      const roots = this.groupRoots[gi]!;
      g.size = roots.length;
      g.pinned = Array.from(roots, (r) => pinnedRoot.get(r));
      g.prunable = g.pinned.filter((p) => p === undefined).length;
      g.layers = [...layers[gi]!];
    });
  }

  #members(): void {
    const recs = this.build.members;
    const nodeMacs = this.build.macs;
    const touched = this.groups.map(() => new Set<Node>());
    const siteSeen = this.groups.map(() => new Set<Space>());
    recs.forEach((m, k) => {
      const roots = this.memberRoots[k]!;
      const per = new Map<number, Int32Array>();
      for (let j = 0; j < roots.length; j++) {
        const gi = this.groupOfRoot[roots[j]!]!;
        if (gi < 0) continue;
        let arr = per.get(gi);
        if (!arr) per.set(gi, (arr = new Int32Array(roots.length).fill(-1)));
        arr[j] = this.channelOfRoot[roots[j]!]!;
      }
      for (const [gi, channelOf] of per) {
        const member: GroupMember = { role: m.role, node: m.node, input: m.input, kind: m.kind, tensor: m.c.tensor, axis: m.axis, channelOf };
        this.groups[gi]!.members.push(member);
        if (m.role === 'producer' || m.role === 'consumer') touched[gi]!.add(m.node);
        if (m.role === 'consumer' && m.space.single && !siteSeen[gi]!.has(m.space)) {
          siteSeen[gi]!.add(m.space);
          this.groups[gi]!.sites.push(this.#site(m.space, gi));
        }
      }
    });
    this.groups.forEach((g, gi) => {
      for (const n of touched[gi]!) g.macs += nodeMacs.get(n) ?? 0;
    });
  }

  #site(s: Space, gi: number): ActivationSite {
    const channelOf = new Int32Array(s.size).fill(-1);
    for (let i = 0; i < s.size; i++) {
      const r = this.root[s.elem[i]!]!;
      if (this.groupOfRoot[r] === gi) channelOf[i] = this.channelOfRoot[r]!;
    }
    return { value: s.value, axis: s.axes[0]!, channelOf };
  }

  /** @internal removed class roots (1 = removed), indexed by element id. */
  removedRoots(selection: ChannelSelection): Uint8Array {
    const out = new Uint8Array(this.root.length);
    for (const [id, chans] of selection) {
      const gi = this.#byId.get(id);
      if (gi === undefined) throw new ShearsError('E_PLUGIN', `no channel group ${id} in this model (was the plan made for another model, or with other structure options?)`);
      const roots = this.groupRoots[gi]!;
      for (let k = 0; k < chans.length; k++) {
        const c = chans[k]!;
        if (!Number.isInteger(c) || c < 0 || c >= roots.length) throw new ShearsError('E_PLUGIN', `group ${id} has ${roots.length} channels; channel ${c} does not exist`);
        out[roots[c]!] = 1;
      }
    }
    return out;
  }

  /** @internal kept indices of a member's weight axis. */
  keptCount(k: number, removed: Uint8Array): number {
    const roots = this.memberRoots[k]!;
    let n = 0;
    for (let j = 0; j < roots.length; j++) if (!removed[roots[j]!]) n++;
    return n;
  }

  estimateMacs(selection: ChannelSelection): number {
    return this.macsAfter(this.removedRoots(selection));
  }

  /** @internal MACs with the given class roots removed. */
  macsAfter(removed: Uint8Array): number {
    const ratio = new Map<Node, number>();
    this.build.members.forEach((m, k) => {
      if (m.role !== 'producer' && m.role !== 'consumer') return;
      const len = this.memberRoots[k]!.length;
      if (len === 0) return;
      ratio.set(m.node, (ratio.get(m.node) ?? 1) * (this.keptCount(k, removed) / len));
    });
    let total = 0;
    for (const [node, m] of this.build.macs) total += m * (ratio.get(node) ?? 1);
    return total;
  }

  emptied(selection: ChannelSelection): { group: string; channel: number; value: string }[] {
    return this.emptiedBy(this.removedRoots(selection));
  }

  /** @internal spaces every index of which is removed, with a channel to keep instead. */
  emptiedBy(removed: Uint8Array): { group: string; channel: number; value: string }[] {
    const out: { group: string; channel: number; value: string }[] = [];
    for (const s of this.build.spaces) {
      let keep = false;
      let best = -1;
      for (let i = 0; i < s.size && !keep; i++) {
        const r = this.root[s.elem[i]!]!;
        if (!removed[r]) keep = true;
        else if (best < 0 && this.groupOfRoot[r]! >= 0) best = r;
      }
      if (keep || s.size === 0 || best < 0) continue;
      out.push({ group: this.groups[this.groupOfRoot[best]!]!.id, channel: this.channelOfRoot[best]!, value: s.value.name });
    }
    return out;
  }
}

/**
 * Build the channel dependency graph of a model from the op table: which
 * channels of which tensors must be removed together. Runs shape inference
 * (so it sets Value.type on node outputs) but changes nothing else.
 */
export function buildDependencyGraph(model: Model, opts: StructureOptions = {}): ChannelGraph {
  const graph = new ChannelGraph(buildStructure(model, opts));
  if (!opts.inputShapes) cache.set(model, { graph, registry: opts.registry ?? defaultOpRegistry(), stamp: stampOf(model, graph.choices) });
  return graph;
}

const cache = new WeakMap<Model, { graph: ChannelGraph; registry: OpRegistry; stamp: string }>();

/**
 * The last graph built for this model with these options, when the model's
 * structure (nodes, wiring, attributes, tensor shapes) has not changed since:
 * planning and applying in one pipeline build the graph once.
 */
export function cachedDependencyGraph(model: Model, opts: StructureChoices & { registry?: OpRegistry } = {}): ChannelGraph {
  const hit = cache.get(model);
  const c = { groupedConv: opts.groupedConv ?? 'groups', crossChannel: opts.crossChannel ?? 'block' };
  if (hit && hit.registry === (opts.registry ?? defaultOpRegistry()) && hit.stamp === stampOf(model, c)) return hit.graph;
  return buildDependencyGraph(model, { ...c, registry: opts.registry });
}

function stampOf(model: Model, choices: Required<StructureChoices>): string {
  const parts: string[] = [choices.groupedConv, choices.crossChannel];
  for (const n of model.graph.nodes) {
    parts.push(n.opType, n.domain, ...n.inputs.map((v) => (v ? `${v.name}:${v.constValue ? v.constValue.dims.join('x') : ''}` : '')), ...n.outputs.map((v) => v.name));
    for (const a of n.attributes.values()) if (a.type === 'int' || a.type === 'ints') parts.push(`${a.name}=${a.value}`);
  }
  for (const v of model.graph.outputs) parts.push(v.name);
  return parts.join('|');
}

export type { MemberRec };
