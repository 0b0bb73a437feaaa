export { analyzeModel, countParams, type AnalyzeOptions, type LayerStats, type ModelStats, type PartialModelStats } from './analyze.js';
export { countNonzero } from './nonzero.js';
