export { tensorrtExport, prepareTensorRT, checkTensorRT, checkInt8, rewriteForTensorRT, trtexecCommand, tensorrtOptionsSchema } from './tensorrt.js';
export type { TensorrtOptions, TensorrtResult, TrtIssue } from './tensorrt.js';
export { sparsityReport, enforce24, type LayerSparsity, type SparsityReport, type SparsityOptions } from './sparsity.js';
export { LEFTOVER_WARNINGS, TRT_SUPPORTED_OPS, TRT_OPS_SINCE, TRT_RESTRICTIONS, TRT_OPSETS, DEFAULT_OPSET, QDQ_ZERO_POINT, IMPLICIT_INT8_OPS, INT32_OK_INPUTS, REWRITES, SPARSITY_24 } from './table.js';
export { tensorrtExport as default } from './tensorrt.js';
