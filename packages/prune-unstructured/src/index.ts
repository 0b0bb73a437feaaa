// @shears/prune-unstructured: unstructured and N:M weight pruning for any
// ONNX model, with magnitude, random, Wanda and SparseGPT criteria.
export { unstructuredPruning, unstructured, bitsetMaskAction, type UnstructuredOptions } from './strategy.js';
// The one l1 and random of Shears: @shears/criteria's (l1 declares elementMagnitude, which the strategy's fast path uses).
export { l1, random } from '@shears/criteria';
export { wanda, type WandaOptions } from './criteria/wanda.js';
export { sparsegpt, sparsegptSweep, type SparseGPTOptions } from './criteria/sparsegpt.js';
export { DEFAULT_CALIBRATION } from './criteria/calibration.js';
export { oneShot, iterative, agp, type SparsitySchedule } from './schedules.js';
export { onnxSparseWrite, toSparseInitializers, type SparseConversion } from './sparse-format.js';
export { quickselect, radixSelect, pruneLowest, pruneLowestGlobal } from './select.js';
export { pruneLowestMagnitude, magnitudeMasks, indicesOfBits, type MagnitudeMasks } from './magnitude-masks.js';
export { parsePattern, pruneNM, maxNonzerosPerGroup, type NMPattern } from './nm.js';
export { uniformCounts, erkAmounts, lampCounts, globalSplit, tableAmounts } from './allocation.js';
