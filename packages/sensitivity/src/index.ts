// Sensitivity analysis: how much accuracy each layer loses when pruned alone,
// and a per-layer amount table within a tolerance (for `amountTable`).
export {
  scanSensitivity,
  scanLayers,
  prunedAlone,
  proposeAmount,
  proposalTable,
  loadArrays,
  exactKey,
  type ScanOptions,
  type ScanLayer,
  type SensitivityCurve,
  type SensitivityResult,
  type SensitivityStrategy,
} from './scan.js';
export { sensitivity, SENSITIVITY, type SensitivityOptions } from './plugin.js';
export { EvalPool } from './pool.js';
export { countTop1, type EvalArrays, type InputSpec } from './top1.js';
