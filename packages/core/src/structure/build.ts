// The dependency graph builder: one forward pass over the main graph that
// reads only the op table (ChannelKind, weights, channelAxis, structure,
// params…), never op type names. Each value whose channels come from a
// layer's weights gets a Space; coupling is a union of channel elements.
import { cloneModel } from '../ir/clone.js';
import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';
import type { Value } from '../ir/value.js';
import { constTensorOf, channelAxisOf, dataInputsOf, inputChannelAxisOf, paramSlotsOf, resolveFlag, weightRolesOf } from '../ops/helpers.js';
import { defaultOpRegistry, type OpRegistry } from '../ops/registry.js';
import type { OpSpec, StructureInfo, WeightKind } from '../ops/types.js';
import { inferShapes, type InferResult } from '../shape/infer.js';
import { resolveInputShapes } from '../shape/inputs.js';
import { sliceRange } from '../shape/kernels.js';
import { reshapeGroups } from './reshape.js';
import { minimizeAxes, permuteElems, product, sameAxes, Space, stridesOf, UnionFind } from './space.js';
import type { BlockNote, MemberRole, StructureChoices, StructureOptions } from './types.js';

/** A constant seen through identity ops: the tensor and the value that holds it. */
export interface ConstRef {
  tensor: Tensor;
  /** The initializer or Constant output. */
  source: Value;
  /** The node reads `source` itself (no Identity in between). */
  direct: boolean;
}

export interface MemberRec {
  role: MemberRole;
  node: Node;
  input: number;
  kind: WeightKind;
  c: ConstRef;
  axis: number;
  space: Space;
  /** Weight index along `axis` → a space index it follows. */
  at: Int32Array;
  /** Consumers: space index → the weight index that reads it (-1: none). */
  readers?: Int32Array;
}

export type Transfer =
  | {
      kind: 'compute';
      node: Node;
      in?: Space;
      out: Space;
      w: Tensor;
      outAxis: number;
      inAxis: number;
      outFull: boolean;
      inFull: boolean;
      cinG: number;
      coutG: number;
      biases: { tensor: Tensor; axis: number }[];
      /** Inputs added before the activation (FusedConv's Z); undefined: not a tracked space. */
      sums: (Space | undefined)[];
      /** The (fused) activation maps 0 to 0; plain compute ops: true. */
      preserving: boolean;
    }
  /** out[i] has the value of src[which[i]][at[i]] (unary zero-preserving ops, data movement). */
  | { kind: 'copy'; out: Space; src: Space[]; which?: Int32Array; at: Int32Array }
  | { kind: 'nonzero'; out: Space }
  | { kind: 'elementwise'; out: Space; absorbing: boolean; preserving: boolean; ins: EwInput[] };

export type EwInput = { space: Space } | { tensor: Tensor; axis: number } | { scalar: number } | { other: true };

export interface RewriteRec {
  node: Node;
  spec: OpSpec;
  opset: number;
  /** The data input's space (Slice/Split/Reshape read the input's kept channels). */
  in?: Space;
  /** Output spaces by output index. */
  outs: (Space | undefined)[];
  structure?: StructureInfo;
  /** Grouped conv whose group count follows the kept output channels. */
  groups?: { attr: string; out: Space; perGroup: number };
}

export interface ShapeRead {
  node: Node;
  space: Space;
}

export interface BuildResult {
  model: Model;
  choices: Required<StructureChoices>;
  inferred: InferResult;
  uf: UnionFind;
  spaces: Space[];
  spaceOf: Map<Value, Space>;
  members: MemberRec[];
  transfers: Transfer[];
  rewrites: RewriteRec[];
  /** element → why it must stay. */
  pins: Map<number, string>;
  blocks: BlockNote[];
  /** Compute nodes with their MACs before pruning. */
  macs: Map<Node, number>;
}

const MAX_SPACE = 1 << 22;

export function resolveChoices(c: StructureChoices = {}): Required<StructureChoices> {
  return { groupedConv: c.groupedConv ?? 'groups', crossChannel: c.crossChannel ?? 'block' };
}

/**
 * Where MAC rules read shapes: the model's own inference, or, for dynamic
 * inputs the model itself sizes (a dynamic batch as 1: MACs per sample; dims
 * bound by given inputs; metadata; see resolveInputShapes), a weight-sharing
 * copy inferred with those sizes (the model keeps its dynamic dims).
 */
function macsContexts(model: Model, inferred: InferResult, registry: OpRegistry, given: Record<string, number[]> | undefined): (node: Node) => ReturnType<InferResult['contextOf']> {
  const r = resolveInputShapes(model, given);
  const shapes = Object.keys(r.assumed).length ? Object.fromEntries(Object.keys(r.assumed).map((n) => [n, r.shapes[n]!])) : undefined;
  if (!shapes) return (node) => inferred.contextOf(node);
  const copy = cloneModel(model, { shareWeights: true });
  const inf = inferShapes(copy, { registry, inputShapes: { ...given, ...shapes } });
  const twin = new Map<Node, Node>();
  model.graph.nodes.forEach((n, i) => twin.set(n, copy.graph.nodes[i]!));
  return (node) => inf.contextOf(twin.get(node) ?? node);
}

export function buildStructure(model: Model, opts: StructureOptions = {}): BuildResult {
  const registry = opts.registry ?? defaultOpRegistry();
  const inferred = inferShapes(model, { registry, inputShapes: opts.inputShapes });
  const b = new Builder(model, inferred, resolveChoices(opts), macsContexts(model, inferred, registry, opts.inputShapes));
  for (const node of model.graph.nodes) b.visit(node);
  b.finish();
  return b.result();
}

const opName = (n: Node) => (n.domain ? `${n.domain}::${n.opType}` : n.opType);
const isNum = (d: Dim | undefined): d is number => typeof d === 'number' && d >= 0;
const norm = (a: number, r: number) => (a < 0 ? a + r : a);
const iota = (n: number) => {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
};

class Builder {
  readonly uf = new UnionFind();
  readonly spaces: Space[] = [];
  readonly spaceOf = new Map<Value, Space>();
  readonly members: MemberRec[] = [];
  readonly transfers: Transfer[] = [];
  readonly rewrites: RewriteRec[] = [];
  readonly rewriteOf = new Map<Node, RewriteRec>();
  readonly pins = new Map<number, string>();
  readonly blocks: BlockNote[] = [];
  readonly shapeReads: ShapeRead[] = [];
  readonly macs = new Map<Node, number>();
  #noted = new Set<string>();

  constructor(
    readonly model: Model,
    readonly inferred: InferResult,
    readonly choices: Required<StructureChoices>,
    readonly macsContext: (node: Node) => ReturnType<InferResult['contextOf']>,
  ) {}

  result(): BuildResult {
    return {
      model: this.model,
      choices: this.choices,
      inferred: this.inferred,
      uf: this.uf,
      spaces: this.spaces,
      spaceOf: this.spaceOf,
      members: this.members,
      transfers: this.transfers,
      rewrites: this.rewrites,
      pins: this.pins,
      blocks: this.blocks,
      macs: this.macs,
    };
  }

  // --- spaces and pins ------------------------------------------------------

  #space(value: Value, axes: number[], dims: number[], elem: Int32Array, prunable: number, source: boolean): Space {
    const s = new Space(this.spaces.length, value, axes, dims, elem, prunable, source);
    this.spaces.push(s);
    this.spaceOf.set(value, s);
    return s;
  }

  fresh(value: Value, axis: number, n: number): Space {
    const first = this.uf.fresh(n);
    const elem = new Int32Array(n);
    for (let i = 0; i < n; i++) elem[i] = first + i;
    return this.#space(value, [axis], [n], elem, 0, true);
  }

  /** A space derived from others; multi-axis spaces are made prunable along one axis. */
  derived(value: Value, axes: number[], dims: number[], elem: Int32Array, prunable?: number): Space {
    let p = prunable ?? 0;
    if (axes.length > 1 && prunable === undefined) {
      // Prune along the longest axis; tie every other axis to it so kept indices form a product.
      p = dims.reduce((best, d, i) => (d >= dims[best]! ? i : best), 0);
    }
    if (axes.length > 1) {
      const st = stridesOf(dims);
      const first = new Map<number, number>();
      for (let i = 0; i < elem.length; i++) {
        const k = Math.floor(i / st[p]!) % dims[p]!;
        const f = first.get(k);
        if (f === undefined) first.set(k, elem[i]!);
        else this.uf.union(f, elem[i]!);
      }
    }
    return this.#space(value, axes, dims, elem, p, false);
  }

  note(reason: string, node?: Node, value?: Value): void {
    const key = `${node?.label ?? ''}|${value?.name ?? ''}|${reason}`;
    if (this.#noted.has(key)) return;
    this.#noted.add(key);
    this.blocks.push({ node: node?.label, op: node ? opName(node) : undefined, value: value?.name, reason });
  }

  pin(space: Space | undefined, reason: string, node?: Node): void {
    if (!space) return;
    this.note(reason, node, space.value);
    for (let i = 0; i < space.elem.length; i++) {
      const e = space.elem[i]!;
      if (!this.pins.has(e)) this.pins.set(e, reason);
    }
  }

  union(a: Space, b: Space): void {
    for (let i = 0; i < a.elem.length; i++) this.uf.union(a.elem[i]!, b.elem[i]!);
  }

  // --- constants ---------------------------------------------------------------

  spec(node: Node): OpSpec | undefined {
    return this.inferred.specOf(node);
  }

  constOf(v: Value | null): ConstRef | undefined {
    let cur = v;
    let direct = true;
    for (let depth = 0; cur && depth < 8; depth++) {
      const t = constTensorOf(cur);
      if (t) return { tensor: t, source: cur, direct };
      const p = cur.producer;
      if (!p || p.graph !== this.model.graph || cur.outputIndex !== 0) return undefined;
      const s = this.spec(p);
      if (!s?.identity || !p.input(0)) return undefined;
      cur = p.input(0);
      direct = false;
    }
    return undefined;
  }

  // --- the pass ---------------------------------------------------------------

  visit(node: Node): void {
    const spec = this.spec(node);
    const tracked = node.inputs.map((v) => (v ? this.spaceOf.get(v) : undefined));
    const any = tracked.some(Boolean);
    this.#macs(node, spec);
    if (node.subgraphs().length > 0) {
      if (any) for (const s of tracked) this.pin(s, `${opName(node)} ${node.label} runs a subgraph on these channels`, node);
      return;
    }
    if (!spec) {
      if (any) for (const s of tracked) this.pin(s, `unknown op ${opName(node)} at ${node.label}`, node);
      return;
    }
    const handled = new Set<number>();
    switch (spec.channel) {
      case 'compute':
        this.compute(node, spec, tracked, handled);
        break;
      case 'unary':
        this.unary(node, spec, tracked, handled);
        break;
      case 'elementwise':
        this.elementwise(node, spec, tracked, handled);
        break;
      case 'concat':
        this.concat(node, spec, tracked, handled);
        break;
      case 'split':
      case 'slice':
        this.sliceOrSplit(node, spec, tracked, handled);
        break;
      case 'reshape':
      case 'flatten':
        this.reshape(node, spec, tracked, handled);
        break;
      case 'transpose':
        this.transpose(node, spec, tracked, handled);
        break;
      case 'reduce':
      case 'gather':
        this.reduceOrGather(node, spec, tracked, handled);
        break;
      case 'shape':
        for (const [i, s] of tracked.entries()) {
          if (!s) continue;
          handled.add(i);
          this.shapeReads.push({ node, space: s });
        }
        break;
      case 'source':
      case 'opaque':
        break;
    }
    // Inputs the handler did not follow (opaque ops, parameter inputs fed by a layer) keep their channels.
    tracked.forEach((s, i) => {
      if (s && !handled.has(i)) this.pin(s, `${opName(node)} ${node.label} reads these channels in a way structured pruning does not follow (input ${i})`, node);
    });
    if (spec.params && (tracked.some((s, i) => s && handled.has(i)) || node.outputs.some((o) => this.spaceOf.has(o)))) this.#params(node, spec, tracked);
  }

  #macs(node: Node, spec: OpSpec | undefined): void {
    if (!spec?.macs) return;
    try {
      const m = spec.macs(this.macsContext(node));
      if (m !== undefined) this.macs.set(node, m);
    } catch {
      /* unresolved: no MACs */
    }
  }

  /** Parameters of a node on the channel path must be rewritable constants. */
  #params(node: Node, spec: OpSpec, tracked: (Space | undefined)[]): void {
    const opset = this.model.opset(node.domain) ?? 1;
    const { slots } = paramSlotsOf(spec, opset);
    const data = dataInputsOf(spec, node);
    const rec: RewriteRec = this.rewriteOf.get(node) ?? {
      node,
      spec,
      opset,
      in: data.map((i) => tracked[i]).find(Boolean),
      outs: node.outputs.map((o) => this.spaceOf.get(o)),
    };
    for (const [name, slot] of Object.entries(slots)) {
      if (!('input' in slot)) continue;
      const v = node.input(slot.input);
      if (!v || this.constOf(v)) continue;
      const k = this.inferred.known.get(v);
      // A computed parameter is frozen as a constant; one symbolic entry of a shape can become -1.
      const open = k ? k.data.filter((d) => typeof d !== 'number').length : Infinity;
      if (open === 0 || (open === 1 && name === 'shape')) continue;
      const why = `${opName(node)} ${node.label} computes its ${name} at run time`;
      for (const s of [...tracked, ...rec.outs]) this.pin(s, why, node);
      return;
    }
    if (!rec.structure && spec.structure) {
      try {
        rec.structure = spec.structure(this.inferred.contextOf(node));
      } catch {
        rec.structure = undefined;
      }
    }
    if (!this.rewriteOf.has(node)) {
      this.rewriteOf.set(node, rec);
      this.rewrites.push(rec);
    }
  }

  structureOf(node: Node, spec: OpSpec): StructureInfo | undefined {
    if (!spec.structure) return undefined;
    try {
      return spec.structure(this.inferred.contextOf(node));
    } catch {
      return undefined;
    }
  }

  // --- compute: Conv, ConvTranspose, Gemm, MatMul with constant weights ------------

  compute(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const data = dataInputsOf(spec, node);
    for (const i of data) handled.add(i);
    const xi = data[0] ?? 0;
    const x = node.input(xi);
    const xs = tracked[xi];
    const out = node.outputs[0]!;
    const roles = weightRolesOf(spec, node);
    for (const r of roles) handled.add(r.input);
    const epi = spec.epilogue?.(node);
    const sums = (epi?.sum ?? []).filter((i) => node.input(i));
    for (const i of sums) handled.add(i);
    const wr = roles.find((r) => r.role === 'weight' && r.outAxis !== undefined && r.inAxis !== undefined);
    const wc = wr && this.constOf(node.input(wr.input));
    const fail = (why: string) => {
      for (const s of tracked) this.pin(s, `${node.label}: ${why}`, node);
    };
    if (!wr || !wc) return fail(`${opName(node)} has no constant weight, so its channels cannot be followed`);
    if (wc.tensor.dtype !== 'float32') return fail(`weight ${wc.source.name} is ${wc.tensor.dtype}; only float32 layers are pruned`);
    if (tracked[wr.input]) return fail('the weight input carries pruned channels');
    const w = wc.tensor;
    const xShape = x?.shape;
    const oShape = out.shape;
    if (!xShape || !oShape) return fail('shapes unknown');
    const inAx = norm(inputChannelAxisOf(spec, node), xShape.length);
    const outAx = norm(channelAxisOf(spec, node), oShape.length);
    const cin = xShape[inAx];
    const cout = oShape[outAx];
    const g = wr.groupsAttr ? node.attrInt(wr.groupsAttr, 1) : 1;
    const wIn = w.dims[wr.inAxis!]!;
    const wOut = w.dims[wr.outAxis!]!;
    if (!isNum(cin) || !isNum(cout) || g < 1) return fail('channel counts unknown');
    const inFull = wIn === cin;
    const outFull = wOut === cout;
    const inPer = !inFull && wIn * g === cin;
    const outPer = !outFull && wOut * g === cout;
    if (!(inFull || inPer) || !(outFull || outPer) || (g > 1 && inFull === outFull)) return fail(`weight ${wc.source.name} [${w.dims}] does not match ${cin} → ${cout} channels (group ${g})`);
    const cinG = cin / g;
    const coutG = cout / g;
    const used = out.uses().length > 0 || this.model.graph.outputs.includes(out);
    const os = used ? this.fresh(out, outAx, cout) : undefined;
    const per = inPer ? wIn : outPer ? wOut : 0;
    const groupMode = g > 1 && (this.choices.groupedConv === 'groups' || per === 1);
    // Producer side: filters follow the output channels.
    if (os) {
      if (outFull) this.member('producer', node, wr.input, wr.role, wc, wr.outAxis!, os, iota(wOut));
      else if (!groupMode) this.member('producer', node, wr.input, wr.role, wc, wr.outAxis!, os, iota(wOut)); // position j of every group
      for (const r of roles) {
        if (r === wr || r.outAxis === undefined) continue;
        const c = this.constOf(node.input(r.input));
        if (!c || (c.tensor.dims[r.outAxis] !== cout && c.tensor.dims[r.outAxis] !== 1)) {
          this.pin(os, `${node.label}: ${r.role} ${node.input(r.input)?.name} is not a constant per output channel`, node);
          continue;
        }
        if (c.tensor.dims[r.outAxis] === cout) this.member('param', node, r.input, r.role, c, r.outAxis, os, iota(cout));
      }
    }
    // Consumer side: the weight's input axis follows the channels read.
    if (xs) {
      if (!xs.single || xs.axes[0] !== inAx) this.pin(xs, `${node.label} reads channels on axis ${inAx}, but they are laid out on axes [${xs.axes}]`, node);
      else if (xs.size !== cin) this.pin(xs, `${node.label}: channel count mismatch`, node);
      else if (g === 1) this.member('consumer', node, wr.input, wr.role, wc, wr.inAxis!, xs, iota(wIn), iota(cin));
      else if (groupMode) {
        if (!os) this.pin(xs, `${node.label}: grouped layer output is unused`, node);
        else {
          for (let k = 0; k < g; k++) {
            const e0 = xs.elem[k * cinG]!;
            for (let j = 0; j < cinG; j++) this.uf.union(e0, xs.elem[k * cinG + j]!);
            for (let i = 0; i < coutG; i++) this.uf.union(e0, os.elem[k * coutG + i]!);
          }
          if (inFull) this.member('consumer', node, wr.input, wr.role, wc, wr.inAxis!, xs, iota(wIn), iota(cin));
          this.#groupsRewrite(node, spec, wr.groupsAttr!, os, coutG);
        }
      } else {
        // Same positions in every group: channels stay divisible by the group count.
        for (let j = 0; j < cinG; j++) for (let k = 1; k < g; k++) this.uf.union(xs.elem[j]!, xs.elem[k * cinG + j]!);
        const readers = Int32Array.from({ length: cin }, (_, p) => (inFull ? p : p % cinG));
        this.member('consumer', node, wr.input, wr.role, wc, wr.inAxis!, xs, iota(wIn), readers);
      }
    } else if (groupMode && os) {
      this.pin(os, `${node.label}: whole groups cannot be removed, because the channels it reads are not prunable`, node);
    }
    if (os && g > 1 && !groupMode) {
      // Output positions are shared by all groups.
      for (let i = 0; i < coutG; i++) for (let k = 1; k < g; k++) this.uf.union(os.elem[i]!, os.elem[k * coutG + i]!);
    }
    if (os) this.#sums(node, sums, tracked, os, outAx);
    if (os) {
      const biases = roles
        .filter((r) => r !== wr && r.outAxis !== undefined)
        .map((r) => ({ c: this.constOf(node.input(r.input)), axis: r.outAxis! }))
        .filter((b) => b.c)
        .map((b) => ({ tensor: b.c!.tensor, axis: b.axis }));
      const sumSpaces = sums.map((i) => tracked[i]);
      this.transfers.push({ kind: 'compute', node, in: xs, out: os, w, outAxis: wr.outAxis!, inAxis: wr.inAxis!, outFull, inFull, cinG, coutG, biases, sums: sumSpaces, preserving: epi?.zeroPreserving ?? true });
    }
  }

  /** A residual input added to the output channels (FusedConv's Z) couples them like an Add. */
  #sums(node: Node, sums: number[], tracked: (Space | undefined)[], os: Space, outAx: number): void {
    for (const i of sums) {
      const zs = tracked[i];
      const z = node.input(i)!;
      if (!zs) {
        this.pin(os, `${opName(node)} ${node.label} adds ${z.name} (input ${i}), whose channels are not prunable`, node);
        continue;
      }
      const shift = os.value.shape!.length - (z.shape?.length ?? -1);
      if (!zs.single || !os.single || zs.axes[0]! + shift !== outAx || zs.size !== os.size) {
        this.pin(zs, `${opName(node)} ${node.label} adds ${z.name} (input ${i}) with its channels laid out otherwise`, node);
        this.pin(os, `${opName(node)} ${node.label} adds ${z.name} (input ${i}) with its channels laid out otherwise`, node);
        continue;
      }
      this.union(os, zs);
    }
  }

  #groupsRewrite(node: Node, spec: OpSpec, attr: string, out: Space, perGroup: number): void {
    const rec: RewriteRec = { node, spec, opset: this.model.opset(node.domain) ?? 1, outs: node.outputs.map((o) => this.spaceOf.get(o)), groups: { attr, out, perGroup } };
    this.rewriteOf.set(node, rec);
    this.rewrites.push(rec);
  }

  member(role: MemberRole, node: Node, input: number, kind: WeightKind, c: ConstRef, axis: number, space: Space, at: Int32Array, readers?: Int32Array): void {
    this.members.push({ role, node, input, kind, c, axis, space, at, readers });
  }

  // --- unary: activations, norms, pools, Resize, Pad… ---------------------------------

  unary(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const data = dataInputsOf(spec, node);
    for (const i of data) handled.add(i);
    const xi = data[0] ?? 0;
    const xs = tracked[xi];
    const roles = weightRolesOf(spec, node);
    for (const r of roles) handled.add(r.input);
    for (const r of roles) if (tracked[r.input] && r.input !== xi) this.pin(tracked[r.input], `${node.label}: a parameter input carries pruned channels`, node);
    if (!xs) return;
    for (const i of data.slice(1)) this.pin(tracked[i], `${node.label}: second data input`, node);
    const out = node.outputs[0]!;
    const x = node.input(xi)!;
    const r = x.shape?.length;
    const oShape = out.shape;
    if (r === undefined || !oShape || oShape.length !== r || xs.axes.some((a, k) => oShape[a] !== xs.dims[k])) {
      return this.pin(xs, `${opName(node)} ${node.label} changes the channel axis`, node);
    }
    // The channels stay the same channels through the op; only whether they may go changes.
    const pass = (why: string) => {
      this.pin(xs, why, node);
      this.derived(out, [...xs.axes], [...xs.dims], xs.elem, xs.prunable);
    };
    const st = this.structureOf(node, spec);
    if (spec.crossChannel && this.choices.crossChannel === 'block') {
      const from = st?.axis;
      if (from === undefined || xs.axes.some((a) => a >= from)) return pass(`${opName(node)} ${node.label} mixes values across the channel axis`);
    }
    if (!spec.crossChannel && st?.axes && st.axes.some((a) => xs.axes.includes(a))) return pass(`${opName(node)} ${node.label} acts on the channel axis`);
    for (const extra of node.outputs.slice(1)) {
      if (extra.uses().length || this.model.graph.outputs.includes(extra)) return pass(`${node.label}: output ${extra.name} is used too`);
    }
    const ca = norm(channelAxisOf(spec, node), r);
    for (const role of roles) {
      if (role.input === xi) continue;
      const c = this.constOf(node.input(role.input));
      const n = node.input(role.input)!;
      if (!c) {
        const s = n.shape;
        if (s && s.every((d) => d === 1)) continue;
        return this.pin(xs, `${node.label}: ${role.role} ${n.name} is not constant`, node);
      }
      if (c.tensor.size === 1) continue;
      if (role.outAxis === undefined || !xs.single || xs.axes[0] !== ca) return this.pin(xs, `${node.label}: ${role.role} ${n.name} does not follow the channel axis`, node);
      const d = c.tensor.dims[role.outAxis];
      if (d === 1) continue;
      if (d !== xs.size) return this.pin(xs, `${node.label}: ${role.role} ${n.name} has ${d} entries for ${xs.size} channels`, node);
      this.member('param', node, role.input, role.role, c, role.outAxis, xs, iota(d));
    }
    const os = this.derived(out, [...xs.axes], [...xs.dims], xs.elem, xs.prunable);
    this.transfers.push(resolveFlag(spec.zeroPreserving, node) ? { kind: 'copy', out: os, src: [xs], at: iota(xs.size) } : { kind: 'nonzero', out: os });
  }

  // --- elementwise with broadcasting ----------------------------------------------

  elementwise(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const data = dataInputsOf(spec, node);
    for (const i of data) handled.add(i);
    for (const r of weightRolesOf(spec, node)) handled.add(r.input);
    const ts = data.filter((i) => tracked[i]);
    if (ts.length === 0) return;
    const out = node.outputs[0]!;
    const oShape = out.shape;
    const pinAll = (why: string) => {
      for (const i of ts) this.pin(tracked[i], `${opName(node)} ${node.label}: ${why}`, node);
    };
    if (!oShape) return pinAll('output shape unknown');
    const R = oShape.length;
    const first = tracked[ts[0]!]!;
    const shift = (i: number) => R - (node.input(i)!.shape?.length ?? R);
    const A = first.axes.map((a) => a + shift(ts[0]!));
    for (const i of ts) {
      const s = tracked[i]!;
      const Ai = s.axes.map((a) => a + shift(i));
      if (!sameAxes(Ai, A) || s.dims.some((d, k) => d !== first.dims[k]) || s.prunable !== first.prunable) return pinAll('inputs carry channels on different axes');
    }
    if (A.some((a, k) => oShape[a] !== first.dims[k])) return pinAll('the channels are broadcast');
    const os = this.derived(out, A, [...first.dims], first.elem, first.prunable);
    for (const i of ts.slice(1)) this.union(first, tracked[i]!);
    const ins: EwInput[] = [];
    for (const i of data) {
      const s = tracked[i];
      if (s) {
        ins.push({ space: s });
        continue;
      }
      const u = node.input(i)!;
      const us = u.shape;
      if (!us) return this.pin(os, `${node.label}: operand ${u.name} has unknown shape`, node);
      const off = R - us.length;
      const ds = A.map((a) => (a - off >= 0 ? us[a - off] : 1));
      const c = this.constOf(u);
      if (ds.every((d) => d === 1)) {
        ins.push(c && c.tensor.size === 1 ? { scalar: Number(c.tensor.values[0]) } : { other: true });
        continue;
      }
      if (!ds.every((d, k) => d === first.dims[k])) return this.pin(os, `${node.label}: operand ${u.name} partly broadcasts the channels`, node);
      if (!c || !os.single) return this.pin(os, `${opName(node)} ${node.label} couples these channels with ${u.name}, which is not prunable`, node);
      const axis = A[0]! - off;
      const roleKind = weightRolesOf(spec, node).find((r) => r.input === i)?.role ?? 'param';
      this.member('const', node, i, roleKind, c, axis, os, iota(os.size));
      ins.push({ tensor: c.tensor, axis });
    }
    for (const extra of node.outputs.slice(1)) if (extra.uses().length) this.pin(os, `${node.label}: output ${extra.name} is used too`, node);
    this.transfers.push({ kind: 'elementwise', out: os, ins, absorbing: !!spec.zeroAbsorbing, preserving: resolveFlag(spec.zeroPreserving, node) });
  }

  // --- Concat ----------------------------------------------------------------------

  concat(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const data = dataInputsOf(spec, node);
    for (const i of data) handled.add(i);
    const ts = data.filter((i) => tracked[i]);
    if (ts.length === 0) return;
    const out = node.outputs[0]!;
    const st = this.structureOf(node, spec);
    const pinAll = (why: string) => {
      for (const i of ts) this.pin(tracked[i], `Concat ${node.label}: ${why}`, node);
    };
    if (st?.axis === undefined || !out.shape) return pinAll('axis unknown');
    const axis = st.axis;
    const first = tracked[ts[0]!]!;
    if (!first.axes.includes(axis)) {
      // Concatenation along another axis: the channels line up like an elementwise op.
      for (const i of data) {
        const s = tracked[i];
        if (!s) return pinAll(`input ${node.input(i)!.name} is not prunable`);
        if (!sameAxes(s.axes, first.axes) || s.prunable !== first.prunable || s.dims.some((d, k) => d !== first.dims[k])) return pinAll('inputs carry channels on different axes');
      }
      const os = this.derived(out, [...first.axes], [...first.dims], first.elem, first.prunable);
      for (const i of ts.slice(1)) this.union(first, tracked[i]!);
      this.transfers.push({ kind: 'copy', out: os, src: [first], at: iota(first.size) });
      return;
    }
    if (ts.some((i) => !tracked[i]!.single)) return pinAll('channels laid out on several axes');
    const parts: { s?: Space; n: number; v: Value }[] = [];
    for (const i of data) {
      const v = node.input(i)!;
      const s = tracked[i];
      const n = s ? (s.axes[0] === axis ? s.size : undefined) : v.shape?.[axis];
      if (!isNum(n)) return pinAll(`input ${v.name} has an unknown size on axis ${axis}`);
      if (s && s.axes[0] !== axis) this.pin(s, `Concat ${node.label} joins these channels along another axis`, node);
      parts.push({ s: s && s.axes[0] === axis ? s : undefined, n, v });
    }
    const total = parts.reduce((a, p) => a + p.n, 0);
    const elem = new Int32Array(total);
    const src: Space[] = [];
    const which = new Int32Array(total).fill(-1);
    const at = new Int32Array(total);
    let off = 0;
    for (const p of parts) {
      if (p.s) {
        elem.set(p.s.elem, off);
        const k = src.push(p.s) - 1;
        for (let i = 0; i < p.n; i++) {
          which[off + i] = k;
          at[off + i] = i;
        }
      } else {
        // Channels of a value that is not prunable here (a graph input, a constant…).
        const f = this.uf.fresh(p.n);
        for (let i = 0; i < p.n; i++) {
          elem[off + i] = f + i;
          this.pins.set(f + i, `Concat ${node.label}: input ${p.v.name} is not prunable`);
        }
      }
      off += p.n;
    }
    const os = this.derived(out, [axis], [total], elem, 0);
    this.transfers.push({ kind: 'copy', out: os, src, which, at });
  }

  // --- Split / Slice ------------------------------------------------------------

  sliceOrSplit(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const xs = tracked[0];
    handled.add(0);
    if (!xs) return;
    const st = this.structureOf(node, spec);
    const x = node.input(0)!;
    const rank = x.shape?.length;
    if (!st || rank === undefined) return this.pin(xs, `${opName(node)} ${node.label}: parameters unknown`, node);
    const cut = spec.channel === 'split' ? (st.axis !== undefined ? [st.axis] : []) : (st.axes ?? []);
    const onChannels = cut.filter((a) => xs.axes.includes(a));
    const outs = spec.channel === 'split' ? node.outputs : node.outputs.slice(0, 1);
    if (onChannels.length === 0) {
      // Cut along other axes: every output carries all channels.
      for (const o of outs) {
        const os = this.derived(o, [...xs.axes], [...xs.dims], xs.elem, xs.prunable);
        this.transfers.push({ kind: 'copy', out: os, src: [xs], at: iota(xs.size) });
      }
      return;
    }
    if (!xs.single) return this.pin(xs, `${opName(node)} ${node.label} cuts a channel axis of a reshaped layout`, node);
    const a = xs.axes[0]!;
    const ranges: [number, number][] = [];
    if (spec.channel === 'split') {
      const sizes = st.split;
      if (!sizes || sizes.length !== outs.length || sizes.reduce((p, q) => p + q, 0) !== xs.size) return this.pin(xs, `Split ${node.label}: sizes unknown`, node);
      let off = 0;
      for (const n of sizes) {
        ranges.push([off, off + n]);
        off += n;
      }
    } else {
      const k = st.axes!.indexOf(a);
      const step = st.steps?.[k] ?? 1;
      if (step !== 1 || st.starts?.[k] === undefined || st.ends?.[k] === undefined) return this.pin(xs, `Slice ${node.label}: a strided or unknown slice of the channel axis`, node);
      const r = sliceRange(xs.size, st.starts[k]!, st.ends[k]!, 1);
      ranges.push([r.start, r.start + r.count]);
    }
    outs.forEach((o, i) => {
      const [s, e] = ranges[i]!;
      if (e <= s) return;
      const os = this.derived(o, [a], [e - s], xs.elem.slice(s, e), 0);
      const at = Int32Array.from({ length: e - s }, (_, j) => s + j);
      this.transfers.push({ kind: 'copy', out: os, src: [xs], at });
    });
  }

  // --- Reshape / Flatten / Squeeze / Unsqueeze -------------------------------------------

  reshape(node: Node, _spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const xs = tracked[0];
    handled.add(0);
    if (!xs) return;
    const x = node.input(0)!;
    const out = node.outputs[0]!;
    const from = x.shape;
    const to = out.shape;
    const fail = (why: string) => this.pin(xs, `${opName(node)} ${node.label}: ${why}`, node);
    if (!from || !to) return fail('shapes unknown');
    const groups = reshapeGroups(from, to);
    if (!groups) return fail(`cannot follow [${from}] → [${to}]`);
    const touched = groups.filter((g) => g.ins.some((i) => xs.axes.includes(i)));
    if (touched.some((g) => g.outs.length === 0)) return fail('drops the channel axis');
    const outAxes = touched.flatMap((g) => g.outs);
    const outDims = outAxes.map((a) => to[a]);
    if (!outDims.every(isNum) || touched.some((g) => !g.ins.every((i) => isNum(from[i])))) return fail('channel axes have symbolic sizes');
    const n = product(outDims as number[]);
    if (n > MAX_SPACE) return fail('too many features per channel');
    // Walk the output indices of the touched groups; map each to the input channel index.
    const elem = new Int32Array(n);
    const oDims = outDims as number[];
    const oStr = stridesOf(oDims);
    const xStr = stridesOf(xs.dims);
    const gOut = touched.map((g) => g.outs.map((a) => outAxes.indexOf(a)));
    const gIn = touched.map((g) => g.ins.map((i) => from[i] as number));
    const gInIdx = touched.map((g) => g.ins.map((i) => xs.axes.indexOf(i)));
    for (let j = 0; j < n; j++) {
      let src = 0;
      for (let t = 0; t < touched.length; t++) {
        let flat = 0;
        for (const q of gOut[t]!) flat = flat * oDims[q]! + (Math.floor(j / oStr[q]!) % oDims[q]!);
        const inDims = gIn[t]!;
        const idx = gInIdx[t]!;
        for (let k = inDims.length - 1; k >= 0; k--) {
          const pos = flat % inDims[k]!;
          flat = Math.floor(flat / inDims[k]!);
          if (idx[k]! >= 0) src += pos * xStr[idx[k]!]!;
        }
      }
      elem[j] = xs.elem[src]!;
    }
    const m = minimizeAxes(oDims, elem);
    if (m.keep.length === 0) return fail('no channel axis left');
    const axes = m.keep.map((k) => outAxes[k]!);
    const os = this.derived(out, axes, m.keep.map((k) => oDims[k]!), m.elem);
    // Value movement for zero flags: a channel of the output is zero iff its source channel is.
    const rootAt = new Int32Array(os.size);
    const firstIdx = new Map<number, number>();
    for (let i = 0; i < xs.size; i++) if (!firstIdx.has(xs.elem[i]!)) firstIdx.set(xs.elem[i]!, i);
    for (let i = 0; i < os.size; i++) rootAt[i] = firstIdx.get(os.elem[i]!) ?? 0;
    this.transfers.push({ kind: 'copy', out: os, src: [xs], at: rootAt });
  }

  // --- Transpose -------------------------------------------------------------------

  transpose(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const xs = tracked[0];
    handled.add(0);
    if (!xs) return;
    const perm = this.structureOf(node, spec)?.perm;
    if (!perm) return this.pin(xs, `Transpose ${node.label}: perm unknown`, node);
    const moved = xs.axes.map((a) => perm.indexOf(a));
    const order = moved.map((_, k) => k).sort((p, q) => moved[p]! - moved[q]!);
    const axes = order.map((k) => moved[k]!);
    const dims = order.map((k) => xs.dims[k]!);
    const elem = permuteElems(xs.dims, xs.elem, order);
    const os = this.derived(node.outputs[0]!, axes, dims, elem, order.indexOf(xs.prunable));
    const at = permuteElems(xs.dims, iota(xs.size), order);
    this.transfers.push({ kind: 'copy', out: os, src: [xs], at });
  }

  // --- reductions and Gather over other axes ----------------------------------------

  reduceOrGather(node: Node, spec: OpSpec, tracked: (Space | undefined)[], handled: Set<number>): void {
    const data = dataInputsOf(spec, node);
    for (const i of data) handled.add(i);
    const xs = tracked[0];
    for (const i of data.slice(1)) this.pin(tracked[i], `${node.label}: indices carry pruned channels`, node);
    if (!xs) return;
    const st = this.structureOf(node, spec);
    const rank = node.input(0)!.shape?.length;
    if (!st || rank === undefined) return this.pin(xs, `${opName(node)} ${node.label}: axes unknown`, node);
    const out = node.outputs[0]!;
    let axes: number[];
    if (spec.channel === 'gather') {
      const a = st.axis!;
      if (xs.axes.includes(a)) return this.pin(xs, `${opName(node)} ${node.label} gathers along the channel axis`, node);
      const ir = node.input(1)?.shape?.length;
      if (ir === undefined) return this.pin(xs, `${node.label}: indices rank unknown`, node);
      axes = xs.axes.map((x) => (x < a ? x : x - 1 + ir));
    } else {
      const red = st.axes ?? [];
      if (red.some((a) => xs.axes.includes(a))) return this.pin(xs, `${opName(node)} ${node.label} reduces over the channel axis`, node);
      axes = st.keepdims === false ? xs.axes.map((x) => x - red.filter((a) => a < x).length) : [...xs.axes];
    }
    const os = this.derived(out, axes, [...xs.dims], xs.elem, xs.prunable);
    this.transfers.push(spec.channel === 'gather' || resolveFlag(spec.zeroPreserving, node) ? { kind: 'copy', out: os, src: [xs], at: iota(xs.size) } : { kind: 'nonzero', out: os });
  }

  // --- after the pass ------------------------------------------------------------------

  finish(): void {
    const g = this.model.graph;
    for (const v of g.outputs) {
      const s = this.spaceOf.get(v);
      if (s) this.pin(s, `reaches graph output ${v.name}`);
    }
    for (const s of this.spaces) {
      for (const u of s.value.uses()) {
        if (u.node.graph !== g) {
          this.pin(s, `read inside the subgraph of ${u.node.label}`, u.node);
          break;
        }
      }
    }
    this.#checkShapeReads();
  }

  /**
   * Shape(x) of a pruned x changes value. That is fine when it only feeds
   * parameters the applier rewrites as constants (a Slice's bounds, a
   * Reshape target, Resize sizes); anything else keeps x's channels.
   */
  #checkShapeReads(): void {
    const known = this.inferred.known;
    for (const { node, space } of this.shapeReads) {
      const seen = new Set<Value>();
      const stack = [...node.outputs];
      let bad: string | undefined;
      while (stack.length && !bad) {
        const v = stack.pop()!;
        if (seen.has(v)) continue;
        seen.add(v);
        if (this.model.graph.outputs.includes(v)) bad = `its shape is a graph output`;
        for (const u of v.uses()) {
          const c = u.node;
          const rec = this.rewriteOf.get(c);
          if (rec && c.graph === this.model.graph) {
            const slots = paramSlotsOf(rec.spec, rec.opset).slots;
            if (Object.values(slots).some((s) => 'input' in s && s.input === u.index)) continue;
          }
          if (c.graph === this.model.graph && c.outputs.length > 0 && c.outputs.every((o) => known.has(o))) {
            stack.push(...c.outputs);
            continue;
          }
          bad = `its shape feeds ${opName(c)} ${c.label}`;
          break;
        }
      }
      if (bad) this.pin(space, `${space.value.name}: ${bad}`, node);
    }
  }
}
