export { readModel, readModelSync, modelSourcePath, type ReadOptions } from './read.js';
export { decodeModel, type DecodeOptions } from './decode-model.js';
export { encodeModel } from './encode-model.js';
export { writeModel, writeModelSync, type WriteOptions } from './write.js';
export { onnxImport, onnxWrite } from './plugins.js';
export type { OnnxImportOptions, OnnxWriteOptions } from './plugins.js';
