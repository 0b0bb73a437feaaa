// How a prunable weight lines up with its layer's input activation, read from
// the op table (weight roles, input channel axis) and the weight's shape. No
// op-type switches: a "window" layer is any weight [out, in/g, k...] whose
// input has the same rank (Conv and any op registered like it); a "linear"
// layer is any 2-D weight whose input's channel axis is its last.

import { dataInputsOf, defaultOpRegistry, inputChannelAxisOf, type Model, type Node, type OpRegistry, type ScoreTarget, type Tensor, type Value, type WeightRole } from '@shears/core';

export interface WeightLayout {
  dims: number[];
  size: number;
  /** Axis of the weight that follows the layer's input channels (the reduction axis). */
  inAxis: number;
  /** Axis that follows output channels, when the table gives one. */
  outAxis: number | undefined;
  /** Groups (Conv `group`): the input channels are split this many ways. */
  groups: number;
}

export interface LayerInput {
  /** The activation the weight multiplies (data input 0 of the node). */
  value: Value;
  /** Its channel axis (normalized, when the rank is known), else the raw table value. */
  channelAxis: number;
  /** Channels the activation must have: weight inAxis length (× groups when the weight holds one group). */
  channels: number;
  /** dims[inAxis] counts one group's channels (Conv [K, C/g, k..]) rather than all (ConvTranspose [C, K/g, k..]). */
  perGroup: boolean;
}

export function roleOf(model: Model, node: Node, input: number, registry: OpRegistry = defaultOpRegistry()): WeightRole | undefined {
  const spec = registry.lookupNode(node, model);
  const roles = typeof spec?.weights === 'function' ? spec.weights(node) : (spec?.weights ?? []);
  return roles.find((r) => r.input === input && r.role === 'weight');
}

export function layoutOf(weight: Tensor, role: WeightRole | undefined, node: Node): WeightLayout {
  const dims = [...weight.dims];
  const rank = dims.length;
  // Without a role (a criterion asked about an arbitrary tensor), assume [out, in, ...].
  const inAxis = role?.inAxis ?? (rank >= 2 ? 1 : 0);
  const outAxis = role ? role.outAxis : rank >= 2 ? 0 : undefined;
  const groups = role?.groupsAttr ? Math.max(1, node.attrInt(role.groupsAttr, 1)) : 1;
  return { dims, size: weight.size, inAxis, outAxis, groups };
}

export function layoutOfTarget(t: ScoreTarget, registry?: OpRegistry): WeightLayout {
  return layoutOf(t.weight, roleOf(t.model, t.node, t.input, registry), t.node);
}

/** The layer's input activation and how its channels map onto the weight, or a reason it cannot. */
export function layerInput(model: Model, node: Node, layout: WeightLayout, registry: OpRegistry = defaultOpRegistry()): LayerInput | string {
  const spec = registry.lookupNode(node, model);
  if (!spec) return `no op table entry for ${node.opType}`;
  const data = dataInputsOf(spec, node)[0];
  const value = data === undefined ? null : node.input(data);
  if (!value) return 'the node has no data input';
  let axis = inputChannelAxisOf(spec, node);
  const rank = value.shape?.length;
  if (axis < 0 && rank !== undefined) axis += rank;
  const c = layout.dims[layout.inAxis]!;
  const have = rank !== undefined && axis >= 0 && axis < rank ? value.shape![axis] : undefined;
  if (layout.groups > 1 && typeof have !== 'number') return `input ${value.name} has an unknown channel count, so its groups cannot be mapped`;
  const perGroup = layout.groups > 1 && have === c * layout.groups;
  const channels = perGroup ? c * layout.groups : c;
  if (typeof have === 'number' && have !== channels) return `input ${value.name} has ${have} channels on axis ${axis}, the weight expects ${channels}`;
  return { value, channelAxis: axis, channels, perGroup };
}

/**
 * For every weight element, the index of the input channel it multiplies
 * (group offset included). Int32Array of the weight's size.
 */
export function inputChannelOf(layout: WeightLayout, input: LayerInput): Int32Array {
  const { dims, inAxis, outAxis, groups } = layout;
  const out = new Int32Array(layout.size);
  const strides = stridesOf(dims);
  const cLen = dims[inAxis]!;
  const kPerGroup = input.perGroup && outAxis !== undefined ? dims[outAxis]! / groups : 0;
  for (let e = 0; e < out.length; e++) {
    const c = Math.floor(e / strides[inAxis]!) % cLen;
    if (kPerGroup) {
      const k = Math.floor(e / strides[outAxis!]!) % dims[outAxis!]!;
      out[e] = Math.floor(k / kPerGroup) * cLen + c;
    } else out[e] = c;
  }
  return out;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/**
 * Where to write element scores: the caller's `out` scratch when it asks for
 * element scores and gives one of the right length, else a new array.
 */
export function elementScratch(target: ScoreTarget): Float32Array {
  const n = target.weight.size;
  return target.granularity.kind === 'element' && target.out && target.out.length === n ? target.out : new Float32Array(n);
}

/**
 * Sum element scores into one score per index of `axis` (the 'channel'
 * granularity of ScoreTarget).
 */
export function toGranularity(scores: Float32Array, target: ScoreTarget): Float32Array {
  if (target.granularity.kind === 'element') return scores;
  const dims = target.weight.dims;
  const axis = target.granularity.axis < 0 ? target.granularity.axis + dims.length : target.granularity.axis;
  const len = dims[axis]!;
  const inner = stridesOf(dims)[axis]!;
  const acc = new Float64Array(len);
  for (let e = 0; e < scores.length; e++) acc[Math.floor(e / inner) % len] += scores[e]!;
  return Float32Array.from(acc);
}
