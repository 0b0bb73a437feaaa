// Every op name the ONNX default domain has defined (opsets 1-24, including
// deprecated/experimental ones that old exports still carry), plus the other
// domains we accept as "known but opaque". Ops here without an OpSpec still
// load and save; structured pruning treats them as opaque.

export const ONNX_OPS: readonly string[] = `
Abs Acos Acosh Add AffineGrid And ArgMax ArgMin Asin Asinh Atan Atanh Attention AveragePool
BatchNormalization Bernoulli BitShift BitwiseAnd BitwiseNot BitwiseOr BitwiseXor BlackmanWindow
Cast CastLike Ceil Celu CenterCropPad Clip Col2Im Compress Concat ConcatFromSequence Constant
ConstantOfShape Conv ConvInteger ConvTranspose Cos Cosh CumSum DFT DeformConv DepthToSpace
DequantizeLinear Det Div Dropout DynamicQuantizeLinear Einsum Elu Equal Erf Exp Expand EyeLike
Flatten Floor GRU Gather GatherElements GatherND Gelu Gemm GlobalAveragePool GlobalLpPool
GlobalMaxPool Greater GreaterOrEqual GridSample GroupNormalization HammingWindow HannWindow
HardSigmoid HardSwish Hardmax Identity If ImageDecoder InstanceNormalization IsInf IsNaN LRN LSTM
LayerNormalization LeakyRelu Less LessOrEqual Log LogSoftmax Loop LpNormalization LpPool MatMul
MatMulInteger Max MaxPool MaxRoiPool MaxUnpool Mean MeanVarianceNormalization MelWeightMatrix Min
Mish Mod Mul Multinomial Neg NegativeLogLikelihoodLoss NonMaxSuppression NonZero Not OneHot
Optional OptionalGetElement OptionalHasElement Or PRelu Pad Pow QLinearConv QLinearMatMul
QuantizeLinear RMSNormalization RNN RandomNormal RandomNormalLike RandomUniform RandomUniformLike
Range Reciprocal ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp ReduceMax ReduceMean ReduceMin
ReduceProd ReduceSum ReduceSumSquare RegexFullMatch Relu Reshape Resize ReverseSequence RoiAlign
RotaryEmbedding Round STFT Scan Scatter ScatterElements ScatterND Selu SequenceAt
SequenceConstruct SequenceEmpty SequenceErase SequenceInsert SequenceLength SequenceMap Shape
Shrink Sigmoid Sign Sin Sinh Size Slice Softmax SoftmaxCrossEntropyLoss Softplus Softsign
SpaceToDepth Split SplitToSequence Sqrt Squeeze StringConcat StringNormalizer StringSplit Sub Sum
Swish Tan Tanh TensorScatter TfIdfVectorizer ThresholdedRelu Tile TopK Transpose Trilu Unique
Unsqueeze Upsample Where Xor
Affine ConstantFill Crop DynamicSlice GRUUnit GivenTensorFill ImageScaler ParametricSoftplus
Scale ScaledTanh
`
  .split(/\s+/)
  .filter(Boolean);

export const ONNX_ML_OPS: readonly string[] = `
ArrayFeatureExtractor Binarizer CastMap CategoryMapper DictVectorizer FeatureVectorizer Imputer
LabelEncoder LinearClassifier LinearRegressor Normalizer OneHotEncoder SVMClassifier SVMRegressor
Scaler TreeEnsemble TreeEnsembleClassifier TreeEnsembleRegressor ZipMap
`
  .split(/\s+/)
  .filter(Boolean);

export const ONNX_TRAINING_OPS: readonly string[] = ['Adagrad', 'Adam', 'Gradient', 'Momentum'];

/** The contrib ops onnxruntime's optimizers and exporters commonly emit. */
export const MICROSOFT_OPS: readonly string[] = `
Attention BiasAdd BiasDropout BiasGelu BiasSoftmax BiasSplitGelu CDist ConvTransposeWithDynamicPads
CropAndResize DecoderMaskedMultiHeadAttention DequantizeLinear DynamicQuantizeLSTM
DynamicQuantizeMatMul EmbedLayerNormalization ExpandDims FastGelu FusedConv FusedGemm FusedMatMul
GatherND Gelu GemmFastGelu GreedySearch GridSample GroupNorm GroupQueryAttention Inverse
LayerNormalization MatMulInteger16 MatMulIntegerToFloat MatMulNBits MultiHeadAttention
NhwcConv NhwcMaxPool Pad PackedAttention QAttention QGemm QLinearAdd QLinearAveragePool
QLinearConcat QLinearConv QLinearGlobalAveragePool QLinearLeakyRelu QLinearMul QLinearReduceMean
QLinearSigmoid QLinearSoftmax QOrderedMatMul QuantizeLinear QuickGelu Range Rfft Irfft
RotaryEmbedding SimplifiedLayerNormalization SkipLayerNormalization SkipSimplifiedLayerNormalization
Snpe Tokenizer TransposeMatMul Trilu Unique WordConvEmbedding BeamSearch
`
  .split(/\s+/)
  .filter(Boolean);

/** Domain -> op names known to exist there. */
export const KNOWN_DOMAINS: ReadonlyMap<string, ReadonlySet<string>> = new Map([
  ['', new Set(ONNX_OPS)],
  ['ai.onnx.ml', new Set(ONNX_ML_OPS)],
  ['ai.onnx.preview.training', new Set(ONNX_TRAINING_OPS)],
  ['com.microsoft', new Set(MICROSOFT_OPS)],
]);
