import { allocate, type TypedArray } from '../ir/dtype.js';
import { Tensor } from '../ir/tensor.js';

/** A DataView stands for little-endian float32 bytes that are not 4-byte aligned. */
type Arr = TypedArray | Uint8Array | DataView;

/** Keep only the listed indices along some axes of a row-major array. */
export function sliceArray<T extends Arr>(data: T, dims: readonly number[], keeps: ReadonlyMap<number, ArrayLike<number>>, make: (n: number) => T): { data: T; dims: number[] } {
  const nd = dims.map((d, a) => keeps.get(a)?.length ?? d);
  const sliced = [...keeps.keys()].filter((a) => keeps.get(a)!.length !== dims[a]);
  if (sliced.length === 0) return { data, dims: [...dims] };
  const last = Math.max(...sliced);
  let block = 1;
  for (let a = last + 1; a < dims.length; a++) block *= dims[a]!;
  const strides: number[] = new Array(dims.length);
  let acc = 1;
  for (let a = dims.length - 1; a >= 0; a--) {
    strides[a] = acc;
    acc *= dims[a]!;
  }
  // Input offsets per output index, for the axes before `last`; `last` itself is the inner loop.
  const offs: Int32Array[] = [];
  for (let a = 0; a < last; a++) {
    const k = keeps.get(a);
    offs.push(Int32Array.from({ length: nd[a]! }, (_, i) => (k ? k[i]! : i) * strides[a]!));
  }
  const kl = keeps.get(last)!;
  const lastOff = Int32Array.from({ length: nd[last]! }, (_, i) => kl[i]! * strides[last]!);
  let outer = 1;
  for (let a = 0; a < last; a++) outer *= nd[a]!;
  const out = make(outer * lastOff.length * block);
  const bases = new Float64Array(outer);
  const counter = new Array<number>(last).fill(0);
  for (let it = 0; it < outer; it++) {
    let base = 0;
    for (let a = 0; a < last; a++) base += offs[a]![counter[a]!]!;
    bases[it] = base;
    for (let a = last - 1; a >= 0; a--) {
      if (++counter[a]! < nd[a]!) break;
      counter[a] = 0;
    }
  }
  // Separate copies of one loop, so each stays monomorphic in V8.
  if (data instanceof Float32Array) gatherF32(out as Float32Array, data, bases, lastOff, block);
  else if (data instanceof DataView) gatherDV(out as Float32Array, data, bases, lastOff, block);
  else gatherAny(out as never, data as never, bases, lastOff, block);
  return { data: out, dims: nd };
}

/**
 * Float32 data to read without forcing a copy: the values, or a DataView over
 * raw bytes that a lazy tensor has not decoded yet (misaligned raw_data).
 */
export function float32Source(t: Tensor): Float32Array | DataView {
  if (t.dtype === 'float32' && !t.loaded) {
    const raw = t.peekBytes();
    if (raw && raw.byteLength === t.size * 4) return new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  }
  return t.floats();
}

/** A new tensor with only the listed indices kept along the given axes. */
export function sliceTensor(t: Tensor, keeps: ReadonlyMap<number, ArrayLike<number>>, name = t.name): Tensor {
  const src = t.dtype === 'float32' ? float32Source(t) : t.values;
  const r = sliceArray(src as Arr, t.dims, keeps, (n) => allocate(t.dtype, n) as Arr);
  const data = r.data instanceof DataView ? t.values : r.data;
  return new Tensor({ name, dtype: t.dtype, dims: r.dims, data, docString: t.docString, storage: t.storage, metadataProps: t.metadataProps });
}

export function sliceMask(mask: Uint8Array, dims: readonly number[], keeps: ReadonlyMap<number, ArrayLike<number>>): Uint8Array {
  return sliceArray(mask, dims, keeps, (n) => new Uint8Array(n)).data;
}

type Indexable = { [i: number]: number; set(a: ArrayLike<number>, offset: number): void; subarray(a: number, b: number): ArrayLike<number> };

function gatherF32(out: Float32Array, data: Float32Array, bases: Float64Array, lastOff: Int32Array, block: number): void {
  let pos = 0;
  for (let it = 0; it < bases.length; it++) {
    const base = bases[it]!;
    for (let i = 0; i < lastOff.length; i++) {
      const off = base + lastOff[i]!;
      if (block >= 64) {
        out.set(data.subarray(off, off + block), pos);
        pos += block;
      } else for (let q = 0; q < block; q++) out[pos++] = data[off + q]!;
    }
  }
}

function gatherAny(out: Indexable, data: Indexable, bases: Float64Array, lastOff: Int32Array, block: number): void {
  let pos = 0;
  for (let it = 0; it < bases.length; it++) {
    const base = bases[it]!;
    for (let i = 0; i < lastOff.length; i++) {
      const off = base + lastOff[i]!;
      if (block >= 64) {
        out.set(data.subarray(off, off + block), pos);
        pos += block;
      } else for (let q = 0; q < block; q++) out[pos++] = data[off + q]!;
    }
  }
}

function gatherDV(out: Float32Array, data: DataView, bases: Float64Array, lastOff: Int32Array, block: number): void {
  let pos = 0;
  for (let it = 0; it < bases.length; it++) {
    const base = bases[it]!;
    for (let i = 0; i < lastOff.length; i++) {
      const off = (base + lastOff[i]!) * 4;
      for (let q = 0; q < block; q++) out[pos++] = data.getFloat32(off + q * 4, true);
    }
  }
}
