/** Element types, named after ONNX's TensorProto.DataType, with their ONNX codes. */
export const DTYPE_CODES = {
  undefined: 0,
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  string: 8,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
  complex64: 14,
  complex128: 15,
  bfloat16: 16,
  float8e4m3fn: 17,
  float8e4m3fnuz: 18,
  float8e5m2: 19,
  float8e5m2fnuz: 20,
  uint4: 21,
  int4: 22,
  float4e2m1: 23,
} as const;

export type DType = keyof typeof DTYPE_CODES;

const CODE_TO_DTYPE = new Map<number, DType>(
  Object.entries(DTYPE_CODES).map(([k, v]) => [v, k as DType]),
);

export function dtypeFromCode(code: number): DType | undefined {
  return CODE_TO_DTYPE.get(code);
}

export function dtypeCode(dtype: DType): number {
  return DTYPE_CODES[dtype];
}

export type TypedArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array;

type TypedArrayCtor = {
  new (length: number): TypedArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): TypedArray;
  readonly BYTES_PER_ELEMENT: number;
};

/**
 * How each dtype is held in memory. Types without a JS typed array keep their
 * raw bits: float16/bfloat16 as Uint16Array, float8 as Uint8Array, 4-bit types
 * packed two per byte in a Uint8Array, complex as interleaved floats.
 */
const STORAGE: Partial<Record<DType, { ctor: TypedArrayCtor; perElement: number }>> = {
  float32: { ctor: Float32Array, perElement: 1 },
  float64: { ctor: Float64Array, perElement: 1 },
  int8: { ctor: Int8Array, perElement: 1 },
  uint8: { ctor: Uint8Array, perElement: 1 },
  int16: { ctor: Int16Array, perElement: 1 },
  uint16: { ctor: Uint16Array, perElement: 1 },
  int32: { ctor: Int32Array, perElement: 1 },
  uint32: { ctor: Uint32Array, perElement: 1 },
  int64: { ctor: BigInt64Array, perElement: 1 },
  uint64: { ctor: BigUint64Array, perElement: 1 },
  bool: { ctor: Uint8Array, perElement: 1 },
  float16: { ctor: Uint16Array, perElement: 1 },
  bfloat16: { ctor: Uint16Array, perElement: 1 },
  float8e4m3fn: { ctor: Uint8Array, perElement: 1 },
  float8e4m3fnuz: { ctor: Uint8Array, perElement: 1 },
  float8e5m2: { ctor: Uint8Array, perElement: 1 },
  float8e5m2fnuz: { ctor: Uint8Array, perElement: 1 },
  complex64: { ctor: Float32Array, perElement: 2 },
  complex128: { ctor: Float64Array, perElement: 2 },
};

export function storageOf(dtype: DType): { ctor: TypedArrayCtor; perElement: number } | undefined {
  return STORAGE[dtype];
}

/** Bytes one element takes in ONNX raw_data (4-bit types: 0.5). */
export function bytesPerElement(dtype: DType): number {
  if (dtype === 'uint4' || dtype === 'int4' || dtype === 'float4e2m1') return 0.5;
  const s = STORAGE[dtype];
  return s ? s.ctor.BYTES_PER_ELEMENT * s.perElement : 0;
}

export function isFloatDType(dtype: DType): boolean {
  return (
    dtype === 'float32' ||
    dtype === 'float64' ||
    dtype === 'float16' ||
    dtype === 'bfloat16' ||
    dtype.startsWith('float8') ||
    dtype === 'float4e2m1'
  );
}

/** Allocate zeroed storage for `count` elements of `dtype`. */
export function allocate(dtype: DType, count: number): TypedArray {
  if (dtype === 'uint4' || dtype === 'int4' || dtype === 'float4e2m1') return new Uint8Array(Math.ceil(count / 2));
  const s = STORAGE[dtype];
  if (!s) throw new Error(`dtype ${dtype} has no numeric storage`);
  return new s.ctor(count * s.perElement);
}
