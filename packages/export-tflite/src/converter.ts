import { constTensorOf, paramSlotsOf, ShearsError, type DType, type InferResult, type Model, type Node, type StructureInfo, type StructureParam, type Tensor, type TypedArray, type Value } from '@shears/core';
import { encodeSparse, fitsHalf, sparseIndexBytes, toHalfArray, zeroFraction } from './encode.js';
import { identity, isIdentity, lazyTranspose, materialize, onlyUnitAxesMove, physicalShape, samePerm, transposeBetween, transposeData, type LazyFloats } from './layout.js';
import type { ActivationName, OpName, OpOptions, TensorTypeName } from './schema.js';
import { TflGraph } from './writer.js';

export interface ConvertOptions {
  /** Store float weights as float16, each behind a DEQUANTIZE op (as MediaPipe models do). */
  fp16?: boolean;
  /** Store sparse weights in TFLite's sparse encoding behind DENSIFY ops. */
  sparse?: boolean;
  /** Least fraction of zeros for a weight to be stored sparse (default 2/3, XNNPACK's rule). */
  sparseMinZeros?: number;
  /**
   * Which weights may be stored sparse: 'xnnpack' follows XNNPACK's sparse
   * inference (1×1 convolutions, and a 3×3 stride-2 first convolution);
   * 'all' takes any convolution or fully connected weight.
   */
  sparseScope?: 'xnnpack' | 'all';
  /** Model inputs and outputs of rank 4 are NHWC instead of keeping the ONNX NCHW semantics. */
  nhwcIo?: boolean;
  /** Grouped (non-depthwise) convolutions as SPLIT + CONV_2D + CONCATENATION ('split'), or one grouped CONV_2D ('native'). */
  groupedConv?: 'split' | 'native';
}

/** Where a converted ONNX value lives: a TFLite tensor stored with a layout permutation. */
export interface Slot {
  tensor: number;
  /** Physical axis i holds semantic axis perm[i]. */
  perm: number[];
  /**
   * For a flattened [rows, K] value whose only consumers are fully connected
   * layers: stored feature k is semantic feature featureOrder[k]. The layers
   * permute their weights instead of the activations being transposed.
   */
  featureOrder?: Int32Array;
}

export interface SparseRecord {
  tensor: string;
  zeros: number;
  denseBytes: number;
  sparseBytes: number;
}

const TYPE_OF: Partial<Record<DType, TensorTypeName>> = {
  float32: 'FLOAT32',
  float16: 'FLOAT16',
  int32: 'INT32',
  int64: 'INT32', // int64 is narrowed to int32 where safe (constants) or refused
  uint8: 'UINT8',
  int8: 'INT8',
  int16: 'INT16',
  bool: 'BOOL',
};

/**
 * Converter state over one model: ONNX values → TFLite tensors and layouts,
 * cached re-layouts and constants, emitted ops. Per-op conversion lives in the
 * op table (ops.ts); this class only offers the building blocks.
 */
export class Converter {
  readonly g = new TflGraph();
  readonly slots = new Map<Value, Slot>();
  readonly opCounts: Record<string, number> = {};
  readonly warnings: string[] = [];
  readonly sparseRecords: SparseRecord[] = [];
  /** Nodes that an earlier node's conversion absorbed (a bias Add, …). */
  readonly consumed = new Set<Node>();
  fp16Tensors = 0;
  /** Bytes of float weights in dense float32 (what the file would hold without --fp16/--sparse). */
  denseWeightBytes = 0;
  /** Bytes those weights take as stored (float16, sparse values and indices). */
  storedWeightBytes = 0;
  readonly #relayouts = new Map<number, Map<string, number>>();
  readonly #consts = new Map<Value, Map<string, number>>();
  readonly #fusable = new Map<Value, number[]>();
  readonly #graphOutputs: Set<Value>;
  /** The first convolution in the graph (XNNPACK's sparse rule treats it specially). */
  firstConv: Node | undefined;

  constructor(
    readonly model: Model,
    readonly opts: ConvertOptions,
    readonly inference: InferResult,
  ) {
    this.#graphOutputs = new Set(model.graph.outputs);
    this.firstConv = model.graph.nodes.find((n) => n.opType === 'Conv');
  }

  // ---- what the core op table knows about a node ----

  /** Resolved axes/perm/split/slice facts of a node (the core op table's structure rule). */
  structure(node: Node): StructureInfo | undefined {
    return this.inference.specOf(node)?.structure?.(this.inference.contextOf(node));
  }

  /** A structural parameter (pads, axes…) read from where the core op table says it lives at this opset. */
  param(node: Node, name: StructureParam): number[] | undefined {
    const spec = this.inference.specOf(node);
    if (!spec) return undefined;
    const ctx = this.inference.contextOf(node);
    const slot = paramSlotsOf(spec, ctx.opset).slots[name];
    if (!slot) return undefined;
    return 'attr' in slot ? node.attrInts(slot.attr) : ctx.ints(slot.input);
  }

  get opset(): number {
    return this.model.opset('') ?? 1;
  }

  // ---- values ----

  /** Static semantic shape of a value (inference ran with static inputs). */
  shape(v: Value): number[] {
    const s = v.shape;
    if (!s || !s.every((d) => typeof d === 'number' && d >= 0)) {
      const by = v.producer ? ` (output of node ${v.producer.label})` : '';
      throw new ShearsError('E_SHAPE', `tflite: value ${v.name}${by} has no static shape [${(s ?? []).map(String).join(',')}]; give static input shapes with --input-shape`, { node: v.producer?.label });
    }
    return s as number[];
  }

  rank(v: Value): number {
    return this.shape(v).length;
  }

  dtype(v: Value): DType {
    return v.dtype ?? 'float32';
  }

  /** The constant behind a value: an initializer or Constant, also seen through Identity (shared weights). */
  constOf(v: Value | null | undefined): Tensor | undefined {
    while (v && !v.constValue && v.producer?.opType === 'Identity' && v.producer.domain === '') v = v.producer.input(0);
    return constTensorOf(v);
  }

  isGraphOutput(v: Value): boolean {
    return this.#graphOutputs.has(v);
  }

  /** The only consumer of v, when it has exactly one and is not a graph output. */
  soleUse(v: Value): Node | undefined {
    const uses = v.uses();
    return uses.length === 1 && !this.isGraphOutput(v) ? uses[0]!.node : undefined;
  }

  /** Where a non-constant value lives (its current layout). Constants get an identity-layout tensor. */
  slot(v: Value): Slot {
    const s = this.slots.get(v);
    if (s) return s;
    if (this.constOf(v)) return { tensor: this.constant(v, identity(this.constOf(v)!.dims.length)), perm: identity(this.constOf(v)!.dims.length) };
    throw new ShearsError('E_INTERNAL', `tflite: value ${v.name} was used before it was converted`);
  }

  /** v stored with layout `perm`: constants are laid out so, activations re-laid (cached). */
  at(v: Value, perm: readonly number[]): number {
    if (this.constOf(v) && !this.slots.has(v)) return this.constant(v, perm);
    const s = this.slot(v);
    return this.relayout(s, this.shape(v), perm, v.name);
  }

  relayout(s: Slot, shape: readonly number[], perm: readonly number[], name: string): number {
    if (samePerm(s.perm, perm)) return s.tensor;
    if (s.featureOrder) throw new ShearsError('E_INTERNAL', `tflite: ${name} carries a folded flatten order and cannot be re-laid`);
    const key = perm.join(',');
    let cache = this.#relayouts.get(s.tensor);
    const hit = cache?.get(key);
    if (hit !== undefined) return hit;
    const phys = physicalShape(shape, perm);
    const out = this.g.addTensor({ shape: phys, type: this.g.tensors[s.tensor]!.type, name: `${name}_${layoutName(perm)}` });
    if (onlyUnitAxesMove(shape, s.perm, perm)) this.op('RESHAPE', [s.tensor, this.i32(phys)], [out], { type: 'ReshapeOptions', values: { new_shape: phys } });
    else this.op('TRANSPOSE', [s.tensor, this.i32(transposeBetween(s.perm, perm))], [out]);
    if (!cache) this.#relayouts.set(s.tensor, (cache = new Map()));
    cache.set(key, out);
    return out;
  }

  define(v: Value, tensor: number, perm: readonly number[], extra: Partial<Slot> = {}): void {
    this.slots.set(v, { tensor, perm: [...perm], ...extra });
  }

  /** A new tensor for ONNX value v stored with `perm`, defined as v's slot. */
  output(v: Value, perm: readonly number[], dtype: DType = this.dtype(v)): number {
    const t = this.g.addTensor({ shape: physicalShape(this.shape(v), perm), type: tflType(dtype, v.name), name: v.name });
    this.define(v, t, perm);
    return t;
  }

  /** A scratch tensor (intermediate of a multi-op lowering). */
  temp(name: string, physShape: readonly number[], type: TensorTypeName = 'FLOAT32'): number {
    return this.g.addTensor({ shape: [...physShape], type, name });
  }

  op(op: OpName, inputs: number[], outputs: number[], options?: OpOptions): number {
    this.opCounts[op] = (this.opCounts[op] ?? 0) + 1;
    return this.g.addOperator({ op, inputs, outputs, options });
  }

  // ---- fused activations ----

  /** Record that the ops `ops` produce v and take a fused activation. */
  fusable(v: Value, ops: number[]): void {
    this.#fusable.set(v, ops);
  }

  /**
   * Fuse activation `act` of `node` (input x) into x's producer when x has no
   * other use: then node's output is x's tensor. Returns whether it fused.
   */
  tryFuse(node: Node, act: ActivationName): boolean {
    const x = node.input(0)!;
    const ops = this.#fusable.get(x);
    if (!ops || this.soleUse(x) !== node) return false;
    const operators = ops.map((i) => this.g.operators[i]!);
    if (!operators.every((o) => o.options && !o.options.values.fused_activation_function)) return false;
    for (const o of operators) o.options!.values.fused_activation_function = ACTIVATION_CODE[act];
    const s = this.slot(x);
    this.slots.set(node.outputs[0]!, s);
    this.#fusable.set(node.outputs[0]!, ops);
    // The tensor now holds the activated values: name it after them.
    if (ops.length === 1) this.g.rename(s.tensor, node.outputs[0]!.name);
    this.fusedActivations++;
    return true;
  }
  fusedActivations = 0;

  // ---- constants ----

  i32(values: readonly number[], name = 'const'): number {
    return this.g.addTensor({ shape: [values.length], type: 'INT32', name: `${name}_i32`, data: bytesOf(Int32Array.from(values)) });
  }

  i32Scalar(value: number, name = 'const'): number {
    return this.g.addTensor({ shape: [], type: 'INT32', name: `${name}_i32`, data: bytesOf(Int32Array.of(value)) });
  }

  f32(values: Float32Array | LazyFloats, physShape: readonly number[], name: string): number {
    return this.g.addTensor({ shape: [...physShape], type: 'FLOAT32', name, data: values instanceof Float32Array ? bytesOf(values) : lazyBytes(values) });
  }

  /**
   * A constant ONNX value stored with `perm`. Lower-rank constants are first
   * broadcast-aligned to perm's rank (leading 1s). Float constants go through
   * weight() (fp16 when asked); int64 is narrowed to int32 or refused.
   */
  constant(v: Value, perm: readonly number[]): number {
    const key = perm.join(',');
    let cache = this.#consts.get(v);
    const hit = cache?.get(key);
    if (hit !== undefined) return hit;
    const t = this.constOf(v)!;
    const dims = [...new Array<number>(Math.max(0, perm.length - t.dims.length)).fill(1), ...t.dims];
    if (dims.length !== perm.length) throw new ShearsError('E_INTERNAL', `tflite: constant ${v.name} of rank ${t.dims.length} laid out with rank ${perm.length}`);
    const phys = physicalShape(dims, perm);
    let index: number;
    if (t.dtype === 'float32') {
      index = this.weight(isIdentity(perm) ? t.floats() : lazyTranspose(t.floats(), dims, perm), phys, v.name || 'const', { elementwise: true });
    } else {
      const src = this.narrow(t, v.name);
      const data = isIdentity(perm) ? src : transposeData(src as Int32Array, dims, perm, new (src.constructor as Int32ArrayConstructor)(src.length));
      index = this.g.addTensor({ shape: phys, type: tflType(t.dtype === 'int64' ? 'int32' : t.dtype, v.name), name: v.name || 'const', data: bytesOf(data) });
    }
    if (!cache) this.#consts.set(v, (cache = new Map()));
    cache.set(key, index);
    return index;
  }

  /** Non-float constant data in a TFLite-storable form (int64 → int32 when every value fits). */
  narrow(t: Tensor, name: string): TypedArray {
    if (t.dtype !== 'int64') {
      if (!TYPE_OF[t.dtype]) throw new ShearsError('E_DTYPE', `tflite: constant ${name} is ${t.dtype}, which TFLite export does not store`);
      return t.values;
    }
    const src = t.values as BigInt64Array;
    const out = new Int32Array(src.length);
    for (let i = 0; i < src.length; i++) {
      const x = src[i]!;
      if (x > 2147483647n || x < -2147483648n) throw new ShearsError('E_DTYPE', `tflite: int64 constant ${name} holds ${x}, outside int32; TFLite export narrows int64 to int32 only where every value fits`);
      out[i] = Number(x);
    }
    return out;
  }

  /**
   * A float weight with physical shape `phys`, returned as the index of a
   * float32 tensor ops can read. With fp16 it is stored as float16 behind a
   * DEQUANTIZE; with sparse (and `sparseCandidate`) in TFLite's sparse
   * encoding behind a DENSIFY.
   */
  weight(src: Float32Array | LazyFloats, phys: readonly number[], name: string, opts: { sparseCandidate?: boolean; elementwise?: boolean; float32?: boolean } = {}): number {
    const shape = [...phys];
    this.denseWeightBytes += src.length * 4;
    const before = this.g.weightBytes;
    const index = this.#weight(src, shape, name, opts);
    this.storedWeightBytes += this.g.weightBytes - before;
    return index;
  }

  #weight(src: Float32Array | LazyFloats, shape: number[], name: string, opts: { sparseCandidate?: boolean; float32?: boolean }): number {
    if ((!this.opts.fp16 || opts.float32) && !(opts.sparseCandidate && this.opts.sparse)) return this.f32(src, shape, name);
    const data = materialize(src);
    const half = this.opts.fp16 && !opts.float32 && data.length > 1 && fitsHalf(data);
    if (this.opts.fp16 && !opts.float32 && data.length > 1 && !half) this.warnings.push(`${name}: values beyond float16 range; kept float32`);
    const minZeros = this.opts.sparseMinZeros ?? 2 / 3;
    const zeros = opts.sparseCandidate && this.opts.sparse ? zeroFraction(data) : 0;
    if (opts.sparseCandidate && this.opts.sparse && zeros >= minZeros) {
      const { sparsity, values } = encodeSparse(data, shape);
      const stored = half ? bytesOf(toHalfArray(values)) : bytesOf(values);
      const type: TensorTypeName = half ? 'FLOAT16' : 'FLOAT32';
      const sparse = this.g.addTensor({ shape, type, name: `${name}_sparse`, data: stored, sparsity });
      const dense = this.temp(`${name}_dense`, shape, type);
      this.op('DENSIFY', [sparse], [dense], { type: 'DensifyOptions', values: {} });
      const indexBytes = sparseIndexBytes(sparsity);
      this.sparseRecords.push({ tensor: name, zeros, denseBytes: data.byteLength / (half ? 2 : 1), sparseBytes: stored.byteLength + indexBytes });
      if (!half) return dense;
      this.fp16Tensors++;
      const f = this.temp(name, shape);
      this.op('DEQUANTIZE', [dense], [f], { type: 'DequantizeOptions', values: {} });
      return f;
    }
    if (half) {
      this.fp16Tensors++;
      const h = this.g.addTensor({ shape, type: 'FLOAT16', name: `${name}_fp16`, data: bytesOf(toHalfArray(data)) });
      const f = this.temp(name, shape);
      this.op('DEQUANTIZE', [h], [f], { type: 'DequantizeOptions', values: {} });
      return f;
    }
    return this.f32(data, shape, name);
  }
}

export const ACTIVATION_CODE: Record<ActivationName, number> = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 };

export function tflType(dtype: DType, name: string): TensorTypeName {
  const t = TYPE_OF[dtype];
  if (!t) throw new ShearsError('E_DTYPE', `tflite: ${name} is ${dtype}, which has no TFLite tensor type here`);
  return t;
}

/** A buffer that fills itself in place, as float32 (via a temporary when the place is misaligned). */
function lazyBytes(x: LazyFloats): { byteLength: number; write(dst: Uint8Array): void } {
  return {
    byteLength: x.length * 4,
    write(dst) {
      if (dst.byteOffset % 4 === 0) x.fill(new Float32Array(dst.buffer, dst.byteOffset, x.length));
      else dst.set(bytesOf(materialize(x)));
    },
  };
}

export function bytesOf(a: TypedArray | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function layoutName(perm: readonly number[]): string {
  if (perm.length === 4 && samePerm(perm, [0, 2, 3, 1])) return 'nhwc';
  if (isIdentity(perm)) return 'onnx';
  return `p${perm.join('')}`;
}
