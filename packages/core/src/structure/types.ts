import type { Model } from '../ir/model.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { OpRegistry } from '../ops/registry.js';
import type { WeightKind } from '../ops/types.js';

/**
 * How the dependency graph is built. These choices change which channels are
 * coupled, so a plan records them and the applier rebuilds the same graph.
 */
export interface StructureChoices {
  /**
   * Grouped convolutions (1 < group, more than one channel per group):
   * 'groups' prunes whole groups (the group count drops); 'divisible' prunes
   * the same positions in every group (channels stay divisible by group).
   * Depthwise convs (one channel per group) always prune whole groups.
   */
  groupedConv?: 'groups' | 'divisible';
  /**
   * Ops that mix values across the channel axis (LayerNorm over channels,
   * Softmax, GroupNorm, LRN): 'block' (default) leaves their channels alone,
   * so pruning is exact; 'prune' slices their per-channel parameters anyway
   * (as Torch-Pruning does), which changes their outputs and needs fine-tuning.
   */
  crossChannel?: 'block' | 'prune';
}

export interface StructureOptions extends StructureChoices {
  registry?: OpRegistry;
  /** Static shapes for dynamic graph inputs. */
  inputShapes?: Record<string, number[]>;
}

/** What a member of a group is to the group's channels. */
export type MemberRole =
  /** Weights whose `axis` follows the layer's output channels (filters). */
  | 'producer'
  /** Weights whose `axis` follows the channels the layer reads (input channels). */
  | 'consumer'
  /** Per-channel parameters: biases, BatchNorm/InstanceNorm/LayerNorm scale, bias, mean, var. */
  | 'param'
  /** A constant operand of an elementwise op broadcast over the channels (bias Add, layer scale Mul). */
  | 'const';

/** One constant tensor of a group, sliced along `axis` when channels go. */
export interface GroupMember {
  role: MemberRole;
  /** The node that reads the tensor, and the input slot it reads it on. */
  node: Node;
  input: number;
  /** The tensor's role in the op table (weight, bias, scale, mean, var, param). */
  kind: WeightKind;
  tensor: Tensor;
  axis: number;
  /**
   * For every index along `axis`: the group channel it belongs to, or -1
   * when it belongs to another group (a layer after a Concat reads several).
   */
  channelOf: Int32Array;
}

/** An activation tensor carrying (some of) the group's channels, for data-aware criteria. */
export interface ActivationSite {
  value: Value;
  axis: number;
  /** For every index along `axis`: the group channel, or -1. */
  channelOf: Int32Array;
}

/**
 * A set of coupled channels. Channel i of a group is one unit of pruning: a
 * set of (tensor, axis, index) entries that are removed together (a filter,
 * its bias and BatchNorm entries, the matching input channels of every
 * consumer, both sides of a residual Add, the Concat offsets…).
 */
export interface ChannelGroup {
  /** Stable id: the name of the value the group's first layer writes. */
  id: string;
  /** Number of group channels. */
  size: number;
  /** Activation channels per group channel in the first layer's output (4 for whole groups of a 4-wide grouped conv). */
  width: number;
  /** Producer layers (node names or labels), in graph order. */
  layers: string[];
  members: GroupMember[];
  sites: ActivationSite[];
  /** Per channel: why it must stay, or undefined when it may be pruned. */
  pinned: (string | undefined)[];
  /** Channels that may be pruned. */
  prunable: number;
  /** Multiply-accumulates of the layers that read or write these channels. */
  macs: number;
}

/** A node that kept channels from being pruned, and why. */
export interface BlockNote {
  node?: string;
  op?: string;
  value?: string;
  reason: string;
}

/** Channels to remove: group id → group channel indices. */
export type ChannelSelection = ReadonlyMap<string, ArrayLike<number>>;

export interface DependencyGraph {
  readonly model: Model;
  readonly choices: Required<StructureChoices>;
  /** Every group, in graph order (including fully pinned ones). */
  readonly groups: readonly ChannelGroup[];
  group(id: string): ChannelGroup | undefined;
  /** Why channels were pinned: unknown ops, graph outputs, shapes read elsewhere… */
  readonly blocks: readonly BlockNote[];
  /** Total multiply-accumulates of the model (as analyzeModel counts them). */
  readonly macs: number;
  /** MACs after removing `selection` (an estimate from weight shapes, exact for Conv/Gemm/MatMul). */
  estimateMacs(selection: ChannelSelection): number;
  /**
   * Channels of `selection` that would empty some tensor (every channel of a
   * Slice or Split output removed, say), with the channels to keep instead.
   */
  emptied(selection: ChannelSelection): { group: string; channel: number; value: string }[];
}
