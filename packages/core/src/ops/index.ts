export type * from './types.js';
export { OpRegistry, defaultOpRegistry, isKnownOp, checkKnownOps, normalizeDomain } from './registry.js';
export { ONNX_OPS, ONNX_ML_OPS, MICROSOFT_OPS, KNOWN_DOMAINS } from './known-ops.js';
export { constTensorOf, constantNodeTensor, dataInputsOf, weightRolesOf, channelAxisOf, inputChannelAxisOf, paramSlotsOf, resolveFlag } from './helpers.js';
