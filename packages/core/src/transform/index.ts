export { foldBatchNorms, type FoldedNorm } from './fold-batchnorm.js';
export { redirectOutput } from './rewire.js';
export { normalize, normalizeModel, type NormalizeOptions, type NormalizeReport, type NormalizeRule } from './normalize.js';
