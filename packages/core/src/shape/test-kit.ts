// Builds small models with the IR API for unit tests (not exported from the package).
import type { DType } from '../ir/dtype.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import type { AttributeValue } from '../ir/attribute.js';
import type { Dim } from '../ir/types.js';
import { Value } from '../ir/value.js';

export type Attrs = Record<string, number | number[] | string | Tensor | AttributeValue>;

function attr(v: Attrs[string]): AttributeValue {
  if (v instanceof Tensor) return { type: 'tensor', value: v };
  if (typeof v === 'string') return { type: 'string', value: v };
  if (typeof v === 'number') return Number.isInteger(v) ? { type: 'int', value: v } : { type: 'float', value: v };
  if (Array.isArray(v)) return { type: 'ints', value: v };
  return v;
}

export function floatAttr(v: number): AttributeValue {
  return { type: 'float', value: v };
}

export class Kit {
  readonly model: Model;
  #n = 0;

  constructor(opsets: Record<string, number> | number = 17) {
    this.model = new Model({ opsetImports: typeof opsets === 'number' ? { '': opsets } : opsets });
  }

  get graph() {
    return this.model.graph;
  }

  input(name: string, shape: Dim[] | undefined, dtype: DType = 'float32'): Value {
    return this.graph.addInput(new Value(name, { kind: 'tensor', dtype, shape }));
  }

  init(name: string, tensor: Tensor): Value {
    return this.graph.addInitializer(tensor, name);
  }

  ints(values: (number | bigint)[], dims: number[] = [values.length]): Value {
    return this.init(`c${this.#n++}`, Tensor.fromInt64('', dims, values));
  }

  floats(dims: number[], values?: number[]): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    return this.init(`f${this.#n++}`, Tensor.fromFloat32('', dims, values ?? Array.from({ length: n }, (_, i) => (i % 7) - 3)));
  }

  /** Append a node; returns its outputs. Omitted inputs are null. */
  node(opType: string, inputs: (Value | null)[], attrs: Attrs = {}, outputs = 1, domain = ''): Value[] {
    const id = this.#n++;
    const node = new Node({
      opType,
      domain,
      name: `${opType}_${id}`,
      inputs,
      outputs: Array.from({ length: outputs }, (_, i) => `${opType}_${id}_out${i}`),
      attributes: Object.fromEntries(Object.entries(attrs).map(([k, v]) => [k, attr(v)])),
    });
    this.graph.appendNode(node);
    return [...node.outputs];
  }

  one(opType: string, inputs: (Value | null)[], attrs: Attrs = {}, domain = ''): Value {
    return this.node(opType, inputs, attrs, 1, domain)[0]!;
  }

  output(...vs: Value[]): void {
    this.graph.outputs.push(...vs);
  }
}
