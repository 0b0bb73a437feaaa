import type { Graph } from './graph.js';
import type { Tensor } from './tensor.js';
import type { ValueType } from './types.js';

export interface SparseTensor {
  values: Tensor;
  indices: Tensor;
  dims: number[];
}

export type AttributeValue =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'graph'; value: Graph }
  | { type: 'sparse_tensor'; value: SparseTensor }
  | { type: 'type_proto'; value: ValueType }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] }
  | { type: 'tensors'; value: Tensor[] }
  | { type: 'graphs'; value: Graph[] }
  | { type: 'sparse_tensors'; value: SparseTensor[] }
  | { type: 'type_protos'; value: ValueType[] };

export type Attribute = AttributeValue & {
  name: string;
  /** Set inside functions: the attribute takes the caller's attribute of this name. */
  refAttrName?: string;
  docString?: string;
};

export type AttributeType = Attribute['type'];
