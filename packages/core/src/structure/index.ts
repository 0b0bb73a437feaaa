export type * from './types.js';
export { buildDependencyGraph, ChannelGraph } from './graph.js';
export { removeChannels, applyChannelRemoval, planSelection, type RemoveChannelsOptions, type RemoveChannelsReport } from './apply.js';
export { maskChannels, applyChannelMask, type MaskChannelsReport } from './mask.js';
export { findDeadChannels, type DeadChannels, type DeadChannelOptions } from './dead.js';
export { float32Source } from './tensor-slice.js';
export { cachedDependencyGraph } from './graph.js';
