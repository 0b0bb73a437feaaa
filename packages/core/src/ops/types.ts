import type { DType } from '../ir/dtype.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Tensor } from '../ir/tensor.js';
import type { Dim } from '../ir/types.js';

/** Element type and (optional, possibly symbolic) shape of a tensor value. */
export interface TensorInfo {
  dtype: DType;
  /** undefined: rank unknown. Dims are numbers, symbols (strings) or null (unknown). */
  shape?: Dim[];
}

/**
 * A small tensor whose contents are known during inference. Elements are
 * numbers when known; int shape vectors may hold symbolic dims (strings) or
 * null (unknown), e.g. Shape(x) of x:[batch,3,224,224] is [ 'batch',3,224,224 ].
 * bool is 0/1; int64 is held as a JS number (exact below 2^53).
 */
export interface Known {
  dtype: DType;
  dims: number[];
  data: Dim[];
}

/** Result of running inference over a subgraph (If/Loop bodies). */
export interface SubgraphResult {
  outputs: (TensorInfo | undefined)[];
  known: (Known | undefined)[];
}

/** What a rule may ask about the node it is evaluated for. */
export interface OpContext {
  readonly node: Node;
  /** Opset of the node's domain in the model. */
  readonly opset: number;
  /** Number of input slots (omitted optional inputs count as absent). */
  readonly inputCount: number;
  /** The input slot is present (not omitted). */
  has(i: number): boolean;
  type(i: number): TensorInfo | undefined;
  dtype(i: number): DType | undefined;
  shape(i: number): Dim[] | undefined;
  /** Contents of input i when known and small (initializer, Constant or folded). */
  known(i: number): Known | undefined;
  /** Contents of input i as plain numbers when known and fully numeric. */
  ints(i: number): number[] | undefined;
  /** Largest element count a folded value may have. */
  readonly maxElements: number;
  /** A tensor's contents as a Known, if it is small enough to fold. */
  toKnown(t: Tensor): Known | undefined;
  /** Output i's shape after inference (for fold and MAC rules). */
  outputShape(i: number): Dim[] | undefined;
  /** Infer a subgraph (If/Loop body) whose formal inputs get `inputs`. */
  inferSubgraph(g: Graph, inputs: (TensorInfo | undefined)[]): SubgraphResult;
}

/** Output types, one per node output (undefined: unknown). */
export type ShapeRule = (ctx: OpContext) => (TensorInfo | undefined)[];
/** Constant evaluation; undefined (or undefined entries) when not foldable. */
export type FoldRule = (ctx: OpContext) => (Known | undefined)[] | undefined;
/** Multiply-accumulate count of one node from its inferred shapes. */
export type MacRule = (ctx: OpContext) => number | undefined;

export type WeightKind = 'weight' | 'bias' | 'scale' | 'mean' | 'var' | 'param';

/**
 * One weight-like input. outAxis/inAxis index the weight tensor itself:
 * outAxis is the axis that follows the op's output channels, inAxis the axis
 * that follows its input channels (grouped by groupsAttr when set).
 */
export interface WeightRole {
  input: number;
  role: WeightKind;
  outAxis?: number;
  inAxis?: number;
  groupsAttr?: string;
  /** A float attribute (default 1) the op multiplies this input by before use: Gemm's beta on C. */
  scaleAttr?: string;
}

/**
 * How channels flow through an op (for dependency-graph pruning):
 * - compute: output channels come from weights (Conv, Gemm, MatMul).
 * - unary: channel count and order preserved from input 0 (activations, BN, pools, Resize…).
 * - elementwise: all data inputs coupled on the channel axis after broadcasting.
 * - concat / split / slice / reshape / flatten / transpose / reduce / gather: structural.
 * - shape: reads only the input's shape, never its values (Shape, Size).
 * - source: no data inputs (Constant, ConstantOfShape, Range, random generators).
 * - opaque: anything else; blocks structured pruning through it.
 */
export type ChannelKind =
  | 'compute'
  | 'unary'
  | 'elementwise'
  | 'concat'
  | 'split'
  | 'slice'
  | 'reshape'
  | 'flatten'
  | 'transpose'
  | 'reduce'
  | 'gather'
  | 'shape'
  | 'source'
  | 'opaque';

/** Axis facts of one node, resolved (axes normalized to non-negative). */
export interface StructureInfo {
  /** concat/split/gather/flatten axis; softmax/LRN/norm mixing axis. */
  axis?: number;
  /** reduce/squeeze/unsqueeze/slice axes. */
  axes?: number[];
  /** transpose permutation. */
  perm?: number[];
  keepdims?: boolean;
  /** split sizes along axis. */
  split?: number[];
  starts?: number[];
  ends?: number[];
  steps?: number[];
}

export type NodePredicate = (node: Node) => boolean;

/** Where an op keeps one structural parameter: an input slot, or an attribute. */
export type ParamSlot = { input: number } | { attr: string };

/**
 * Structural parameters that structured pruning may have to rewrite (as new
 * constants) when the channels flowing through a node change:
 * - shape/sizes: a target shape (Reshape, Expand) or output sizes (Resize);
 *   entries on pruned axes get the new channel count (0, -1 and 1 are kept).
 * - starts/ends/axes/steps: Slice; split: Split sizes.
 * - scales/roi/pads/repeats: kept as they are (only frozen when computed).
 */
export type StructureParam = 'shape' | 'sizes' | 'starts' | 'ends' | 'axes' | 'steps' | 'split' | 'scales' | 'roi' | 'pads' | 'repeats';

export interface ParamSlots {
  slots: Partial<Record<StructureParam, ParamSlot>>;
  /** Attributes to drop when a parameter is written (e.g. Split's num_outputs). */
  drop?: string[];
  /** A 0 in the `shape` parameter copies the input's dim at the same index (Reshape without allowzero). */
  zeroCopies?: NodePredicate;
}

/**
 * What a compute op does after its affine part (com.microsoft FusedConv,
 * FusedGemm). Absent on plain ops: Y = W·X + B.
 */
export interface Epilogue {
  /** The fused activation ('' when none). */
  activation: string;
  /** activation(0) = 0: a channel with zero weights, bias and sum stays zero. */
  zeroPreserving: boolean;
  /** Data inputs added to the output channels before the activation (FusedConv's Z): coupled with them like an Add's operands. */
  sum: number[];
}

export interface OpSpec {
  opType: string;
  /** '' is the ONNX default domain ('ai.onnx' is normalized to ''). */
  domain: string;
  /** First opset this spec applies to. */
  since: number;
  /** Last opset (inclusive) this spec applies to; open-ended when absent. */
  until?: number;
  weights?: WeightRole[] | ((node: Node) => WeightRole[]);
  channel: ChannelKind;
  /** Inputs that carry activations; default 'all' for elementwise/concat, [] for source, else [0]. */
  dataInputs?: number[] | 'all';
  /** Activation axis that carries channels (negative counts from the end); default 1 (NCHW). */
  channelAxis?: number | ((node: Node) => number);
  /** Axis of data input 0 whose channels a compute op consumes (its weights' inAxis); default channelAxis. */
  inputChannelAxis?: number | ((node: Node) => number);
  /** Output 0 is input 0 unchanged (Identity, Dropout at inference), so a constant seen through it is still a constant. */
  identity?: boolean;
  /** Any all-zero data input makes the output zero (Mul, And): stronger than zeroPreserving. */
  zeroAbsorbing?: boolean;
  /** Where the op's structural parameters live at an opset (see StructureParam). */
  params?: (opset: number) => ParamSlots;
  /** The op mixes values across its `structure().axis` (Softmax, LRN, LayerNorm…). */
  crossChannel?: boolean;
  /**
   * Output 0 is a probability distribution along the op's axis (Softmax,
   * Hardmax). A weighted layer reading it directly is a fixed read-out (YOLO's
   * DFL: the expected box offset over 16 bins, weights 0..15), so pruning
   * leaves its weights dense.
   */
  distribution?: boolean;
  /** Compute ops: the fused activation and residual sum after the affine part, per node (see Epilogue). */
  epilogue?: (node: Node) => Epilogue;
  /** f(0)=0: all-zero inputs give an all-zero output (needed for compaction). */
  zeroPreserving?: boolean | NodePredicate;
  /** Weight-bearing op that unstructured pruning may sparsify. */
  prunable?: boolean | NodePredicate;
  infer?: ShapeRule;
  fold?: FoldRule;
  macs?: MacRule;
  structure?: (ctx: OpContext) => StructureInfo | undefined;
}
