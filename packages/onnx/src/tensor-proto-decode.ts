import protobuf, { type Reader } from 'protobufjs/minimal.js';
import { onnx } from './gen/onnx.pbjs.js';
import { longValue } from './int64.js';
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from './wire.js';

/**
 * TensorProto as our decoder leaves it: packed numeric fields become typed
 * arrays (views over the input when aligned), raw_data and string_data are
 * views. The generated decoder would build one JS number (or Long object) per
 * element, which is what weight-sized float_data / int64_data must avoid.
 */
export interface TensorMsg {
  dims: number[];
  data_type: number;
  name?: string;
  doc_string?: string;
  raw_data?: Uint8Array;
  float_data?: Float32Array;
  int32_data?: Int32Array;
  int64_data?: BigInt64Array;
  uint64_data?: BigUint64Array;
  double_data?: Float64Array;
  string_data?: Uint8Array[];
  external_data?: onnx.IStringStringEntryProto[];
  data_location?: number;
  metadata_props?: onnx.IStringStringEntryProto[];
  /** Fields this decoder does not map (segment, newer fields), as raw bytes. */
  $unknowns?: Uint8Array[];
}

type Ctor<T> = { new (n: number): T; new (b: ArrayBufferLike, off: number, n: number): T; BYTES_PER_ELEMENT: number };
type Piece = ArrayLike<number | bigint> & { length: number };

class Repeated<T extends Float32Array | Int32Array | BigInt64Array | BigUint64Array | Float64Array> {
  pieces: Piece[] = [];
  loose: (number | bigint)[] | null = null;
  constructor(readonly ctor: Ctor<T>) {}
  add(p: Piece): void {
    this.loose = null;
    this.pieces.push(p);
  }
  push(v: number | bigint): void {
    if (!this.loose) this.pieces.push((this.loose = []));
    this.loose.push(v);
  }
  finish(): T {
    const only = this.pieces.length === 1 ? this.pieces[0]! : null;
    if (only instanceof this.ctor) return only as T;
    let n = 0;
    for (const p of this.pieces) n += p.length;
    const out = new this.ctor(n);
    let at = 0;
    for (const p of this.pieces) {
      if (ArrayBuffer.isView(p)) (out as unknown as { set(a: ArrayLike<number | bigint>, o: number): void }).set(p, at);
      else for (let i = 0; i < p.length; i++) (out as unknown as (number | bigint)[])[at + i] = p[i]!;
      at += p.length;
    }
    return out;
  }
}

/** A view of `len` bytes at `pos` as fixed-width little-endian numbers; copies when misaligned. */
function fixedView<T>(ctor: Ctor<T>, buf: Uint8Array, pos: number, len: number): T {
  const bpe = ctor.BYTES_PER_ELEMENT;
  if (len % bpe !== 0) throw new Error(`packed field of ${len} bytes is not a whole number of ${bpe}-byte values`);
  const off = buf.byteOffset + pos;
  if (off % bpe === 0) return new ctor(buf.buffer, off, len / bpe);
  const copy = new Uint8Array(len); // (Buffer#slice would be a view)
  copy.set(buf.subarray(pos, pos + len));
  return new ctor(copy.buffer, 0, len / bpe);
}

/** Counts the varints in buf[pos, end); throws on a truncated last one. */
function countVarints(buf: Uint8Array, pos: number, end: number): number {
  let n = 0;
  for (let i = pos; i < end; i++) if (buf[i]! < 128) n++;
  if (end > pos && buf[end - 1]! >= 128) throw new Error('truncated varint in packed field');
  return n;
}

/**
 * Decodes packed varints into 32-bit halves: lo into out[k*stride], hi (when
 * stride is 2) into out[k*stride+1]. Works for int32 (stride 1, low half, the
 * protobuf sign extension is dropped) and int64/uint64 (stride 2, over a
 * Uint32Array view of a 64-bit array).
 */
function decodeVarints(buf: Uint8Array, pos: number, end: number, out: Uint32Array | Int32Array, stride: 1 | 2): void {
  let k = 0;
  while (pos < end) {
    let lo = 0;
    let hi = 0;
    let b = 0;
    let i = 0;
    for (; i < 4; i++) {
      b = buf[pos++]!;
      lo |= (b & 127) << (i * 7);
      if (b < 128) break;
    }
    if (b >= 128) {
      b = buf[pos++]!;
      lo |= (b & 127) << 28;
      hi = (b & 127) >> 4;
      if (b >= 128) {
        for (i = 0; i < 5; i++) {
          b = buf[pos++]!;
          hi |= (b & 127) << (i * 7 + 3);
          if (b < 128) break;
        }
        if (b >= 128) throw new Error('malformed varint in packed field');
      }
    }
    out[k * stride] = lo;
    if (stride === 2) out[k * stride + 1] = hi;
    k++;
  }
}

function packedVarints32(buf: Uint8Array, pos: number, end: number): Int32Array {
  const out = new Int32Array(countVarints(buf, pos, end));
  decodeVarints(buf, pos, end, out, 1);
  return out;
}

function packedVarints64<T extends BigInt64Array | BigUint64Array>(ctor: Ctor<T>, buf: Uint8Array, pos: number, end: number): T {
  const out = new ctor(countVarints(buf, pos, end));
  decodeVarints(buf, pos, end, new Uint32Array(out.buffer), 2);
  return out;
}

/** The generated decoders take a depth argument their .d.ts does not declare. */
type NestedDecode<T> = (reader: Reader, length: number, end: undefined, depth: number) => T;
const decodeEntry = onnx.StringStringEntryProto.decode as unknown as NestedDecode<onnx.StringStringEntryProto>;


/**
 * Drop-in for the generated `onnx.TensorProto.decode` (same signature and
 * error behaviour: wrong wire types and unknown fields land in $unknowns).
 */
export function decodeTensorProto(reader: Reader, length?: number, _end?: number, depth = 0): TensorMsg {
  if (depth > protobuf.Reader.recursionLimit) throw new Error('max depth exceeded');
  let end: number;
  let outerLen = -1;
  if (length === undefined) end = reader.len;
  else {
    end = reader.pos + length;
    if (end > reader.len) throw new RangeError('index out of range');
    outerLen = reader.len;
    reader.len = end;
  }
  const m: TensorMsg = { dims: [], data_type: 0 };
  let floats: Repeated<Float32Array> | undefined;
  let int32s: Repeated<Int32Array> | undefined;
  let int64s: Repeated<BigInt64Array> | undefined;
  let uint64s: Repeated<BigUint64Array> | undefined;
  let doubles: Repeated<Float64Array> | undefined;
  const buf = reader.buf;
  const packed = (): [number, number] => {
    const len = reader.uint32();
    const start = reader.pos;
    if (start + len > reader.len) throw new RangeError('index out of range');
    reader.pos = start + len;
    return [start, start + len];
  };
  while (reader.pos < end) {
    const start = reader.pos;
    const t = reader.uint32();
    const field = t >>> 3;
    const wire = t & 7;
    switch (field) {
      case 1:
        if (wire === WIRE_VARINT) {
          m.dims.push(longValue(reader.int64()));
          continue;
        }
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          const save = reader.pos;
          reader.pos = s;
          while (reader.pos < e) m.dims.push(longValue(reader.int64()));
          if (reader.pos !== e) throw new RangeError('index out of range');
          reader.pos = save;
          continue;
        }
        break;
      case 2:
        if (wire !== WIRE_VARINT) break;
        m.data_type = reader.int32();
        continue;
      case 4:
        floats ??= new Repeated(Float32Array);
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          floats.add(fixedView(Float32Array, buf, s, e - s));
          continue;
        }
        if (wire !== WIRE_I32) break;
        floats.push(reader.float());
        continue;
      case 5:
        int32s ??= new Repeated(Int32Array);
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          int32s.add(packedVarints32(buf, s, e));
          continue;
        }
        if (wire !== WIRE_VARINT) break;
        int32s.push(reader.int32());
        continue;
      case 6:
        if (wire !== WIRE_LEN) break;
        (m.string_data ??= []).push(reader.bytes());
        continue;
      case 7:
        int64s ??= new Repeated(BigInt64Array);
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          int64s.add(packedVarints64(BigInt64Array, buf, s, e));
          continue;
        }
        if (wire !== WIRE_VARINT) break;
        int64s.push(BigInt(reader.int64().toString()));
        continue;
      case 8:
        if (wire !== WIRE_LEN) break;
        m.name = reader.string();
        continue;
      case 9:
        if (wire !== WIRE_LEN) break;
        m.raw_data = reader.bytes();
        continue;
      case 10:
        doubles ??= new Repeated(Float64Array);
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          doubles.add(fixedView(Float64Array, buf, s, e - s));
          continue;
        }
        if (wire !== WIRE_I64) break;
        doubles.push(reader.double());
        continue;
      case 11:
        uint64s ??= new Repeated(BigUint64Array);
        if (wire === WIRE_LEN) {
          const [s, e] = packed();
          uint64s.add(packedVarints64(BigUint64Array, buf, s, e));
          continue;
        }
        if (wire !== WIRE_VARINT) break;
        uint64s.push(BigInt(reader.uint64().toString()));
        continue;
      case 12:
        if (wire !== WIRE_LEN) break;
        m.doc_string = reader.string();
        continue;
      case 13:
        if (wire !== WIRE_LEN) break;
        (m.external_data ??= []).push(decodeEntry(reader, reader.uint32(), undefined, depth + 1));
        continue;
      case 14: {
        if (wire !== WIRE_VARINT) break;
        const v = reader.int32();
        if (v === 0 || v === 1) {
          m.data_location = v;
          continue;
        }
        (m.$unknowns ??= []).push(reader.raw(start, reader.pos));
        continue;
      }
      case 16:
        if (wire !== WIRE_LEN) break;
        (m.metadata_props ??= []).push(decodeEntry(reader, reader.uint32(), undefined, depth + 1));
        continue;
    }
    // segment (3), newer fields, and known fields with a wrong wire type:
    // kept as raw bytes; the converter decides which of them are errors.
    reader.skipType(wire, depth, field);
    (m.$unknowns ??= []).push(reader.raw(start, reader.pos));
  }
  if (outerLen >= 0) {
    if (reader.pos !== end) throw new RangeError('index out of range');
    reader.len = outerLen;
  }
  if (floats) m.float_data = floats.finish();
  if (int32s) m.int32_data = int32s.finish();
  if (int64s) m.int64_data = int64s.finish();
  if (uint64s) m.uint64_data = uint64s.finish();
  if (doubles) m.double_data = doubles.finish();
  return m;
}
