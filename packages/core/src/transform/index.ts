export { foldBatchNorms, type FoldedNorm } from './fold-batchnorm.js';
export { redirectOutput } from './rewire.js';
