/**
 * TensorRT facts, as data, in one place. TRT_SUPPORTED_OPS is exactly the
 * set marked supported (Y) in onnx-tensorrt's docs/operators.md for
 * TensorRT 10.15 (onnx/onnx-tensorrt commit fa5aa9f61e7781d2ca8f5351d42c1f19525a6124);
 * ops it marks N (AffineGrid, CenterCropPad, Det, …) are left out. Default
 * domain only: other domains need a TensorRT plugin library.
 */
export const TRT_SUPPORTED_OPS: ReadonlySet<string> = new Set(
  `Abs Acos Acosh Add And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool BatchNormalization
BlackmanWindow Cast CastLike Ceil Celu Clip Concat Constant ConstantOfShape Conv ConvTranspose Cos Cosh CumSum
DeformConv DepthToSpace DequantizeLinear Div Dropout Einsum Elu Equal Erf Exp Expand EyeLike Flatten Floor
Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool GlobalMaxPool Greater GreaterOrEqual
GridSample GroupNormalization GRU HammingWindow HannWindow Hardmax HardSigmoid HardSwish Identity If ImageScaler
InstanceNormalization IsInf IsNaN LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LRN LSTM
LpNormalization LpPool MatMul Max MaxPool Mean MeanVarianceNormalization Min Mish Mod Mul Neg NonMaxSuppression
NonZero Not OneHot Or Pad ParametricSoftplus Pow PRelu QuantizeLinear RandomNormal RandomNormalLike RandomUniform
RandomUniformLike Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
ReduceProd ReduceSum ReduceSumSquare Relu Reshape Resize ReverseSequence RMSNormalization RNN RoiAlign
RotaryEmbedding Round ScaledTanh Scan Scatter ScatterElements ScatterND Selu Shape Shrink Sigmoid Sign Sin Sinh
Size Slice Softmax Softplus Softsign SpaceToDepth Split Sqrt Squeeze STFT Sub Sum Tan Tanh TensorScatter
ThresholdedRelu Tile TopK Transpose Trilu Unsqueeze Upsample Where Xor`
    .split(/\s+/)
    .filter(Boolean),
);

/**
 * Ops of TRT_SUPPORTED_OPS that onnx-tensorrt's docs/Changelog.md names as
 * added after TensorRT 10.0, with the release that added them: the 10.0
 * parser rejects them, so they are refused for `trtVersion: '10.0'`. A lower
 * bound: the Changelog does not date every op.
 */
export const TRT_OPS_SINCE: Record<string, string> = {
  DeformConv: '10.1',
  BlackmanWindow: '10.4',
  HammingWindow: '10.4',
  HannWindow: '10.4',
  STFT: '10.5',
  Attention: '10.14',
  RMSNormalization: '10.15',
  RotaryEmbedding: '10.15',
  TensorScatter: '10.15',
};

/**
 * Restrictions from the same operators.md that the graph shows without
 * TensorRT: the only attribute values the parser is documented to take (an
 * absent attribute takes the ONNX default, which is always allowed; for ints
 * every element must be allowed), and ops whose outputs past the first are
 * unsupported. Reported as warnings: the parser itself is not run here.
 */
export const TRT_RESTRICTIONS: Record<string, { attrs?: Record<string, readonly (string | number)[]>; firstOutputOnly?: true }> = {
  Resize: {
    attrs: {
      mode: ['nearest', 'linear'],
      coordinate_transformation_mode: ['half_pixel', 'pytorch_half_pixel', 'tf_half_pixel_for_nn', 'asymmetric', 'align_corners'],
      nearest_mode: ['floor', 'ceil', 'round_prefer_floor', 'round_prefer_ceil'],
      keep_aspect_ratio_policy: ['stretch'],
      antialias: [0],
    },
  },
  AveragePool: { attrs: { dilations: [1] } },
  MaxPool: { attrs: { dilations: [1] }, firstOutputOnly: true },
  LpPool: { attrs: { dilations: [1] } },
  LSTM: { attrs: { input_forget: [0], layout: [0] } },
  TopK: { attrs: { sorted: [1] } },
  ScatterND: { attrs: { reduction: ['none'] } },
  LayerNormalization: { firstOutputOnly: true },
};

/** Opsets TensorRT's ONNX parser reads, by TensorRT release (the range stated atop operators.md for 10.0 and 10.15). */
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
