import { bitIndices } from '../ir/bitset.js';
import type { TypedArray } from '../ir/dtype.js';

/**
 * A pruning plan: what a strategy decided, as data. One applier executes it,
 * which gives dry runs, stored plans, reports and review before applying.
 */
export interface PruningPlan {
  version: 1;
  strategy: string;
  /** The criterion plugin that ranked what to prune, when the strategy used one. */
  criterion?: string;
  /** The options the strategy ran with (inputs only), for reports and stored plans. */
  options?: Record<string, unknown>;
  /** What the strategy found and decided (estimates, per-layer reports…), for reports and the CLI. */
  details?: Record<string, unknown>;
  actions: PlanAction[];
  /** Layers or groups the strategy looked at and left alone, with why. */
  skipped: SkipNote[];
}

/**
 * Why a target was left alone, for tools (the `reason` is for people):
 * - `excluded`: matched the user's exclude pattern (or keepFirst/keepLast);
 * - `pinned`: its channels must stay (they reach a graph output, pass an op
 *   the table does not describe, or mix across channels);
 * - `unsupported`: a layer the strategy cannot handle (dtype, layout, no refit);
 * - `too-small`: too few channels or weights to remove any;
 * - `rounded`: round-to or a cap changed the amount (it still prunes);
 * - `target-unreachable`: a MACs (or other) target could not be met;
 * - `nothing-pruned`: the plan as a whole prunes nothing.
 */
export type SkipCode = 'excluded' | 'pinned' | 'unsupported' | 'too-small' | 'rounded' | 'target-unreachable' | 'nothing-pruned';

export interface SkipNote {
  target: string;
  reason: string;
  code?: SkipCode;
}

/** Skip notes that mean the user did not get what they asked for (worth a warning). */
export function isShortfall(note: SkipNote): boolean {
  return note.code === 'rounded' || note.code === 'target-unreachable';
}

export type PlanAction = MaskAction | SetTensorAction | RemoveChannelsAction;

/**
 * Zero some elements of an initializer and keep a mask beside it. The pruned
 * set is either an ascending index list or a bitset; both serialize.
 */
export type MaskAction = IndexMaskAction | BitsetMaskAction;

interface MaskActionBase {
  type: 'mask';
  tensor: string;
  /** The layer (node label) the weight belongs to, for reports. */
  layer?: string;
}

/** The pruned set as flat indices, ascending. */
export interface IndexMaskAction extends MaskActionBase {
  prune: Uint32Array;
}

/**
 * The pruned set as a bitset (bit i of word i >> 5 = element i): n/8 bytes
 * against 4 bytes per pruned weight, so a plan of a 25 M-weight model holds
 * 3 MB rather than 51 MB of indices, and the applier walks it directly.
 */
export interface BitsetMaskAction extends MaskActionBase {
  bits: Int32Array;
  /** How many bits are set. */
  count: number;
}

export function isBitsetMask(a: MaskAction): a is BitsetMaskAction {
  return 'bits' in a && a.bits instanceof Int32Array;
}

/** How many elements a mask action prunes. */
export function maskCount(a: MaskAction): number {
  return isBitsetMask(a) ? a.count : a.prune.length;
}

/** The pruned indices, ascending (built from the bits for a bitset action: read once and keep). */
export function maskIndices(a: MaskAction): Uint32Array {
  return isBitsetMask(a) ? bitIndices(a.bits, a.count) : a.prune;
}


/** Replace an initializer's values (reconstruction, SparseGPT updates). */
export interface SetTensorAction {
  type: 'set-tensor';
  tensor: string;
  data: Float32Array;
}

/**
 * Remove channels of a coupled group (structured pruning). The group is
 * re-found on the model by id (the name of the value its first layer
 * writes), with the dependency graph built with `structure`.
 */
export interface RemoveChannelsAction {
  type: 'remove-channels';
  group: string;
  /** Channel indices removed, in the group's channel space. */
  channels: number[];
  /** Scores of the removed channels, for reports. */
  scores?: number[];
  /** Channels in the group when planned; the applier refuses a group of another size. */
  size?: number;
  /** Dependency-graph options the group was found with (see StructureChoices). */
  structure?: { groupedConv?: 'groups' | 'divisible'; crossChannel?: 'block' | 'prune' };
  /** The group's producing layers, for reports. */
  layers?: string[];
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const TYPED = '__typed';

/** Plans hold typed arrays; this turns one into plain JSON (base64 for arrays). */
export function serializePlan(plan: PruningPlan): string {
  return JSON.stringify(plan, (_k, v: unknown) => {
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const a = v as TypedArray;
      return { [TYPED]: a.constructor.name, b64: Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64') };
    }
    return v as Json;
  });
}

const CTORS: Record<string, new (b: ArrayBuffer) => TypedArray> = {
  Uint32Array,
  Float32Array,
  Int32Array,
  Uint8Array,
  Float64Array,
};

export function deserializePlan(text: string): PruningPlan {
  const plan = JSON.parse(text, (_k, v: unknown) => {
    if (v && typeof v === 'object' && TYPED in v) {
      const { [TYPED]: kind, b64 } = v as Record<string, string>;
      const ctor = CTORS[kind!];
      if (!ctor) throw new Error(`plan holds an unknown array type ${kind}`);
      const bytes = Buffer.from(b64!, 'base64');
      const copy = new Uint8Array(bytes.byteLength);
      copy.set(bytes);
      return new ctor(copy.buffer);
    }
    return v;
  }) as PruningPlan;
  if (plan?.version !== 1 || !Array.isArray(plan.actions)) throw new Error('not a Shears pruning plan (version 1)');
  return plan;
}
