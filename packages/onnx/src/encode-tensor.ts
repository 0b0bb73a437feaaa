import { dtypeCode, ShearsError, type SparseTensor, type Tensor, type TypedArray } from '@shears/core';
import { resolve } from 'node:path';
import { Chunks, type Deferred, type Part } from './chunks.js';
import { quote } from './errors.js';
import { readExternalData } from './external-data.js';
import { int64Halves } from './int64.js';
import { onnx } from './proto.js';
import { isPresent, PRESENT, rawSources, unknownFields } from './side-tables.js';
import { putVarint64, varint64Size, WIRE_LEN, WIRE_VARINT } from './wire.js';

export interface ExternalTarget {
  location: string;
  sizeThreshold: number;
  /** Payloads of the external file, in order (with zero padding between). */
  parts: Part[];
  size: number;
}

const ZEROS = new Uint8Array(64 * 1024);

/** Where a tensor's bytes go in the external file: 64 KiB aligned from 1 MiB up (mmap friendly), else 64 bytes. */
function placeExternal(target: ExternalTarget, payload: Deferred): number {
  const align = payload.size >= 1 << 20 ? 64 * 1024 : 64;
  const pad = (align - (target.size % align)) % align;
  if (pad) target.parts.push(ZEROS.subarray(0, pad));
  const offset = target.size + pad;
  target.parts.push(payload);
  target.size = offset + payload.size;
  return offset;
}

/**
 * The tensor's raw little-endian bytes, produced at write time: the original
 * file bytes for tensors nobody loaded, external files read just then (and
 * not cached), else a view of the tensor's typed array.
 */
export function payloadOf(t: Tensor, file: string): Deferred {
  const size = t.byteLength;
  return {
    size,
    produce: () => {
      let bytes: Uint8Array | undefined;
      if (!t.loaded) {
        bytes = rawSources.get(t);
        const ext = t.external;
        if (!bytes && ext) bytes = readExternalData(file, t.name, resolve(ext.baseDir, ext.location), ext.offset, ext.length);
      }
      bytes ??= t.rawBytes();
      if (bytes.length !== size)
        throw new ShearsError('E_GRAPH', `tensor ${quote(t.name)}: data has ${bytes.length} bytes but ${t.dtype}[${t.dims.join(',')}] needs ${size}`);
      return bytes;
    },
  };
}

/** Packed varints of 32-bit values (negative ones sign-extended to 64 bits, as protobuf int32 does). */
function packed32(values: ArrayLike<number>, signed: boolean): Uint8Array {
  let size = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    size += signed && v < 0 ? 10 : varint64Size(v >>> 0, 0);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    pos = putVarint64(out, pos, v >>> 0, signed && v < 0 ? 0xffffffff : 0);
  }
  return out;
}

/** Packed varints of 64-bit values, read as 32-bit halves (no BigInt per element). */
function packed64(values: BigInt64Array | BigUint64Array): Uint8Array {
  const halves = new Uint32Array(values.buffer, values.byteOffset, values.length * 2);
  let size = 0;
  for (let i = 0; i < values.length; i++) size += varint64Size(halves[2 * i]!, halves[2 * i + 1]!);
  const out = new Uint8Array(size);
  let pos = 0;
  for (let i = 0; i < values.length; i++) pos = putVarint64(out, pos, halves[2 * i]!, halves[2 * i + 1]!);
  return out;
}

function bytesOf(a: TypedArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** The ONNX typed field (number, bytes) for a tensor kept in typed storage. */
function typedField(t: Tensor): [number, Uint8Array] | null {
  const d = t.values;
  if (d.byteLength !== t.byteLength)
    throw new ShearsError('E_GRAPH', `tensor ${quote(t.name)}: data has ${d.byteLength} bytes but ${t.dtype}[${t.dims.join(',')}] needs ${t.byteLength}`);
  if (d.length === 0) return null;
  switch (t.dtype) {
    case 'float32':
    case 'complex64':
      return [4, bytesOf(d)];
    case 'float64':
    case 'complex128':
      return [10, bytesOf(d)];
    case 'int64':
      return [7, packed64(d as BigInt64Array)];
    case 'uint64':
      return [11, packed64(d as BigUint64Array)];
    case 'uint32':
      return [11, packed32(d as Uint32Array, false)];
    default:
      return [5, packed32(d as ArrayLike<number>, d instanceof Int8Array || d instanceof Int16Array || d instanceof Int32Array)];
  }
}

export function metadataParts(c: Chunks, field: number, props: readonly [string, string][] | undefined): void {
  for (const [key, value] of props ?? []) c.bytes(field, onnx.StringStringEntryProto.encode({ key, value }).finish());
}

export function unknownParts(c: Chunks, owner: object): void {
  for (const u of unknownFields.get(owner) ?? []) c.raw(u);
}

export interface EncodeContext {
  /** Model name for messages about its tensors (the source file when known). */
  file: string;
  /** Where big initializers go when writing external data. */
  external?: ExternalTarget;
  /** IR < 4 (opset 7-9 era files): the format lists every main-graph initializer as a graph input too. */
  initializersAsInputs?: boolean;
}

/** TensorProto; with `external`, big enough numeric tensors go to the external file. */
export function encodeTensor(t: Tensor, ctx: EncodeContext, external?: ExternalTarget, name = t.name): Chunks {
  const c = new Chunks();
  for (const d of t.dims) c.int64(1, ...int64Halves(d));
  c.key(2, WIRE_VARINT).varint(dtypeCode(t.dtype));
  const isString = t.dtype === 'string';
  const toExternal = !isString && external !== undefined && t.byteLength >= external.sizeThreshold;
  const typed = !isString && !toExternal && t.storage === 'typed' ? typedField(t) : null;
  if (typed && typed[0] < 8) c.bytes(typed[0], typed[1]);
  if (isString) {
    const strings = t.data as Uint8Array[];
    if (strings.length !== t.size) throw new ShearsError('E_GRAPH', `tensor ${quote(t.name)}: has ${strings.length} strings but dims [${t.dims.join(',')}] need ${t.size}`);
    for (const s of strings) c.bytes(6, s);
  }
  if (name !== '' || isPresent(t, PRESENT.name)) c.string(8, name);
  let offset = -1;
  if (!isString && !toExternal && t.storage !== 'typed') {
    const payload = payloadOf(t, ctx.file);
    c.key(9, WIRE_LEN).varint(payload.size).deferred(payload);
  } else if (toExternal) offset = placeExternal(external, payloadOf(t, ctx.file));
  if (typed && typed[0] >= 8) c.bytes(typed[0], typed[1]);
  if (t.docString !== undefined) c.string(12, t.docString);
  if (toExternal) {
    metadataParts(c, 13, [
      ['location', external.location],
      ['offset', String(offset)],
      ['length', String(t.byteLength)],
    ]);
    c.key(14, WIRE_VARINT).varint(1);
  } else if (isPresent(t, PRESENT.dataLocation)) c.key(14, WIRE_VARINT).varint(0);
  metadataParts(c, 16, t.metadataProps);
  unknownParts(c, t);
  return c;
}

export function encodeSparse(s: SparseTensor, ctx: EncodeContext): Chunks {
  const c = new Chunks();
  c.message(1, encodeTensor(s.values, ctx));
  c.message(2, encodeTensor(s.indices, ctx));
  for (const d of s.dims) c.int64(3, ...int64Halves(d));
  unknownParts(c, s);
  return c;
}
