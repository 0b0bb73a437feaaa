import { bytesPerElement, dtypeFromCode, storageOf, Tensor, viewBytes, type DType, type ExternalData, type TensorData, type TypedArray } from '@shears/core';
import { resolve } from 'node:path';
import { DecodeError, quote } from './errors.js';
import { readExternalData } from './external-data.js';
import { checkUnknowns, has, type onnx, type TensorMsg } from './proto.js';
import { markPresent, PRESENT, rawSources, unknownFields } from './side-tables.js';
import { varintSize } from './wire.js';

export interface TensorContext {
  /** Model file name for messages. */
  file: string;
  /** Directory external data locations are relative to. */
  baseDir: string;
  /** Tensors with external data, for eager loading. */
  external: Tensor[];
  /**
   * The input buffer when the decoder owns it (readModel): misaligned raw
   * data is then moved in place on first read instead of copied.
   */
  owned?: ArrayBufferLike;
}

const RAW_DATA_TAG = (9 << 3) | 2; // TensorProto.raw_data, length-delimited

/**
 * A typed view of misaligned raw_data without a copy: shifts the bytes back
 * by (offset mod element size) over the field's own tag and length prefix,
 * which nothing reads again once the model is decoded. A fresh copy costs a
 * page fault per 4 KiB (the slowest part of loading a big model); the move
 * stays within pages already read. Falls back to a copy when the prefix is
 * shorter than the shift or not the one expected.
 */
function alignInPlace(dtype: DType, raw: Uint8Array, owned: ArrayBufferLike | undefined): TypedArray {
  const bpe = storageOf(dtype)?.ctor.BYTES_PER_ELEMENT ?? 1;
  const shift = raw.byteOffset % bpe;
  const prefix = 1 + varintSize(raw.length);
  if (shift === 0 || raw.buffer !== owned || shift > prefix || raw.byteOffset < prefix || new Uint8Array(raw.buffer, raw.byteOffset - prefix, 1)[0] !== RAW_DATA_TAG) return viewBytes(dtype, raw);
  const field = new Uint8Array(raw.buffer, raw.byteOffset - shift, shift + raw.length);
  field.copyWithin(0, shift);
  return viewBytes(dtype, field.subarray(0, raw.length));
}


const FOUR_BIT = new Set<DType>(['uint4', 'int4', 'float4e2m1']);

export function metadataOf(list: onnx.IStringStringEntryProto[] | null | undefined): [string, string][] | undefined {
  if (!list || list.length === 0) return undefined;
  return list.map((e) => {
    checkUnknowns(e as onnx.StringStringEntryProto, 'StringStringEntryProto');
    return [e.key ?? '', e.value ?? ''];
  });
}

function checkedDims(name: string, dims: readonly number[]): number {
  let size = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new DecodeError(`tensor ${quote(name)}: invalid dimension ${d}`);
    size *= d;
  }
  if (!Number.isSafeInteger(size)) throw new DecodeError(`tensor ${quote(name)}: too many elements`);
  return size;
}

/** Converts the one typed field the dtype uses into IR storage (see STORAGE in core dtype.ts). */
function fromTypedFields(name: string, dtype: DType, m: TensorMsg, size: number): TensorData | undefined {
  const expect = (have: number, want: number, field: string): void => {
    if (have !== want) throw new DecodeError(`tensor ${quote(name)}: ${field} has ${have} values, expected ${want} for ${dtype}`);
  };
  const allowed = (field: keyof TensorMsg): void => {
    for (const f of ['float_data', 'int32_data', 'int64_data', 'uint64_data', 'double_data', 'string_data'] as const) {
      if (f !== field && m[f] !== undefined) throw new DecodeError(`tensor ${quote(name)}: ${f} cannot hold ${dtype} data`);
    }
  };
  switch (dtype) {
    case 'float32':
    case 'complex64': {
      allowed('float_data');
      if (!m.float_data) return undefined;
      expect(m.float_data.length, dtype === 'complex64' ? size * 2 : size, 'float_data');
      return m.float_data;
    }
    case 'float64':
    case 'complex128': {
      allowed('double_data');
      if (!m.double_data) return undefined;
      expect(m.double_data.length, dtype === 'complex128' ? size * 2 : size, 'double_data');
      return m.double_data;
    }
    case 'int64': {
      allowed('int64_data');
      if (!m.int64_data) return undefined;
      expect(m.int64_data.length, size, 'int64_data');
      return m.int64_data;
    }
    case 'uint64':
    case 'uint32': {
      allowed('uint64_data');
      if (!m.uint64_data) return undefined;
      expect(m.uint64_data.length, size, 'uint64_data');
      if (dtype === 'uint64') return m.uint64_data;
      // Low halves of the 64-bit values, without a BigInt per element.
      const halves = new Uint32Array(m.uint64_data.buffer, m.uint64_data.byteOffset, size * 2);
      const out = new Uint32Array(size);
      for (let i = 0; i < size; i++) out[i] = halves[i * 2]!;
      return out;
    }
    case 'string': {
      allowed('string_data');
      if (!m.string_data) return undefined;
      expect(m.string_data.length, size, 'string_data');
      return m.string_data;
    }
    default: {
      // int32_data carries every type of 16 bits or less, one element per
      // entry; 4-bit types two elements per entry (one packed byte).
      allowed('int32_data');
      if (!m.int32_data) return undefined;
      if (FOUR_BIT.has(dtype)) {
        expect(m.int32_data.length, Math.ceil(size / 2), 'int32_data');
        return Uint8Array.from(m.int32_data);
      }
      expect(m.int32_data.length, size, 'int32_data');
      if (dtype === 'int32') return m.int32_data;
      const s = storageOf(dtype);
      if (!s) throw new DecodeError(`tensor ${quote(name)}: ${dtype} has no numeric storage`);
      // Typed array construction wraps each value to the element width.
      return new (s.ctor as unknown as new (src: ArrayLike<number>) => TypedArray)(m.int32_data);
    }
  }
}

function externalOf(name: string, m: TensorMsg, baseDir: string, byteLength: number): ExternalData {
  let location: string | undefined;
  let offset = 0;
  let length = byteLength;
  let checksum: string | undefined;
  const extra: [string, string][] = [];
  const int = (key: string, v: string): number => {
    if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new DecodeError(`tensor ${quote(name)}: external data ${key} ${quote(v)} is not a byte count`);
    return Number(v);
  };
  for (const e of m.external_data ?? []) {
    checkUnknowns(e as onnx.StringStringEntryProto, 'StringStringEntryProto');
    const key = e.key ?? '';
    const value = e.value ?? '';
    if (key === 'location') location = value;
    else if (key === 'offset') offset = int(key, value);
    else if (key === 'length') length = int(key, value);
    else if (key === 'checksum') checksum = value;
    else extra.push([key, value]);
  }
  if (!location) throw new DecodeError(`tensor ${quote(name)}: external data has no location`);
  if (length !== byteLength) throw new DecodeError(`tensor ${quote(name)}: external data length ${length} does not match its ${byteLength} bytes`);
  return { location, offset, length, checksum, baseDir, ...(extra.length ? { extra } : {}) };
}

/** A tensor's name "" and data_location DEFAULT, when the file spelled them out (see PRESENT). */
function tensorPresence(m: TensorMsg): number {
  const bits = m.name === '' && has(m, 'name') ? PRESENT.name : 0;
  // (data_location is set only when present: the decoder has no prototype defaults.)
  return m.data_location === 0 ? bits | PRESENT.dataLocation : bits;
}

/** TensorProto -> Tensor. Data stays a view of the input where alignment allows. */
export function decodeTensor(m: TensorMsg, ctx: TensorContext): Tensor {
  const name = m.name ?? '';
  const dtype = dtypeFromCode(m.data_type);
  if (!dtype || dtype === 'undefined') throw new DecodeError(`tensor ${quote(name)}: unsupported data type ${m.data_type}`);
  const size = checkedDims(name, m.dims);
  const byteLength = dtype === 'string' ? 0 : Math.ceil(size * bytesPerElement(dtype));
  const common = {
    name,
    dtype,
    dims: m.dims,
    ...(has(m, 'doc_string') && m.doc_string !== undefined ? { docString: m.doc_string } : {}),
    ...(m.metadata_props ? { metadataProps: metadataOf(m.metadata_props) } : {}),
  };
  const unknowns = checkUnknowns(m, 'TensorProto');
  const keep = (t: Tensor): Tensor => {
    if (unknowns) unknownFields.set(t, unknowns);
    markPresent(t, tensorPresence(m));
    return t;
  };

  if (m.data_location === 1) {
    if (dtype === 'string') throw new DecodeError(`tensor ${quote(name)}: string tensors cannot use external data`);
    if (m.raw_data || m.float_data || m.int32_data || m.int64_data || m.uint64_data || m.double_data || m.string_data)
      throw new DecodeError(`tensor ${quote(name)}: has both external and inline data`);
    const external = externalOf(name, m, ctx.baseDir, byteLength);
    const file = ctx.file;
    const t = new Tensor({
      ...common,
      external,
      storage: 'raw',
      load: () => viewBytes(dtype, readExternalData(file, name, resolve(external.baseDir, external.location), external.offset, external.length)),
    });
    ctx.external.push(t);
    return keep(t);
  }

  if (m.raw_data !== undefined) {
    if (dtype === 'string') throw new DecodeError(`tensor ${quote(name)}: string tensors cannot use raw_data`);
    const raw = m.raw_data;
    if (raw.length !== byteLength) throw new DecodeError(`tensor ${quote(name)}: raw_data has ${raw.length} bytes, expected ${byteLength} for ${dtype}[${m.dims.join(',')}]`);
    if (m.float_data || m.int32_data || m.int64_data || m.uint64_data || m.double_data || m.string_data)
      throw new DecodeError(`tensor ${quote(name)}: has both raw_data and typed data`);
    const bpe = storageOf(dtype)?.ctor.BYTES_PER_ELEMENT ?? 1;
    if (raw.byteOffset % bpe === 0) return keep(new Tensor({ ...common, storage: 'raw', data: viewBytes(dtype, raw) }));
    // Misaligned for a typed view: copy only if someone reads the data; the
    // writer streams the original bytes of tensors nobody touched.
    const owned = ctx.owned;
    const t = new Tensor({ ...common, storage: 'raw', raw, load: () => alignInPlace(dtype, raw, owned) });
    rawSources.set(t, raw);
    return keep(t);
  }

  const data = fromTypedFields(name, dtype, m, size);
  if (data === undefined && size !== 0) throw new DecodeError(`tensor ${quote(name)}: no data for its ${size} elements`);
  return keep(new Tensor({ ...common, storage: 'typed', ...(data ? { data } : {}) }));
}
