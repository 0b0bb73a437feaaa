import { Builder } from 'flatbuffers';
import {
  BuiltinOperator,
  DimensionType,
  OPTION_FIELDS,
  PLACEHOLDER_FOR_GREATER_OP_CODES,
  SLOTS,
  SparseIndexVector,
  TensorType,
  TFLITE_FILE_IDENTIFIER,
  TFLITE_SCHEMA_VERSION,
  type OpName,
  type OpOptions,
  type TensorTypeName,
} from './schema.js';

/** Buffers start on 16-byte boundaries (what the converter and mmap'ing runtimes expect). */
export const BUFFER_ALIGNMENT = 16;

/** One dimension of a sparse tensor's traversal: dense, or CSR with segments and indices. */
export type SparseDim = { format: 'dense'; denseSize: number } | { format: 'csr'; segments: Int32Array; indices: Int32Array };

export interface Sparsity {
  traversalOrder: number[];
  dims: SparseDim[];
}

/** Buffer contents: bytes, or a writer that fills its final place in the file (no extra copy). */
export type BufferData = Uint8Array | { readonly byteLength: number; write(dst: Uint8Array): void };

export interface TflTensor {
  shape: number[];
  type: TensorTypeName;
  /** Index into buffers; 0 for tensors without data. */
  buffer: number;
  name: string;
  sparsity?: Sparsity;
}

export interface TflOperator {
  op: OpName;
  inputs: number[];
  outputs: number[];
  options?: OpOptions;
}

/**
 * A single-subgraph TFLite model under construction. Buffer 0 is the empty
 * sentinel every TFLite file has; tensors without data point at it.
 */
export class TflGraph {
  readonly tensors: TflTensor[] = [];
  readonly buffers: (BufferData | null)[] = [null];
  readonly operators: TflOperator[] = [];
  inputs: number[] = [];
  outputs: number[] = [];
  description = 'Shears';
  readonly #names = new Set<string>();

  #bytes = 0;

  addBuffer(data: BufferData): number {
    this.#bytes += data.byteLength;
    this.buffers.push(data);
    return this.buffers.length - 1;
  }

  /** Add a tensor; its name is made unique. Returns its index. */
  addTensor(t: Omit<TflTensor, 'buffer'> & { buffer?: number; data?: BufferData }): number {
    let name = t.name || `t${this.tensors.length}`;
    if (this.#names.has(name)) {
      let k = 1;
      while (this.#names.has(`${name}_${k}`)) k++;
      name = `${name}_${k}`;
    }
    this.#names.add(name);
    const buffer = t.data ? this.addBuffer(t.data) : (t.buffer ?? 0);
    this.tensors.push({ shape: t.shape, type: t.type, buffer, name, sparsity: t.sparsity });
    return this.tensors.length - 1;
  }

  /** Rename a tensor (e.g. to give a graph output its ONNX name). */
  rename(index: number, name: string): void {
    const t = this.tensors[index]!;
    if (t.name === name) return;
    if (this.#names.has(name)) {
      // Move the other holder of the name aside.
      const other = this.tensors.findIndex((x) => x.name === name);
      if (other >= 0) this.rename(other, `${name}_internal`);
    }
    this.#names.delete(t.name);
    this.#names.add(name);
    t.name = name;
  }

  addOperator(op: TflOperator): number {
    this.operators.push(op);
    return this.operators.length - 1;
  }

  /** Bytes of all buffers (the weights). */
  get weightBytes(): number {
    return this.#bytes;
  }
}

/**
 * A flatbuffers Builder with the vector helpers the tables need. Flatbuffers
 * are built back to front: children (vectors, strings, sub-tables) before the
 * table that points at them, and vector elements in reverse.
 */
class FlatWriter {
  readonly b: Builder;

  constructor(capacity: number) {
    this.b = new Builder(capacity);
  }

  i32Vector(xs: ArrayLike<number>): number {
    const b = this.b;
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt32(xs[i]!);
    return b.endVector();
  }

  u16Vector(xs: ArrayLike<number>): number {
    const b = this.b;
    b.startVector(2, xs.length, 2);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt16(xs[i]!);
    return b.endVector();
  }

  u8Vector(xs: ArrayLike<number>): number {
    const b = this.b;
    b.startVector(1, xs.length, 1);
    for (let i = xs.length - 1; i >= 0; i--) b.addInt8(xs[i]!);
    return b.endVector();
  }

  offsetVector(xs: number[]): number {
    const b = this.b;
    b.startVector(4, xs.length, 4);
    for (let i = xs.length - 1; i >= 0; i--) b.addOffset(xs[i]!);
    return b.endVector();
  }

  /** A byte vector on a BUFFER_ALIGNMENT boundary, written straight into the builder's memory. */
  alignedBytes(data: BufferData): number {
    const b = this.b;
    const raw = b as unknown as { space: number; bb: { bytes(): Uint8Array } };
    b.startVector(1, data.byteLength, BUFFER_ALIGNMENT);
    raw.space -= data.byteLength;
    const all = raw.bb.bytes();
    if (data instanceof Uint8Array) all.set(data, raw.space);
    else data.write(all.subarray(raw.space, raw.space + data.byteLength));
    return b.endVector();
  }
}

/** Serialize to a .tflite flatbuffer (schema v3, identifier TFL3), buffers 16-byte aligned. */
export function serialize(g: TflGraph): Uint8Array {
  // Size the builder for the weights up front: no regrowth copies for large models.
  const estimate = g.weightBytes + g.buffers.length * (BUFFER_ALIGNMENT + 16) + g.tensors.length * 160 + g.operators.length * 128 + 4096;
  // A capacity that is a multiple of the alignment keeps buffers aligned from the file start too.
  const w = new FlatWriter(Math.min(2 ** 31 - 16, Math.ceil(estimate / BUFFER_ALIGNMENT) * BUFFER_ALIGNMENT));
  // Buffers first: the big data goes to the end of the file.
  const buffers = writeBuffers(w, g);
  const tensors = g.tensors.map((t) => writeTensor(w, t));
  const { codes, codeIndex } = writeOperatorCodes(w, g);
  const operators = g.operators.map((op) => writeOperator(w, op, codeIndex));
  const subgraph = writeSubgraph(w, g, tensors, operators);
  const signature = writeSignature(w, g);
  const model = writeModel(w, g, { codes, subgraph, buffers, signature });
  w.b.finish(model, TFLITE_FILE_IDENTIFIER);
  return w.b.asUint8Array();
}

/** Buffer tables: buffer 0 (and any empty one) without data, the rest with their aligned bytes. */
function writeBuffers(w: FlatWriter, g: TflGraph): number[] {
  const b = w.b;
  const data = g.buffers.map((d) => (d && d.byteLength > 0 ? w.alignedBytes(d) : 0));
  return data.map((offset) => {
    b.startObject(SLOTS.Buffer.count);
    if (offset) b.addFieldOffset(SLOTS.Buffer.data, offset, 0);
    return b.endObject();
  });
}

/** One Tensor table: shape, type, buffer index, name, and sparsity for sparse weights. */
function writeTensor(w: FlatWriter, t: TflTensor): number {
  const b = w.b;
  const shape = w.i32Vector(t.shape);
  const name = b.createString(t.name);
  const sparsity = t.sparsity ? writeSparsity(w, t.sparsity) : 0;
  b.startObject(SLOTS.Tensor.count);
  b.addFieldOffset(SLOTS.Tensor.shape, shape, 0);
  b.addFieldInt8(SLOTS.Tensor.type, TensorType[t.type], 0);
  b.addFieldInt32(SLOTS.Tensor.buffer, t.buffer, 0);
  b.addFieldOffset(SLOTS.Tensor.name, name, 0);
  if (sparsity) b.addFieldOffset(SLOTS.Tensor.sparsity, sparsity, 0);
  return b.endObject();
}

/** A SparsityParameters table: traversal order and one DimensionMetadata per dim (dense, or CSR segments and indices). */
function writeSparsity(w: FlatWriter, s: Sparsity): number {
  const b = w.b;
  const order = w.i32Vector(s.traversalOrder);
  const dims = s.dims.map((d) => {
    if (d.format === 'dense') {
      b.startObject(SLOTS.DimensionMetadata.count);
      b.addFieldInt8(SLOTS.DimensionMetadata.format, DimensionType.DENSE, 0);
      b.addFieldInt32(SLOTS.DimensionMetadata.dense_size, d.denseSize, 0);
      return b.endObject();
    }
    const [segType, seg] = writeIndexVector(w, d.segments);
    const [idxType, idx] = writeIndexVector(w, d.indices);
    b.startObject(SLOTS.DimensionMetadata.count);
    b.addFieldInt8(SLOTS.DimensionMetadata.format, DimensionType.SPARSE_CSR, 0);
    b.addFieldInt8(SLOTS.DimensionMetadata.array_segments_type, segType, 0);
    b.addFieldOffset(SLOTS.DimensionMetadata.array_segments, seg, 0);
    b.addFieldInt8(SLOTS.DimensionMetadata.array_indices_type, idxType, 0);
    b.addFieldOffset(SLOTS.DimensionMetadata.array_indices, idx, 0);
    return b.endObject();
  });
  const dimVec = w.offsetVector(dims);
  b.startObject(SLOTS.SparsityParameters.count);
  b.addFieldOffset(SLOTS.SparsityParameters.traversal_order, order, 0);
  b.addFieldOffset(SLOTS.SparsityParameters.dim_metadata, dimVec, 0);
  return b.endObject();
}

/** The narrowest index vector (uint8, uint16, int32) that holds every value: its union type and table. */
function writeIndexVector(w: FlatWriter, xs: Int32Array): [number, number] {
  let max = 0;
  for (const x of xs) if (x > max) max = x;
  const [type, values] = max < 256 ? [SparseIndexVector.Uint8Vector, w.u8Vector(xs)] : max < 65536 ? [SparseIndexVector.Uint16Vector, w.u16Vector(xs)] : [SparseIndexVector.Int32Vector, w.i32Vector(xs)];
  w.b.startObject(SLOTS.IndexVector.count);
  w.b.addFieldOffset(SLOTS.IndexVector.values, values, 0);
  return [type, w.b.endObject()];
}

/** OperatorCode tables, one per distinct op in first-use order, and each op's index among them. */
function writeOperatorCodes(w: FlatWriter, g: TflGraph): { codes: number[]; codeIndex: Map<OpName, number> } {
  const b = w.b;
  const codeIndex = new Map<OpName, number>();
  for (const op of g.operators) if (!codeIndex.has(op.op)) codeIndex.set(op.op, codeIndex.size);
  const codes = [...codeIndex.keys()].map((name) => {
    const code = BuiltinOperator[name];
    b.startObject(SLOTS.OperatorCode.count);
    b.addFieldInt8(SLOTS.OperatorCode.deprecated_builtin_code, Math.min(code, PLACEHOLDER_FOR_GREATER_OP_CODES), 0);
    b.addFieldInt32(SLOTS.OperatorCode.version, 1, 0);
    b.addFieldInt32(SLOTS.OperatorCode.builtin_code, code, 0);
    return b.endObject();
  });
  return { codes, codeIndex };
}

/** One Operator table: opcode index, input and output tensors, and its builtin options. */
function writeOperator(w: FlatWriter, op: TflOperator, codeIndex: Map<OpName, number>): number {
  const b = w.b;
  const inputs = w.i32Vector(op.inputs);
  const outputs = w.i32Vector(op.outputs);
  const options = op.options ? writeOptions(w, op.options) : 0;
  b.startObject(SLOTS.Operator.count);
  b.addFieldInt32(SLOTS.Operator.opcode_index, codeIndex.get(op.op)!, 0);
  b.addFieldOffset(SLOTS.Operator.inputs, inputs, 0);
  b.addFieldOffset(SLOTS.Operator.outputs, outputs, 0);
  if (op.options) {
    b.addFieldInt8(SLOTS.Operator.builtin_options_type, OPTION_FIELDS[op.options.type].union, 0);
    b.addFieldOffset(SLOTS.Operator.builtin_options, options, 0);
  }
  return b.endObject();
}

/** A builtin-options table from the schema's field list; throws on a field the options type does not have. */
function writeOptions(w: FlatWriter, o: OpOptions): number {
  const b = w.b;
  const spec = OPTION_FIELDS[o.type];
  const vectors = new Map<string, number>();
  for (const [name, [, kind]] of Object.entries(spec.fields)) {
    const v = o.values[name];
    if (kind === 'i32[]' && v !== undefined) vectors.set(name, w.i32Vector(v as number[]));
  }
  const slots = Object.values(spec.fields).reduce((m, [slot]) => Math.max(m, slot + 1), 0);
  b.startObject(slots);
  for (const [name, [slot, kind, dflt = 0]] of Object.entries(spec.fields)) {
    const v = o.values[name];
    if (v === undefined) continue;
    switch (kind) {
      case 'bool':
        b.addFieldInt8(slot, v ? 1 : 0, 0);
        break;
      case 'i8':
        b.addFieldInt8(slot, v as number, dflt);
        break;
      case 'i32':
        b.addFieldInt32(slot, v as number, dflt);
        break;
      case 'f32':
        b.addFieldFloat32(slot, v as number, dflt);
        break;
      case 'i32[]':
        b.addFieldOffset(slot, vectors.get(name)!, 0);
        break;
    }
  }
  for (const name of Object.keys(o.values)) if (!(name in spec.fields)) throw new Error(`${o.type} has no field ${name}`);
  return b.endObject();
}

/** The one SubGraph table ("main"): tensors, inputs, outputs and operators. */
function writeSubgraph(w: FlatWriter, g: TflGraph, tensors: number[], operators: number[]): number {
  const b = w.b;
  const name = b.createString('main');
  const tensorsVec = w.offsetVector(tensors);
  const inputsVec = w.i32Vector(g.inputs);
  const outputsVec = w.i32Vector(g.outputs);
  const opsVec = w.offsetVector(operators);
  b.startObject(SLOTS.SubGraph.count);
  b.addFieldOffset(SLOTS.SubGraph.tensors, tensorsVec, 0);
  b.addFieldOffset(SLOTS.SubGraph.inputs, inputsVec, 0);
  b.addFieldOffset(SLOTS.SubGraph.outputs, outputsVec, 0);
  b.addFieldOffset(SLOTS.SubGraph.operators, opsVec, 0);
  b.addFieldOffset(SLOTS.SubGraph.name, name, 0);
  return b.endObject();
}

/** One SignatureDef ("serving_default") naming the inputs and outputs, as converters write. */
function writeSignature(w: FlatWriter, g: TflGraph): number {
  const b = w.b;
  const tensorMaps = (ids: number[]) =>
    w.offsetVector(
      ids.map((id) => {
        const name = b.createString(g.tensors[id]!.name);
        b.startObject(SLOTS.TensorMap.count);
        b.addFieldOffset(SLOTS.TensorMap.name, name, 0);
        b.addFieldInt32(SLOTS.TensorMap.tensor_index, id, 0);
        return b.endObject();
      }),
    );
  const inputs = tensorMaps(g.inputs);
  const outputs = tensorMaps(g.outputs);
  const key = b.createString('serving_default');
  b.startObject(SLOTS.SignatureDef.count);
  b.addFieldOffset(SLOTS.SignatureDef.inputs, inputs, 0);
  b.addFieldOffset(SLOTS.SignatureDef.outputs, outputs, 0);
  b.addFieldOffset(SLOTS.SignatureDef.signature_key, key, 0);
  b.addFieldInt32(SLOTS.SignatureDef.subgraph_index, 0, 0);
  return b.endObject();
}

/** The root Model table: schema version, operator codes, the subgraph, description, buffers and the signature. */
function writeModel(w: FlatWriter, g: TflGraph, parts: { codes: number[]; subgraph: number; buffers: number[]; signature: number }): number {
  const b = w.b;
  const codesVec = w.offsetVector(parts.codes);
  const subgraphsVec = w.offsetVector([parts.subgraph]);
  const description = b.createString(g.description);
  const buffersVec = w.offsetVector(parts.buffers);
  const sigVec = w.offsetVector([parts.signature]);
  b.startObject(SLOTS.Model.count);
  b.addFieldInt32(SLOTS.Model.version, TFLITE_SCHEMA_VERSION, 0);
  b.addFieldOffset(SLOTS.Model.operator_codes, codesVec, 0);
  b.addFieldOffset(SLOTS.Model.subgraphs, subgraphsVec, 0);
  b.addFieldOffset(SLOTS.Model.description, description, 0);
  b.addFieldOffset(SLOTS.Model.buffers, buffersVec, 0);
  b.addFieldOffset(SLOTS.Model.signature_defs, sigVec, 0);
  return b.endObject();
}
