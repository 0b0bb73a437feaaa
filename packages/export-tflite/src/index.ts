export { exportTflite, plainSize, type ExportTfliteOptions, type ExportTfliteDetails } from './plugin.js';
export { convertToTflite, type TfliteConvertOptions, type TfliteConversion, type TfliteIO } from './convert.js';
export type { ConvertOptions, SparseRecord } from './converter.js';
export { verifyTflite, randomNormal, type VerifyOptions, type VerifyResult } from './verify.js';
export { runTflite, loadLiteRtNode, type TfliteTensorIn, type TfliteTensorOut } from './litert.js';
export { TFLITE_OPS, type TfliteOpMapping } from './ops.js';
export { BuiltinOperator, type OpName } from './schema.js';
export { toHalf, fromHalf, encodeSparse } from './encode.js';
export { evaluateTflite, type TfliteEvalOptions, type TfliteEvalResult } from './evaluate.js';
