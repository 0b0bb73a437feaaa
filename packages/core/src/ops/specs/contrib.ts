// com.microsoft fused compute ops, as onnxruntime writes them into an
// optimized model (optimizedModelFilePath, 'extended' level and up):
// FusedConv (Conv [+ Z] + activation), FusedGemm (Gemm + activation) and
// FusedMatMul (MatMul with transposes and a scale). Each is its plain op plus
// an epilogue: the activation and the residual sum the dependency graph and
// the zero analysis must know about.
import type { Node } from '../../ir/node.js';
import type { Dim } from '../../ir/types.js';
import { allNum } from '../../shape/dims.js';
import { constTensorOf } from '../helpers.js';
import type { Epilogue, OpContext, OpSpec, WeightRole } from '../types.js';
import { t } from './common.js';
import { CONV_SPECS } from './conv.js';
import { LINEAR_SPECS, matmulShape } from './linear.js';

const MS = { domain: 'com.microsoft', since: 1 } as const;

const base = (list: OpSpec[], opType: string): OpSpec => {
  const s = list.find((x) => x.opType === opType && x.domain === '');
  if (!s) throw new Error(`contrib specs: no ${opType} spec to build on`);
  return s;
};

/**
 * activation(0) = 0 for the activations onnxruntime fuses (MLAS and the
 * Gemm fusion list), with their parameters: Clip [min, max], HardSigmoid
 * [alpha, beta], LeakyRelu [alpha]. Unknown names count as not preserving.
 */
export function activationKeepsZero(name: string, params: readonly number[]): boolean {
  switch (name) {
    case '':
    case 'Relu':
    case 'LeakyRelu':
    case 'Tanh':
    case 'Elu':
    case 'Selu':
    case 'Softsign':
    case 'ThresholdedRelu':
      return true;
    case 'Clip': {
      const [lo, hi] = [params[0] ?? -Infinity, params[1] ?? Infinity];
      return lo <= 0 && hi >= 0;
    }
    case 'HardSigmoid':
      // max(0, min(1, alpha·0 + beta)) = 0 iff beta ≤ 0 (default beta 0.5).
      return (params[1] ?? 0.5) <= 0;
    default:
      // Sigmoid (0.5), Softplus (ln 2), and anything not listed.
      return false;
  }
}

function floatsAttr(node: Node, name: string): number[] {
  const a = node.attributes.get(name);
  return a?.type === 'floats' ? a.value : a?.type === 'float' ? [a.value] : [];
}

/** FusedConv: Y = activation(Conv(X, W, B) + Z), activation_params as a float list. */
function fusedConvEpilogue(node: Node): Epilogue {
  const activation = node.attrString('activation', '');
  return { activation, zeroPreserving: activationKeepsZero(activation, floatsAttr(node, 'activation_params')), sum: node.input(3) ? [3] : [] };
}

/** FusedGemm: Y = activation(alpha·A·B + beta·C), parameters in activation_alpha/beta (LeakyRelu: leaky_relu_alpha). */
function fusedGemmEpilogue(node: Node): Epilogue {
  const activation = node.attrString('activation', '');
  const alpha = node.attrFloat('activation_alpha') ?? node.attrFloat('leaky_relu_alpha');
  const beta = node.attrFloat('activation_beta');
  const params = activation === 'HardSigmoid' ? [alpha ?? 0.2, beta ?? 0.5] : activation === 'Clip' ? [alpha ?? -Infinity, beta ?? Infinity] : [];
  return { activation, zeroPreserving: activationKeepsZero(activation, params), sum: [] };
}

// --- FusedMatMul: transA/transB swap the last two axes; transBatchA/B move batch axes (not followed) ---

const swapLast = (s: readonly Dim[] | undefined, on: boolean): Dim[] | undefined => {
  if (!s || !on || s.length < 2) return s && [...s];
  const r = [...s];
  [r[r.length - 2], r[r.length - 1]] = [r[r.length - 1]!, r[r.length - 2]!];
  return r;
};
const flag = (node: Node, name: string) => node.attrInt(name, 0) === 1;
const batchMoved = (node: Node) => flag(node, 'transBatchA') || flag(node, 'transBatchB');

function fusedMatMulWeights(node: Node): WeightRole[] {
  const b = constTensorOf(node.input(1));
  if (!b || b.dims.length < 2 || batchMoved(node)) return [];
  const r = b.dims.length;
  return flag(node, 'transB') ? [{ input: 1, role: 'weight', outAxis: r - 2, inAxis: r - 1 }] : [{ input: 1, role: 'weight', outAxis: r - 1, inAxis: r - 2 }];
}

function fusedMatMulShape(ctx: OpContext) {
  if (batchMoved(ctx.node)) return [t(ctx.dtype(0), undefined)];
  return [t(ctx.dtype(0), matmulShape(swapLast(ctx.shape(0), flag(ctx.node, 'transA')), swapLast(ctx.shape(1), flag(ctx.node, 'transB'))))];
}

function fusedMatMulMacs(ctx: OpContext): number | undefined {
  const a = ctx.shape(0);
  const out = ctx.outputShape(0);
  if (!a || !out || !allNum(a) || !allNum(out) || a.length < 2 || batchMoved(ctx.node)) return undefined;
  const k = flag(ctx.node, 'transA') ? a[a.length - 2]! : a[a.length - 1]!;
  return out.reduce((x, y) => x * y, 1) * k;
}

const CONV = base(CONV_SPECS, 'Conv');
const GEMM = base(LINEAR_SPECS, 'Gemm');

export const CONTRIB_SPECS: OpSpec[] = [
  // X, W, B, Z: Conv's rules; Z (same shape as Y) is added before the activation.
  { ...CONV, ...MS, opType: 'FusedConv', epilogue: fusedConvEpilogue },
  { ...GEMM, ...MS, opType: 'FusedGemm', epilogue: fusedGemmEpilogue },
  {
    ...MS,
    opType: 'FusedMatMul',
    channel: 'compute',
    channelAxis: -1,
    inputChannelAxis: (node) => (flag(node, 'transA') ? -2 : -1),
    weights: fusedMatMulWeights,
    prunable: (node) => fusedMatMulWeights(node).length > 0,
    infer: fusedMatMulShape,
    macs: fusedMatMulMacs,
  },
];
