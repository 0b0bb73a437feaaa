// Channel pruning with least-squares reconstruction: `channel` plans
// remove-channels (the dependency graph takes the producing filters and
// coupled channels along) plus set-tensor actions with the refit weights.
export { channelPruning, parseChannelOptions, NO_CALIBRATION } from './channel.js';
export type { LayerReport, GroupReport, NotRefitReport } from './details.js';
export { channelSchema, type ChannelOptions } from './options.js';
export { cholesky, cholSolve, choleskyBlocked, cholSolveBlocked, ridgeSolve, rank1Upper, symmetrize } from './linalg.js';
export { greedyScores, lassoScores } from './rank.js';
export { describeConsumer, type Consumer } from './consumers.js';
