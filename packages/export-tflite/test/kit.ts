import { Graph, Model, Node, Tensor, Value, tensorType, type AttributeValue, type DType } from '@shears/core';
import { seededFloats } from '@shears/core/testing';
import { convertToTflite, verifyTflite, type TfliteConversion, type TfliteConvertOptions, type VerifyResult } from '../src/index.js';

/** A small ONNX IR model built in code, for op-level tests. */
export class Build {
  readonly g = new Graph('test');
  readonly model: Model;
  #n = 0;
  #seed = 1;

  constructor(opset = 17) {
    this.model = new Model({ graph: this.g, opsetImports: { '': opset }, producerName: 'export-tflite tests' });
  }

  input(name: string, shape: (number | string)[], dtype: DType = 'float32'): Value {
    return this.g.addInput(new Value(name, tensorType(dtype, shape)));
  }

  /** A float32 initializer; random (seeded) unless data is given. */
  w(dims: number[], data?: number[] | Float32Array, scale = 0.5): Value {
    const n = dims.reduce((a, b) => a * b, 1);
    const t = Tensor.fromFloat32('', dims, data ? Float32Array.from(data) : seededFloats(n, this.#seed++, scale));
    return this.g.addInitializer(t, `w${this.#n++}`);
  }

  i64(values: number[], dims = [values.length]): Value {
    return this.g.addInitializer(Tensor.fromInt64('', dims, values), `i${this.#n++}`);
  }

  node(opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}, outputs = 1, domain = ''): Value[] {
    const k = this.#n++;
    const n = new Node({ opType, domain, name: `${opType.toLowerCase()}${k}`, inputs, outputs: Array.from({ length: outputs }, (_, i) => `${opType.toLowerCase()}${k}_out${i}`), attributes });
    this.g.appendNode(n);
    return [...n.outputs];
  }

  one(opType: string, inputs: (Value | null)[], attributes: Record<string, AttributeValue> = {}): Value {
    return this.node(opType, inputs, attributes)[0]!;
  }

  out(...vs: Value[]): Model {
    this.g.outputs.push(...vs);
    return this.model;
  }
}

export const int = (value: number): AttributeValue => ({ type: 'int', value });
export const ints = (value: number[]): AttributeValue => ({ type: 'ints', value });
export const float = (value: number): AttributeValue => ({ type: 'float', value });
export const str = (value: string): AttributeValue => ({ type: 'string', value });

/** Convert, run in LiteRT.js and onnxruntime, and return both. */
export async function roundTrip(model: Model, opts: TfliteConvertOptions = {}): Promise<{ conv: TfliteConversion; v: VerifyResult }> {
  const conv = convertToTflite(model, opts);
  const v = await verifyTflite(model, conv);
  return { conv, v };
}
