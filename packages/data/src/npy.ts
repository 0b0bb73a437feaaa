import { dataError } from './errors.js';
import { readFileOrThrow, writeFileAtomic } from './io.js';
import { product, fmtShape } from './errors.js';

export type NpyDType = 'float32' | 'float64' | 'uint8' | 'int8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'bool';
export type NpyData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

/** A C-order n-d array as stored in a .npy file. */
export interface NpyArray {
  dtype: NpyDType;
  shape: number[];
  data: NpyData;
}

/** What `writeNpy`/`toNpz` accept: a typed array (1-D) or data plus shape (dtype from the array type unless given, e.g. 'bool'). */
export type NpyInput = NpyData | { data: NpyData; shape?: readonly number[]; dtype?: NpyDType };

interface DTypeInfo {
  dtype: NpyDType;
  size: number;
  descr: string;
  ctor: { new (buf: ArrayBufferLike, off: number, len: number): NpyData; new (len: number): NpyData };
}

const DTYPES: Record<string, DTypeInfo> = {
  f4: { dtype: 'float32', size: 4, descr: '<f4', ctor: Float32Array as never },
  f8: { dtype: 'float64', size: 8, descr: '<f8', ctor: Float64Array as never },
  u1: { dtype: 'uint8', size: 1, descr: '|u1', ctor: Uint8Array as never },
  i1: { dtype: 'int8', size: 1, descr: '|i1', ctor: Int8Array as never },
  b1: { dtype: 'bool', size: 1, descr: '|b1', ctor: Uint8Array as never },
  i2: { dtype: 'int16', size: 2, descr: '<i2', ctor: Int16Array as never },
  u2: { dtype: 'uint16', size: 2, descr: '<u2', ctor: Uint16Array as never },
  i4: { dtype: 'int32', size: 4, descr: '<i4', ctor: Int32Array as never },
  u4: { dtype: 'uint32', size: 4, descr: '<u4', ctor: Uint32Array as never },
  i8: { dtype: 'int64', size: 8, descr: '<i8', ctor: BigInt64Array as never },
  u8: { dtype: 'uint64', size: 8, descr: '<u8', ctor: BigUint64Array as never },
};
const BY_DTYPE = new Map(Object.values(DTYPES).map((d) => [d.dtype, d]));

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function isNpy(bytes: Uint8Array): boolean {
  return bytes.length >= 6 && MAGIC.every((b, i) => bytes[i] === b);
}

/** Parse a .npy file held in memory. Views into `bytes` when aligned (no copy). `entry` names the array inside an .npz in errors. */
export function parseNpy(bytes: Uint8Array, file: string, entry?: string): NpyArray {
  const err = (what: string) => dataError(file, entry ? `${entry}: ${what}` : what);
  if (bytes.length < 10) throw err(bytes.length === 0 ? 'empty file, expected a .npy array' : `truncated .npy (${bytes.length} bytes)`);
  if (!isNpy(bytes)) throw err('not a .npy file (wrong magic; expected \\x93NUMPY)');
  const major = bytes[6]!;
  const minor = bytes[7]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let hlen: number;
  let start: number;
  if (major === 1) {
    hlen = dv.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw err(`truncated .npy (${bytes.length} bytes)`);
    hlen = dv.getUint32(8, true);
    start = 12;
  } else {
    throw err(`unsupported .npy format version ${major}.${minor}`);
  }
  if (start + hlen > bytes.length) throw err(`truncated .npy: header of ${hlen} bytes but the file has ${bytes.length}`);
  const header = Buffer.from(bytes.buffer, bytes.byteOffset + start, hlen).toString(major === 3 ? 'utf8' : 'latin1');

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]*)['"]/.exec(header)?.[1];
  if (descr === undefined) {
    if (/['"]descr['"]\s*:\s*\[/.test(header)) throw err('unsupported dtype: structured arrays are not supported');
    throw err('bad .npy header (no descr)');
  }
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  if (fortran === undefined) throw err('bad .npy header (no fortran_order)');
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw err('bad .npy header (no shape)');
  const shape: number[] = [];
  for (const part of shapeText.split(',')) {
    const t = part.trim().replace(/L$/, '');
    if (t === '') continue;
    const d = Number(t);
    if (!Number.isSafeInteger(d) || d < 0) throw err(`bad .npy header (shape (${shapeText}))`);
    shape.push(d);
  }

  const order = descr[0]!;
  const info = DTYPES[descr.slice(1)];
  if (!info || !'<>|='.includes(order)) throw err(`unsupported dtype '${descr}' (supported: float32, float64, uint8, int8, int16, uint16, int32, uint32, int64, uint64, bool)`);
  if (order === '>' && info.size > 1) throw err(`unsupported dtype '${descr}': big-endian arrays are not supported, save as '<${descr.slice(1)}'`);
  if (fortran === 'True') throw err('unsupported layout: Fortran-order array; save a C-order copy (np.ascontiguousarray)');

  const count = product(shape);
  const offset = start + hlen;
  const need = count * info.size;
  const have = bytes.length - offset;
  if (have < need) throw err(`truncated .npy: ${fmtShape(shape)} ${info.dtype} needs ${need} bytes of data but the file has ${have}`);
  const abs = bytes.byteOffset + offset;
  let data: NpyData;
  if (abs % info.size === 0) {
    data = new info.ctor(bytes.buffer, abs, count);
  } else {
    const copy = new Uint8Array(need);
    copy.set(bytes.subarray(offset, offset + need));
    data = new info.ctor(copy.buffer, 0, count);
  }
  return { dtype: info.dtype, shape, data };
}

export function readNpy(file: string): NpyArray {
  return parseNpy(readFileOrThrow(file), file);
}

function dtypeOf(data: NpyData): NpyDType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Uint8Array) return 'uint8';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'uint16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof Uint32Array) return 'uint32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof BigUint64Array) return 'uint64';
  throw new TypeError('npy: unsupported array type');
}

export function normalizeNpyInput(a: NpyInput): NpyArray {
  if (ArrayBuffer.isView(a)) return { dtype: dtypeOf(a as NpyData), shape: [(a as NpyData).length], data: a as NpyData };
  const arr = a as { data: NpyData; shape?: readonly number[]; dtype?: NpyDType };
  const shape = arr.shape ? [...arr.shape] : [arr.data.length];
  if (product(shape) !== arr.data.length) throw new TypeError(`npy: shape ${fmtShape(shape)} does not match ${arr.data.length} elements`);
  const dtype = arr.dtype ?? dtypeOf(arr.data);
  if (BY_DTYPE.get(dtype)!.size !== arr.data.BYTES_PER_ELEMENT) throw new TypeError(`npy: dtype ${dtype} does not match the array type`);
  return { dtype, shape, data: arr.data };
}

/** Encode as .npy (header + raw bytes, no copy of the data). */
export function encodeNpyParts(a: NpyInput): [Uint8Array, Uint8Array] {
  const arr = normalizeNpyInput(a);
  const info = BY_DTYPE.get(arr.dtype)!;
  const shapeText = arr.shape.length === 1 ? `(${arr.shape[0]},)` : `(${arr.shape.join(', ')})`;
  let dict = `{'descr': '${info.descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let pre = 10;
  if (dict.length + 1 + pre > 65535 + pre) pre = 12;
  const total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  dict = dict + ' '.repeat(total - pre - dict.length - 1) + '\n';
  const head = new Uint8Array(total);
  head.set(MAGIC, 0);
  head[6] = pre === 10 ? 1 : 2;
  head[7] = 0;
  const dv = new DataView(head.buffer);
  if (pre === 10) dv.setUint16(8, dict.length, true);
  else dv.setUint32(8, dict.length, true);
  head.set(Buffer.from(dict, 'latin1'), pre);
  return [head, new Uint8Array(arr.data.buffer, arr.data.byteOffset, arr.data.byteLength)];
}

export function encodeNpy(a: NpyInput): Uint8Array {
  const [h, d] = encodeNpyParts(a);
  const out = new Uint8Array(h.length + d.length);
  out.set(h, 0);
  out.set(d, h.length);
  return out;
}

/** Write one array as .npy, atomically (temp file + rename). */
export function writeNpy(file: string, a: NpyInput): void {
  writeFileAtomic(file, encodeNpyParts(a));
}
