import { dtypeFromCode, type DType } from '../ir/dtype.js';
import type { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { Value } from '../ir/value.js';
import type { OpSpec, ParamSlots } from './types.js';

/**
 * The constant tensor behind a value: an initializer or an ONNX Constant
 * node's output. Does not look through other ops (Cast, DequantizeLinear…).
 */
export function constTensorOf(v: Value | null | undefined): Tensor | undefined {
  if (!v) return undefined;
  if (v.constValue) return v.constValue;
  const p = v.producer;
  if (p && p.opType === 'Constant' && p.domain === '' && p.inputs.length === 0) return constantNodeTensor(p);
  return undefined;
}

/** The tensor a Constant node produces (value, value_float(s), value_int(s), sparse_value). */
export function constantNodeTensor(node: Node): Tensor | undefined {
  for (const a of node.attributes.values()) {
    switch (a.name) {
      case 'value':
        if (a.type === 'tensor') return a.value;
        break;
      case 'value_float':
        if (a.type === 'float') return new Tensor({ dtype: 'float32', dims: [], data: Float32Array.of(a.value) });
        break;
      case 'value_floats':
        if (a.type === 'floats') return new Tensor({ dtype: 'float32', dims: [a.value.length], data: Float32Array.from(a.value) });
        break;
      case 'value_int':
        if (a.type === 'int') return Tensor.fromInt64('', [], [a.value]);
        break;
      case 'value_ints':
        if (a.type === 'ints') return Tensor.fromInt64('', [a.value.length], a.value);
        break;
      case 'sparse_value':
        if (a.type === 'sparse_tensor') return densify(a.value.values, a.value.indices, a.value.dims);
        break;
    }
  }
  return undefined;
}

function densify(values: Tensor, indices: Tensor, dims: number[]): Tensor {
  const out = new Tensor({ dtype: values.dtype, dims });
  const idx = indices.toNumbers();
  const src = values.values;
  const dst = out.values as unknown as { [i: number]: number | bigint };
  const nnz = values.size;
  const rank = dims.length;
  // Indices are [nnz] linear or [nnz, rank] coordinates.
  for (let k = 0; k < nnz; k++) {
    let flat = 0;
    if (indices.dims.length === 1) flat = idx[k]!;
    else for (let a = 0; a < rank; a++) flat = flat * dims[a]! + idx[k * rank + a]!;
    dst[flat] = src[k]!;
  }
  return out;
}

export function castTarget(node: Node): DType | undefined {
  const to = node.attrInt('to');
  return to === undefined ? undefined : dtypeFromCode(to);
}

export function resolveFlag(flag: boolean | ((n: Node) => boolean) | undefined, node: Node): boolean {
  return typeof flag === 'function' ? flag(node) : !!flag;
}

/** Which inputs carry activations for this node (see OpSpec.dataInputs). */
export function dataInputsOf(spec: OpSpec, node: Node): number[] {
  const d = spec.dataInputs ?? (spec.channel === 'elementwise' || spec.channel === 'concat' ? 'all' : spec.channel === 'source' ? [] : [0]);
  if (d === 'all') return node.inputs.flatMap((v, i) => (v ? [i] : []));
  return d.filter((i) => node.input(i) !== null);
}

/** The spec's weight roles for this node, limited to inputs that are present. */
export function weightRolesOf(spec: OpSpec, node: Node) {
  const roles = typeof spec.weights === 'function' ? spec.weights(node) : (spec.weights ?? []);
  return roles.filter((r) => node.input(r.input) !== null);
}

export function channelAxisOf(spec: OpSpec, node: Node): number {
  const a = spec.channelAxis;
  return typeof a === 'function' ? a(node) : (a ?? 1);
}

/** The axis of data input 0 that a compute op consumes channels on (see OpSpec.inputChannelAxis). */
export function inputChannelAxisOf(spec: OpSpec, node: Node): number {
  const a = spec.inputChannelAxis;
  if (a === undefined) return channelAxisOf(spec, node);
  return typeof a === 'function' ? a(node) : a;
}

/** Where the node's structural parameters live at an opset (empty when the op has none). */
export function paramSlotsOf(spec: OpSpec, opset: number): ParamSlots {
  return spec.params?.(opset) ?? { slots: {} };
}
