import { dtypeFromCode, type Dim, type DType, type ValueType } from '@shears/core';
import { checkUnknowns, has, type onnx } from './proto.js';
import { DecodeError } from './errors.js';
import { int64Exact } from './int64.js';

/** An element type code from a TypeProto: 0 (unset) is 'undefined'; unknown codes are not representable. */
function elemType(code: number): DType | null {
  return dtypeFromCode(code) ?? null;
}

function decodeShape(shape: onnx.ITensorShapeProto): { shape: Dim[]; dimDenotations?: (string | undefined)[] } {
  checkUnknowns(shape as onnx.TensorShapeProto, 'TensorShapeProto');
  const dims: Dim[] = [];
  let denotations: (string | undefined)[] | undefined;
  const list = shape.dim ?? [];
  for (let i = 0; i < list.length; i++) {
    const d = list[i] as onnx.TensorShapeProto.Dimension;
    checkUnknowns(d, 'TensorShapeProto.Dimension');
    if (has(d, 'dim_value') && d.dim_value != null) {
      const n = int64Exact(d.dim_value);
      if (n === null) throw new DecodeError(`dimension value ${String(d.dim_value)} is out of range`);
      dims.push(n);
    } else if (has(d, 'dim_param') && d.dim_param != null) dims.push(d.dim_param);
    else dims.push(null);
    if (has(d, 'denotation')) (denotations ??= new Array(list.length).fill(undefined))[i] = d.denotation;
  }
  return denotations ? { shape: dims, dimDenotations: denotations } : { shape: dims };
}

/** TypeProto -> ValueType; null when the IR cannot express it (opaque, unset, unknown dtype). */
export function decodeType(t: onnx.ITypeProto): ValueType | null {
  checkUnknowns(t as onnx.TypeProto, 'TypeProto');
  const denotation = has(t, 'denotation') ? { denotation: t.denotation! } : {};
  const tensorLike = (kind: 'tensor' | 'sparse_tensor', tt: onnx.TypeProto.ITensor | onnx.TypeProto.ISparseTensor): ValueType | null => {
    checkUnknowns(tt as onnx.TypeProto.Tensor, kind === 'tensor' ? 'TypeProto.Tensor' : 'TypeProto.SparseTensor');
    const dtype = elemType(tt.elem_type ?? 0);
    if (!dtype) return null;
    const shape = has(tt, 'shape') && tt.shape ? decodeShape(tt.shape) : {};
    return { kind, dtype, ...shape, ...denotation };
  };
  const inner = (e: onnx.ITypeProto | null | undefined): { elem?: ValueType } | null => {
    if (!e) return {};
    const v = decodeType(e);
    return v ? { elem: v } : null;
  };
  if (t.tensor_type) return tensorLike('tensor', t.tensor_type);
  if (t.sparse_tensor_type) return tensorLike('sparse_tensor', t.sparse_tensor_type);
  if (t.sequence_type || t.optional_type) {
    const kind = t.sequence_type ? 'sequence' : 'optional';
    const msg = (t.sequence_type ?? t.optional_type)!;
    checkUnknowns(msg as onnx.TypeProto.Sequence, kind === 'sequence' ? 'TypeProto.Sequence' : 'TypeProto.Optional');
    const e = inner(msg.elem_type);
    return e ? { kind, ...e, ...denotation } : null;
  }
  if (t.map_type) {
    checkUnknowns(t.map_type as onnx.TypeProto.Map, 'TypeProto.Map');
    const keyType = elemType(t.map_type.key_type ?? 0);
    const v = t.map_type.value_type ? decodeType(t.map_type.value_type) : undefined;
    if (!keyType || v === null) return null;
    return { kind: 'map', keyType, ...(v ? { valueType: v } : {}), ...denotation };
  }
  return null;
}
