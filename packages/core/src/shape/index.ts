export { inferShapes, type InferOptions, type InferResult, type ShapeIssue } from './infer.js';
export { foldConstants, type FoldOptions, type FoldReport } from './fold.js';
export { sliceRange, type SliceRange } from './kernels.js';
export {
  dynamicInputs,
  applyInputShapes,
  batchOnlyShapes,
  dynamicShapeError,
  formatInputShapesOption,
  inputShapeHint,
  INPUT_SHAPES_METADATA_KEYS,
  requireInputSizes,
  resolveInputShapes,
  runtimeInputs,
  suggestInputShape,
  type AssumedShapeSource,
  type DynamicInput,
  type DynamicShapeDetails,
  type InputShapeResolution,
} from './inputs.js';
export { broadcastShapes, broadcastDim } from './broadcast.js';
export { dimProduct, reshapeTarget, ShapeConflict } from './dims.js';
export { knownFromTensor, tensorFromKnown } from './known.js';
