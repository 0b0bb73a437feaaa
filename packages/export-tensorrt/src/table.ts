/**
 * TensorRT facts, as data, in one place. The op list follows onnx-tensorrt's
 * docs/operators.md (TensorRT 8.4 list, plus the ops TensorRT 10.x added:
 * HardSwish, LayerNormalization, GroupNormalization, Gelu, Mish, Reciprocal,
 * NonZero, OneHot, Mod, …). Default domain only: other domains need a
 * TensorRT plugin library.
 */
export const TRT_SUPPORTED_OPS: ReadonlySet<string> = new Set(
  `Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh AveragePool BatchNormalization
BlackmanWindow Cast CastLike Ceil Celu CenterCropPad Clip Concat Constant ConstantOfShape Conv ConvTranspose
Cos Cosh CumSum DeformConv DepthToSpace DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike
Flatten Floor Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater
GreaterOrEqual GridSample GroupNormalization GRU HammingWindow HannWindow HardSigmoid HardSwish Identity If
ImageScaler InstanceNormalization IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop
LRN LSTM LpNormalization LpPool MatMul Max MaxPool Mean Min Mish Mod Mul Neg NonMaxSuppression NonZero Not
OneHot Or Pad ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform
RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RNN RoiAlign Round ScaledTanh Scan
Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh Size Slice Softmax Softplus Softsign
SpaceToDepth Split Sqrt Squeeze Sub Sum Tan Tanh ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample
Where Xor`
    .split(/\s+/)
    .filter(Boolean),
);

/** Opsets TensorRT's ONNX parser reads, by TensorRT release. */
export const TRT_OPSETS: Record<string, { min: number; max: number }> = {
  '10.0': { min: 9, max: 20 },
  '10.15': { min: 9, max: 24 },
};

export const DEFAULT_OPSET = 17;

/** Explicit quantization ops and their zero-point input (must be all zeros: symmetric). */
export const QDQ_ZERO_POINT: Record<string, number> = { QuantizeLinear: 2, DequantizeLinear: 2 };

/**
 * Integer-arithmetic ops of implicit/dynamic quantization that TensorRT does
 * not take: a model with these and no Q/DQ must be re-quantized in Q/DQ form.
 */
export const IMPLICIT_INT8_OPS: ReadonlySet<string> = new Set([
  'DynamicQuantizeLinear',
  'MatMulInteger',
  'ConvInteger',
  'QLinearConv',
  'QLinearMatMul',
  'QLinearAdd',
  'QLinearMul',
  'QGemm',
]);

/** Inputs that ONNX accepts as int32 as well as int64 (indices): int64 constants there are narrowed. */
export const INT32_OK_INPUTS: Record<string, number[]> = {
  Gather: [1],
  GatherElements: [1],
  GatherND: [1],
  ScatterElements: [1],
  ScatterND: [1],
};

/** Standard rewrites to forms TensorRT prefers. */
export const REWRITES = {
  /** MatMul(A[M,K], constant W[K,N]) -> Gemm, fusing a following Add of a constant [N] bias. */
  matmulToGemm: { op: 'MatMul', to: 'Gemm', biasOp: 'Add' },
} as const;

/**
 * 2:4 structured sparsity (Ampere+ sparse tensor cores): in every group of 4
 * consecutive input channels at each output channel and kernel position,
 * at least 2 zeros. TensorRT engineers report sparse kernels winning only
 * for layers with channels ≳ 256.
 */
export const SPARSITY_24 = { group: 4, zeros: 2, minChannels: 256 } as const;

/** Ops that should be gone after the deployment passes: left over, they are reported as warnings. */
export const LEFTOVER_WARNINGS: Record<string, { rule: string; message: string; fix: string }> = {
  BatchNormalization: { rule: 'bn-not-folded', message: 'BatchNormalization could not be folded (no Conv/Gemm before it)', fix: 'TensorRT runs it as a scale layer; fold it by hand for speed' },
  Shape: { rule: 'shape-subgraph', message: 'a shape sub-graph is left (dynamic dims)', fix: 'fix the dims (--input-shape) to fold it, or keep it for dynamic profiles' },
};
