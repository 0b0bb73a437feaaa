export { analyzeModel, countParams, type AnalyzeOptions, type LayerStats, type ModelStats } from './analyze.js';
export { countNonzero } from './nonzero.js';
