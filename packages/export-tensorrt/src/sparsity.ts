import { defaultOpRegistry, Tensor, type Model, type Node, type OpRegistry, type Value, type WeightRole } from '@shears/core';
import { SPARSITY_24 } from './table.js';

export interface LayerSparsity {
  name: string;
  op: string;
  /** Weight tensor checked. */
  weight: string;
  /** Output channels, input channels per group, groups. */
  outChannels: number;
  inChannels: number;
  groups: number;
  /** TensorRT may run it with sparse kernels (C % 4 == 0, dense, large enough). */
  eligible: boolean;
  /** Every group of 4 along the input channels holds ≥ 2 zeros. */
  compliant: boolean;
  /** Why not eligible or not compliant; null when both. */
  reason: string | null;
  /** Share of the 4-groups that are 2:4 (1 when compliant). */
  groupsCompliant: number;
  /** Set by enforce: the layer was pruned to 2:4 here. */
  enforced?: boolean;
}

export interface SparsityReport {
  layers: LayerSparsity[];
  /** Compliant eligible layers / eligible layers (0 when none is eligible). */
  compliantFraction: number;
  eligible: number;
  compliant: number;
}

export interface SparsityOptions {
  /** Channels below which sparse kernels do not pay (default 256). */
  minChannels?: number;
  /** The op table that says which ops are prunable compute layers (default: the built-in one; the exporter passes `ctx.ops`). */
  registry?: OpRegistry;
}

interface Target {
  node: Node;
  value: Value;
  tensor: Tensor;
  role: WeightRole;
}

/** Compute ops (per the op table) with a constant float32 weight that has an input-channel axis. */
function targets(model: Model, registry: OpRegistry = defaultOpRegistry()): Target[] {
  const out: Target[] = [];
  for (const node of model.graph.nodes) {
    const spec = registry.lookupNode(node, model);
    if (spec?.channel !== 'compute' || !spec.prunable) continue;
    const roles = typeof spec.weights === 'function' ? spec.weights(node) : (spec.weights ?? []);
    const role = roles.find((r) => r.role === 'weight' && r.inAxis !== undefined && r.outAxis !== undefined);
    const value = role && node.input(role.input);
    const tensor = value?.constValue;
    if (!role || !value || !tensor || tensor.dtype !== 'float32') continue;
    out.push({ node, value, tensor, role });
  }
  return out;
}

/** Strides for walking 4-groups along the input axis: outer × C × inner. */
function layout(t: Tensor, inAxis: number) {
  const C = t.dims[inAxis]!;
  const outer = t.dims.slice(0, inAxis).reduce((a, b) => a * b, 1);
  const inner = t.dims.slice(inAxis + 1).reduce((a, b) => a * b, 1);
  return { C, outer, inner };
}

function count24(w: Float32Array, C: number, outer: number, inner: number): { groups: number; ok: number } {
  let groups = 0;
  let ok = 0;
  const G = SPARSITY_24.group;
  for (let o = 0; o < outer; o++)
    for (let c = 0; c + G <= C; c += G)
      for (let i = 0; i < inner; i++) {
        let zeros = 0;
        for (let j = 0; j < G; j++) if (w[(o * C + c + j) * inner + i] === 0) zeros++;
        groups++;
        if (zeros >= SPARSITY_24.zeros) ok++;
      }
  return { groups, ok };
}

/** Check every Conv/Gemm/MatMul weight for 2:4 eligibility and compliance. */
export function sparsityReport(model: Model, opts: SparsityOptions = {}): SparsityReport {
  const minChannels = opts.minChannels ?? SPARSITY_24.minChannels;
  const layers: LayerSparsity[] = [];
  for (const { node, tensor, role, value } of targets(model, opts.registry)) {
    const groups = role.groupsAttr ? node.attrInt(role.groupsAttr, 1) : 1;
    const { C, outer, inner } = layout(tensor, role.inAxis!);
    const K = tensor.dims[role.outAxis!]!;
    const c4 = C % SPARSITY_24.group === 0;
    const { groups: n, ok } = c4 ? count24(tensor.floats(), C, outer, inner) : { groups: 0, ok: 0 };
    const compliant = c4 && n > 0 && ok === n;
    const why: string[] = [];
    if (!c4) why.push(`C % 4 != 0 (C = ${C})`);
    if (groups > 1) why.push(`grouped convolution (group = ${groups}); sparse kernels need group = 1`);
    if (c4 && groups === 1 && Math.min(C, K) < minChannels) why.push(`too small to profit (channels ${C}→${K} < ${minChannels})`);
    const eligible = why.length === 0;
    if (c4 && !compliant) why.push(`not 2:4 (${n - ok} of ${n} groups of 4 have fewer than 2 zeros)`);
    layers.push({ name: node.label, op: node.opType, weight: value.name, outChannels: K, inChannels: C, groups, eligible, compliant, reason: why.length ? why.join('; ') : null, groupsCompliant: n ? ok / n : 0 });
  }
  return summarize(layers);
}

function summarize(layers: LayerSparsity[]): SparsityReport {
  const eligible = layers.filter((l) => l.eligible).length;
  const compliant = layers.filter((l) => l.eligible && l.compliant).length;
  return { layers, eligible, compliant, compliantFraction: eligible ? compliant / eligible : 0 };
}

/**
 * 2:4 magnitude pruning of the eligible layers that are not compliant: in
 * each group of 4 the 2 smallest |w| become 0 (and the value's mask records
 * it). Accuracy should be recovered with fine-tuning afterwards.
 */
export function enforce24(model: Model, opts: SparsityOptions = {}): SparsityReport {
  const before = sparsityReport(model, opts);
  const todo = new Set(before.layers.filter((l) => l.eligible && !l.compliant).map((l) => l.name));
  const G = SPARSITY_24.group;
  for (const { node, tensor, role, value } of targets(model, opts.registry)) {
    if (!todo.has(node.label)) continue;
    const { C, outer, inner } = layout(tensor, role.inAxis!);
    const w = Float32Array.from(tensor.floats());
    const mask = value.mask ? Uint8Array.from(value.mask) : new Uint8Array(w.length).fill(1);
    const idx = new Array<number>(G);
    for (let o = 0; o < outer; o++)
      for (let c = 0; c + G <= C; c += G)
        for (let i = 0; i < inner; i++) {
          for (let j = 0; j < G; j++) idx[j] = (o * C + c + j) * inner + i;
          // Partial selection: move the SPARSITY_24.zeros smallest |w| to the front (no allocation, no sort callback).
          for (let j = 0; j < SPARSITY_24.zeros; j++) {
            let m = j;
            for (let k = j + 1; k < G; k++) if (Math.abs(w[idx[k]!]!) < Math.abs(w[idx[m]!]!)) m = k;
            const t = idx[j]!;
            idx[j] = idx[m]!;
            idx[m] = t;
            w[idx[j]!] = 0;
            mask[idx[j]!] = 0;
          }
        }
    const nv = model.graph.replaceInitializer(value.name, new Tensor({ name: value.name, dtype: 'float32', dims: tensor.dims, data: w }));
    nv.mask = mask;
  }
  const after = sparsityReport(model, opts);
  for (const l of after.layers) if (todo.has(l.name)) l.enforced = true;
  return after;
}
