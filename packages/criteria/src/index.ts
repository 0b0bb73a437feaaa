// Importance criteria for Shears: separate plugins that score weights
// (score) and groups of coupled channels (scoreGroup), for any strategy.
export { l1, l2, type MagnitudeOptions } from './magnitude.js';
export { fpgm, medianDistances, type FpgmOptions } from './fpgm.js';
export { bnScale, type BnScaleOptions } from './bn-scale.js';
export { random, type RandomOptions } from './random.js';
export { meanActivation, apoz, hrank, matrixRank, type ActivationOptions } from './activation.js';
export { aggregate, normalizeScores, sliceSums, type Normalize } from './common.js';
