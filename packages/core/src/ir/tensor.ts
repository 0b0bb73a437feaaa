import { allocate, bytesPerElement, storageOf, type DType, type TypedArray } from './dtype.js';

/** Where a tensor's bytes live outside the model file (ONNX external data). */
export interface ExternalData {
  location: string;
  offset: number;
  length: number;
  checksum?: string;
  /** Directory the location is relative to. */
  baseDir: string;
  /** Any other key/value entries, kept for a lossless round trip. */
  extra?: [string, string][];
}

export type TensorData = TypedArray | Uint8Array[];

export interface TensorInit {
  name?: string;
  dtype: DType;
  dims: readonly number[];
  data?: TensorData;
  /** Loads the data on first access (external data, lazily read). */
  load?: () => TensorData;
  /**
   * The raw little-endian bytes `load` decodes from, when they are already in
   * memory (e.g. misaligned raw_data): lets scans read them without a copy.
   */
  raw?: Uint8Array;
  external?: ExternalData;
  docString?: string;
  /** Whether the source stored values in raw_data or in typed fields; writers may honour it. */
  storage?: 'raw' | 'typed';
  metadataProps?: [string, string][];
}

export function elementCount(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/**
 * A constant tensor. Numeric data is a typed array (zero-copy views into the
 * file buffer where alignment allows); strings are byte arrays.
 */
export class Tensor {
  name: string;
  dtype: DType;
  dims: number[];
  external?: ExternalData;
  docString?: string;
  storage?: 'raw' | 'typed';
  metadataProps?: [string, string][];
  #data?: TensorData;
  #load?: () => TensorData;
  #raw?: Uint8Array;

  constructor(init: TensorInit) {
    this.name = init.name ?? '';
    this.dtype = init.dtype;
    this.dims = [...init.dims];
    this.external = init.external;
    this.docString = init.docString;
    this.storage = init.storage;
    this.metadataProps = init.metadataProps;
    this.#data = init.data;
    this.#load = init.load;
    this.#raw = init.raw;
    if (!this.#data && !this.#load) this.#data = this.dtype === 'string' ? [] : allocate(this.dtype, this.size);
  }

  get size(): number {
    return elementCount(this.dims);
  }

  /** Bytes the data takes in ONNX raw form. */
  get byteLength(): number {
    if (this.dtype === 'string') return (this.data as Uint8Array[]).reduce((a, s) => a + s.length, 0);
    return Math.ceil(this.size * bytesPerElement(this.dtype));
  }

  get loaded(): boolean {
    return this.#data !== undefined;
  }

  get data(): TensorData {
    if (this.#data === undefined) {
      this.#data = this.#load!();
      this.#load = undefined;
      this.#raw = undefined;
    }
    return this.#data;
  }

  set data(d: TensorData) {
    this.#data = d;
    this.#load = undefined;
    this.#raw = undefined;
  }

  /** Raw bytes without forcing a lazy load (or copy); undefined when only loading can tell. */
  peekBytes(): Uint8Array | undefined {
    if (this.#data !== undefined) return Array.isArray(this.#data) ? undefined : this.rawBytes();
    return this.#raw;
  }

  /** Numeric data; throws for string tensors. */
  get values(): TypedArray {
    const d = this.data;
    if (Array.isArray(d)) throw new Error(`tensor ${this.name} holds strings, not numbers`);
    return d;
  }

  /** Float32 data, or an error naming the tensor when it holds another type. */
  floats(): Float32Array {
    if (this.dtype !== 'float32') throw new Error(`tensor ${this.name} is ${this.dtype}, expected float32`);
    return this.values as Float32Array;
  }

  /** Values as plain numbers (int64 converted); for small shape tensors only. */
  toNumbers(): number[] {
    const d = this.values;
    const out = new Array<number>(d.length);
    for (let i = 0; i < d.length; i++) out[i] = Number(d[i]);
    return out;
  }

  /** Raw little-endian bytes of the data (a view when possible). */
  rawBytes(): Uint8Array {
    const d = this.data;
    if (Array.isArray(d)) throw new Error(`tensor ${this.name} holds strings, not numbers`);
    return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  }

  clone(name = this.name): Tensor {
    const d = this.data;
    return new Tensor({
      name,
      dtype: this.dtype,
      dims: this.dims,
      data: Array.isArray(d) ? d.map((s) => s.slice()) : (d.slice() as TypedArray),
      docString: this.docString,
      storage: this.storage,
      metadataProps: this.metadataProps?.map(([k, v]) => [k, v]),
    });
  }

  static fromFloat32(name: string, dims: readonly number[], data: Float32Array | number[]): Tensor {
    return new Tensor({ name, dtype: 'float32', dims, data: data instanceof Float32Array ? data : Float32Array.from(data) });
  }

  static fromInt64(name: string, dims: readonly number[], data: readonly (number | bigint)[]): Tensor {
    return new Tensor({ name, dtype: 'int64', dims, data: BigInt64Array.from(data, (x) => BigInt(x)) });
  }
}

/** View raw little-endian bytes as a typed array; zero-copy when aligned, else copied. */
export function viewBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const s = storageOf(dtype);
  if (!s) return bytes; // 4-bit and other packed types keep raw bytes
  const bpe = s.ctor.BYTES_PER_ELEMENT;
  const length = bytes.byteLength / bpe;
  if (!Number.isInteger(length)) throw new Error(`raw data of ${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  if (bytes.byteOffset % bpe === 0) return new s.ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new s.ctor(copy.buffer, 0, length);
}
