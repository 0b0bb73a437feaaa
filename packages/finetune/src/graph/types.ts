import type { Node, Value, WeightKind } from '@shears/core';
import type { Tensor, TF, Variable } from '../backend.js';
import type { HVal, TVal, Val } from './values.js';

/** One weight of the model as a tfjs variable. */
export interface Param {
  /** Name of the IR value (initializer, or an Identity of one: see `untie`). */
  name: string;
  value: Value;
  role: WeightKind | 'elementwise';
  /** Logical (ONNX) dims. */
  dims: number[];
  /** Storage = transpose(logical, perm); null when stored as is. */
  perm: number[] | null;
  variable: Variable;
  trainable: boolean;
  /** The weight of a prunable op (per the op table): what unstructured re-pruning may touch. */
  prunable: boolean;
  /** BatchNormalization running mean/var: updated in train mode, not by the optimizer. */
  stat: boolean;
  /** 1 keep / 0 pruned, in storage layout; pruned weights stay exactly zero. */
  mask?: Tensor;
  /** Where the mask came from (for reports). */
  maskSource?: 'mask' | 'zeros' | 'schedule';
  /** The IR weight is the output of an Identity of a shared initializer; write-back gives it its own initializer. */
  untie?: Node;
}

/** A running-statistics update from a BatchNormalization in train mode. */
export interface StatUpdate {
  param: Param;
  value: Tensor;
}

/** What an op translation sees of its node. */
export interface OpCtx {
  readonly tf: TF;
  readonly node: Node;
  readonly opset: number;
  readonly training: boolean;
  /** BatchNormalization uses batch statistics and updates its running stats (train mode, not frozen). */
  readonly bnTrain: boolean;
  /** The pure-JS backends: use conv ops with Shears' own weight gradient. */
  readonly customGrad: boolean;
  /** The IR's static batch size of the model input, if any (for reshape fixes). */
  readonly irBatch: number | undefined;
  /** The batch size of this forward pass (dim 0 of the model input). */
  readonly batch: number;
  has(i: number): boolean;
  /** Whether input i depends on a trained weight (else no gradient needs to flow into it). */
  needsGrad(i: number): boolean;
  val(i: number): Val | undefined;
  /** Input i as a tensor value (host values and params converted). */
  tv(i: number): TVal;
  /** Input i as a tensor in logical (ONNX) order. */
  logical(i: number): Tensor;
  /** Rank-4 input i stored NHWC. */
  nhwc(i: number): Tensor;
  /** Input i when it is a host (JS) value. */
  host(i: number): HVal | undefined;
  /** Input i's numbers when it is a host value. */
  nums(i: number): number[] | undefined;
  /** The parameter behind input i, if it is a weight. */
  param(i: number): Param | undefined;
  /** Param i in its storage layout (the layout its first consumer asked for). */
  stored(i: number): Tensor;
  /** Record a BatchNormalization running-stat update (train mode). */
  statUpdate(u: StatUpdate): void;
  fail(message: string): never;
}

export type OpImpl = (c: OpCtx) => Val[];

export interface OpTranslation {
  impl: OpImpl;
  /**
   * The storage permutation a weight input should get (converted once, when
   * the variable is made), e.g. OIHW → HWIO for Conv.
   */
  layout?: (node: Node, input: number, dims: readonly number[]) => number[] | null;
}
