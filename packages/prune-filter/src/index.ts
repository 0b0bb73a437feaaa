// Structured pruning strategies: `filter` (criterion-ranked channels of
// coupled groups) and `compact` (lossless removal of dead channels). Both
// plan remove-channels actions; @shears/core's applyPlan removes them.
export { filterPruning, blockedReason, firstReason, candidates, removeAction, targetOf, targetDetails, nonePrunable, warnShortfalls } from './filter.js';
export { compactPruning } from './compact.js';
export { filterSchema, compactSchema, structureSchema, oneAmount, type FilterOptions, type CompactOptions } from './options.js';
export { constrain, byAmount, byTable, tableAmount, globalAmount, keepNonEmpty, scored, type Limits, type Notes, type Scored, type Selection } from './select.js';
export { scoreGroups } from './scores.js';
export { solveTarget, targetMacs, pinnedSummary, TARGET_TOLERANCE, type TargetGoal, type TargetResult } from './target.js';
export { CostModel, type Metric } from './cost.js';
export { listGroups, type GroupSummary } from './list.js';
