import type { TypedArray } from '../ir/dtype.js';

/**
 * A pruning plan: what a strategy decided, as data. One applier executes it,
 * which gives dry runs, stored plans, reports and review before applying.
 */
export interface PruningPlan {
  version: 1;
  strategy: string;
  criterion?: string;
  /** Free-form options the strategy ran with, for reports. */
  options?: Record<string, unknown>;
  actions: PlanAction[];
  /** Layers or groups the strategy looked at and left alone, with why. */
  skipped: { target: string; reason: string }[];
}

export type PlanAction = MaskAction | SetTensorAction | RemoveChannelsAction;

/** Zero the listed elements of an initializer and keep a mask beside it. */
export interface MaskAction {
  type: 'mask';
  tensor: string;
  /** Flat indices of the elements to zero, ascending. */
  prune: Uint32Array;
  /**
   * Optionally the same set as a bitset (bit i of word i >> 5 = element i),
   * which the applier walks instead of `prune` so a large plan never
   * materializes its index lists. Strategies that set it keep it out of
   * serialization (non-enumerable); `prune` stays the source of truth.
   */
  bits?: Int32Array;
  /** Scores used, for reports (optional, can be large). */
  layer?: string;
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
