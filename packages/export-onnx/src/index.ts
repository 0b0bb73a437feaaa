export { onnxExport, prepareDeployModel, writeChecked, deployOptionsSchema, exportOptionsSchema } from './exporter.js';
export type { DeployOptions, DeployReport, ModelCounts, OnnxExportOptions } from './exporter.js';
export {
  stripTraining,
  foldBatchNorm,
  foldConstantsDeploy,
  removeDead,
  dedupeInitializers,
  fixDims,
  float16,
  DEPLOY_PASSES,
  TRAINING_ONLY_DOMAINS,
  stripTrainingPass,
  foldBatchNormPass,
  foldConstantsPass,
  removeDeadPass,
  dedupeInitializersPass,
  fixDimsPass,
  float16Pass,
  toHalf,
} from './passes.js';
export { passPlugin, type DeployPass, type PassReport } from './pass-kit.js';
export { convertOpset, irVersionFor, OPSET_TABLE, MIN_OPSET, MAX_OPSET, type OpsetReport, type ExtraParam } from './opset.js';
export { validateModel, runOfficialChecker, officialCheckerAvailable, type ValidationIssue, type CheckerResult } from './validate.js';
export { onnxExport as default } from './exporter.js';
