/**
 * The part of the TFLite flatbuffer schema (schema version 3, file identifier
 * "TFL3") that Shears writes, written by hand: enum values, union indices and
 * the field slots of each table. Slot numbers and codes are fixed by the
 * published schema; new fields there are only ever appended, so these stay valid.
 */

export const TFLITE_SCHEMA_VERSION = 3;
export const TFLITE_FILE_IDENTIFIER = 'TFL3';

/** TensorType. */
export const TensorType = {
  FLOAT32: 0,
  FLOAT16: 1,
  INT32: 2,
  UINT8: 3,
  INT64: 4,
  BOOL: 6,
  INT16: 7,
  INT8: 9,
} as const;
export type TensorTypeName = keyof typeof TensorType;

/** BuiltinOperator codes of the ops Shears emits. Codes above 127 need the PLACEHOLDER in deprecated_builtin_code. */
export const BuiltinOperator = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  DEQUANTIZE: 6,
  FULLY_CONNECTED: 9,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU_N1_TO_1: 20,
  RELU6: 21,
  RESHAPE: 22,
  RESIZE_BILINEAR: 23,
  SOFTMAX: 25,
  TANH: 28,
  PAD: 34,
  GATHER: 36,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  STRIDED_SLICE: 45,
  EXP: 47,
  SPLIT: 49,
  CAST: 53,
  PRELU: 54,
  MAXIMUM: 55,
  MINIMUM: 57,
  NEG: 59,
  PADV2: 60,
  TRANSPOSE_CONV: 67,
  SUM: 74,
  SQRT: 75,
  RSQRT: 76,
  REDUCE_MAX: 82,
  SQUARE: 92,
  RESIZE_NEAREST_NEIGHBOR: 97,
  LEAKY_RELU: 98,
  SQUARED_DIFFERENCE: 99,
  MIRROR_PAD: 100,
  ABS: 101,
  SPLIT_V: 102,
  ELU: 111,
  HARD_SWISH: 117,
  DENSIFY: 124,
  BATCH_MATMUL: 126,
  GELU: 150,
} as const;
export type OpName = keyof typeof BuiltinOperator;
export const PLACEHOLDER_FOR_GREATER_OP_CODES = 127;

export const Padding = { SAME: 0, VALID: 1 } as const;
export const Activation = { NONE: 0, RELU: 1, RELU_N1_TO_1: 2, RELU6: 3, TANH: 4 } as const;
export type ActivationName = keyof typeof Activation;
export const DimensionType = { DENSE: 0, SPARSE_CSR: 1 } as const;
/** SparseIndexVector union. */
export const SparseIndexVector = { Int32Vector: 1, Uint16Vector: 2, Uint8Vector: 3 } as const;
export const MirrorPadMode = { REFLECT: 0, SYMMETRIC: 1 } as const;

type FieldKind = 'bool' | 'i8' | 'i32' | 'f32' | 'i32[]';
type FieldSpec = readonly [slot: number, kind: FieldKind, defaultValue?: number];

/**
 * Builtin options tables: their index in the BuiltinOptions union and their
 * fields (slot, kind, default). Tables without fields are still written, as
 * the converter does, so readers that expect them find them.
 */
export const OPTIONS = {
  Conv2DOptions: { union: 1, fields: { padding: [0, 'i8'], stride_w: [1, 'i32'], stride_h: [2, 'i32'], fused_activation_function: [3, 'i8'], dilation_w_factor: [4, 'i32', 1], dilation_h_factor: [5, 'i32', 1] } },
  DepthwiseConv2DOptions: {
    union: 2,
    fields: { padding: [0, 'i8'], stride_w: [1, 'i32'], stride_h: [2, 'i32'], depth_multiplier: [3, 'i32'], fused_activation_function: [4, 'i8'], dilation_w_factor: [5, 'i32', 1], dilation_h_factor: [6, 'i32', 1] },
  },
  Pool2DOptions: { union: 5, fields: { padding: [0, 'i8'], stride_w: [1, 'i32'], stride_h: [2, 'i32'], filter_width: [3, 'i32'], filter_height: [4, 'i32'], fused_activation_function: [5, 'i8'] } },
  FullyConnectedOptions: { union: 8, fields: { fused_activation_function: [0, 'i8'], weights_format: [1, 'i8'], keep_num_dims: [2, 'bool'] } },
  SoftmaxOptions: { union: 9, fields: { beta: [0, 'f32'] } },
  ConcatenationOptions: { union: 10, fields: { axis: [0, 'i32'], fused_activation_function: [1, 'i8'] } },
  AddOptions: { union: 11, fields: { fused_activation_function: [0, 'i8'] } },
  ResizeBilinearOptions: { union: 15, fields: { align_corners: [2, 'bool'], half_pixel_centers: [3, 'bool'] } },
  ReshapeOptions: { union: 17, fields: { new_shape: [0, 'i32[]'] } },
  MulOptions: { union: 21, fields: { fused_activation_function: [0, 'i8'] } },
  PadOptions: { union: 22, fields: {} },
  GatherOptions: { union: 23, fields: { axis: [0, 'i32'], batch_dims: [1, 'i32'] } },
  TransposeOptions: { union: 26, fields: {} },
  ReducerOptions: { union: 27, fields: { keep_dims: [0, 'bool'] } },
  SubOptions: { union: 28, fields: { fused_activation_function: [0, 'i8'] } },
  DivOptions: { union: 29, fields: { fused_activation_function: [0, 'i8'] } },
  StridedSliceOptions: { union: 32, fields: { begin_mask: [0, 'i32'], end_mask: [1, 'i32'], ellipsis_mask: [2, 'i32'], new_axis_mask: [3, 'i32'], shrink_axis_mask: [4, 'i32'] } },
  ExpOptions: { union: 33, fields: {} },
  SplitOptions: { union: 35, fields: { num_splits: [0, 'i32'] } },
  CastOptions: { union: 37, fields: { in_data_type: [0, 'i8'], out_data_type: [1, 'i8'] } },
  DequantizeOptions: { union: 38, fields: {} },
  MaximumMinimumOptions: { union: 39, fields: {} },
  PadV2Options: { union: 43, fields: {} },
  TransposeConvOptions: { union: 49, fields: { padding: [0, 'i8'], stride_w: [1, 'i32'], stride_h: [2, 'i32'], fused_activation_function: [3, 'i8'] } },
  ResizeNearestNeighborOptions: { union: 74, fields: { align_corners: [0, 'bool'], half_pixel_centers: [1, 'bool'] } },
  LeakyReluOptions: { union: 75, fields: { alpha: [0, 'f32'] } },
  SquaredDifferenceOptions: { union: 76, fields: {} },
  MirrorPadOptions: { union: 77, fields: { mode: [0, 'i8'] } },
  SplitVOptions: { union: 79, fields: { num_splits: [0, 'i32'] } },
  HardSwishOptions: { union: 91, fields: {} },
  DensifyOptions: { union: 99, fields: {} },
  BatchMatMulOptions: { union: 101, fields: { adj_x: [0, 'bool'], adj_y: [1, 'bool'] } },
  GeluOptions: { union: 116, fields: { approximate: [0, 'bool'] } },
} as const satisfies Record<string, { union: number; fields: Record<string, FieldSpec> }>;
export type OptionsName = keyof typeof OPTIONS;

/** Options of one operator: the table name and its field values (by schema field name). */
export interface OpOptions {
  type: OptionsName;
  values: Record<string, number | boolean | readonly number[]>;
}

/** Field slots of the non-option tables (for the writer). */
export const SLOTS = {
  Model: { version: 0, operator_codes: 1, subgraphs: 2, description: 3, buffers: 4, metadata_buffer: 5, metadata: 6, signature_defs: 7, count: 8 },
  SubGraph: { tensors: 0, inputs: 1, outputs: 2, operators: 3, name: 4, count: 5 },
  Tensor: { shape: 0, type: 1, buffer: 2, name: 3, quantization: 4, is_variable: 5, sparsity: 6, shape_signature: 7, count: 8 },
  Buffer: { data: 0, count: 1 },
  Operator: { opcode_index: 0, inputs: 1, outputs: 2, builtin_options_type: 3, builtin_options: 4, count: 5 },
  OperatorCode: { deprecated_builtin_code: 0, custom_code: 1, version: 2, builtin_code: 3, count: 4 },
  SparsityParameters: { traversal_order: 0, block_map: 1, dim_metadata: 2, count: 3 },
  DimensionMetadata: { format: 0, dense_size: 1, array_segments_type: 2, array_segments: 3, array_indices_type: 4, array_indices: 5, count: 6 },
  IndexVector: { values: 0, count: 1 },
  SignatureDef: { inputs: 0, outputs: 1, signature_key: 2, subgraph_index: 4, count: 5 },
  TensorMap: { name: 0, tensor_index: 1, count: 2 },
  Metadata: { name: 0, buffer: 1, count: 2 },
} as const;

export const OPTION_FIELDS = OPTIONS as unknown as Record<OptionsName, { union: number; fields: Record<string, FieldSpec> }>;
