// A CNTK-style model (as the ONNX model zoo's MNIST classifier, CNTK 2.5, opset 8),
// generated from a seed: conv biases are separate Adds of [C,1,1] constants, and
// the hidden layer's MatMul weight is a Reshape of an initializer.
import { fillUniform, Model, Node, Tensor, Value, type AttributeValue } from '@shears/core';

const floats = (name: string, dims: number[], seed: number, scale: number) => {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = fillUniform(new Float32Array(n), seed).map((x) => (x - 0.5) * 2 * scale);
  return Tensor.fromFloat32(name, dims, d);
};

/** The model: input [1,1,8,8] → Conv+Add(bias)+Relu ×2 → Reshape → MatMul(Reshape(W)) + Add → Relu → MatMul → [1,10]. */
export function cntkStyleModel(seed = 7): Model {
  const m = new Model({ opsetImports: { '': 8 }, irVersion: 3 });
  m.producerName = 'CNTK';
  m.producerVersion = '2.5';
  const g = m.graph;
  const x = g.addInput(new Value('Input3', { kind: 'tensor', dtype: 'float32', shape: [1, 1, 8, 8] }));
  const init = (t: Tensor) => g.addInitializer(t, t.name);
  const node = (opType: string, name: string, inputs: Value[], attributes: Record<string, AttributeValue> = {}) =>
    g.appendNode(new Node({ opType, name, inputs, outputs: [`${name}_Output_0`], attributes })).outputs[0]!;
  const conv = (i: number, xin: Value, cin: number, cout: number) => {
    const w = init(floats(`Parameter${i}`, [cout, cin, 3, 3], seed + i, 0.4));
    const b = init(floats(`Parameter${i}_bias`, [cout, 1, 1], seed + 100 + i, 0.1));
    const c = node('Conv', `Convolution${i}`, [xin, w], { kernel_shape: { type: 'ints', value: [3, 3] }, pads: { type: 'ints', value: [1, 1, 1, 1] } });
    return node('Relu', `ReLU${i}`, [node('Add', `Plus${i}`, [c, b])]);
  };
  const h2 = conv(2, conv(1, x, 1, 8), 8, 16);
  const flat = node('Reshape', 'Times212_reshape0', [h2, init(Tensor.fromInt64('Parameter_shape', [2], [1, 16 * 8 * 8]))]);
  const wRaw = init(floats('Parameter193', [16, 8, 8, 32], seed + 3, 0.05));
  const w = node('Reshape', 'Parameter193_reshape1', [wRaw, init(Tensor.fromInt64('Parameter193_shape', [2], [16 * 8 * 8, 32]))]);
  const fc = node('Relu', 'ReLU3', [node('Add', 'Plus3', [node('MatMul', 'Times212', [flat, w]), init(floats('Parameter194', [1, 32], seed + 4, 0.1))])]);
  const out = node('MatMul', 'Times622', [fc, init(floats('Parameter195', [32, 10], seed + 5, 0.3))]);
  g.outputs.push(out);
  out.type = { kind: 'tensor', dtype: 'float32', shape: [1, 10] };
  return m;
}
