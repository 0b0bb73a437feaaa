import { dtypeCode, type Dim, type ValueType } from '@shears/core';
import type { onnx } from './proto.js';

function encodeShape(shape: readonly Dim[], denotations?: readonly (string | undefined)[]): onnx.ITensorShapeProto {
  return {
    dim: shape.map((d, i) => {
      const dim: onnx.TensorShapeProto.IDimension = {};
      if (typeof d === 'number') dim.dim_value = d;
      else if (typeof d === 'string') dim.dim_param = d;
      const den = denotations?.[i];
      if (den !== undefined) dim.denotation = den;
      return dim;
    }),
  };
}

/** ValueType -> a TypeProto object for the generated encoder. */
export function encodeType(t: ValueType): onnx.ITypeProto {
  const out: onnx.ITypeProto = {};
  switch (t.kind) {
    case 'tensor':
    case 'sparse_tensor': {
      const tt: onnx.TypeProto.ITensor = { elem_type: dtypeCode(t.dtype) };
      if (t.shape) tt.shape = encodeShape(t.shape, t.dimDenotations);
      if (t.kind === 'tensor') out.tensor_type = tt;
      else out.sparse_tensor_type = tt;
      break;
    }
    case 'sequence':
      out.sequence_type = t.elem ? { elem_type: encodeType(t.elem) } : {};
      break;
    case 'optional':
      out.optional_type = t.elem ? { elem_type: encodeType(t.elem) } : {};
      break;
    case 'map':
      out.map_type = { key_type: dtypeCode(t.keyType), ...(t.valueType ? { value_type: encodeType(t.valueType) } : {}) };
      break;
  }
  if (t.denotation !== undefined) out.denotation = t.denotation;
  return out;
}
