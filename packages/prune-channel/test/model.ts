import { Graph, Model, Node, Tensor, tensorType, Value } from '@shears/core';
import { seededFloats } from '@shears/core/testing';

/**
 * Conv(3→8, 3×3)-Relu-Conv(8→16, 3×3, stride 2) on 3×10×10. Channels 4–7 of the first
 * conv repeat filters 0–3 exactly (so after the ReLU they are copies), and the second
 * conv reads them with small weights: they are what the selection drops, and a
 * refit can move their weights onto the copies, recovering the output exactly.
 */
export function redundantModel(): Model {
  const g = new Graph('redundant');
  const x = g.addInput(new Value('input', tensorType('float32', [1, 3, 10, 10])));
  const w1d = seededFloats(8 * 27, 11, 0.5);
  for (let o = 4; o < 8; o++) for (let i = 0; i < 27; i++) w1d[o * 27 + i] = w1d[(o - 4) * 27 + i]!;
  const b1d = seededFloats(8, 12, 0.1);
  for (let o = 4; o < 8; o++) b1d[o] = b1d[o - 4]!;
  const w2d = seededFloats(16 * 72, 13, 0.3);
  for (let o = 0; o < 16; o++) for (let i = 4 * 9; i < 72; i++) w2d[o * 72 + i]! *= 0.05;
  const w1 = g.addInitializer(new Tensor({ name: 'conv1.weight', dtype: 'float32', dims: [8, 3, 3, 3], data: w1d }));
  const b1 = g.addInitializer(new Tensor({ name: 'conv1.bias', dtype: 'float32', dims: [8], data: b1d }));
  const w2 = g.addInitializer(new Tensor({ name: 'conv2.weight', dtype: 'float32', dims: [16, 8, 3, 3], data: w2d }));
  const b2 = g.addInitializer(new Tensor({ name: 'conv2.bias', dtype: 'float32', dims: [16], data: seededFloats(16, 14, 0.1) }));
  const k = { type: 'ints' as const, value: [3, 3] };
  const c1 = g.appendNode(new Node({ opType: 'Conv', name: 'conv1', inputs: [x, w1, b1], outputs: ['c1'], attributes: { kernel_shape: k, pads: { type: 'ints', value: [1, 1, 1, 1] } } }));
  const r1 = g.appendNode(new Node({ opType: 'Relu', name: 'relu1', inputs: [c1.outputs[0]!], outputs: ['r1'] }));
  const c2 = g.appendNode(new Node({ opType: 'Conv', name: 'conv2', inputs: [r1.outputs[0]!, w2, b2], outputs: ['y'], attributes: { kernel_shape: k, strides: { type: 'ints', value: [2, 2] }, pads: { type: 'ints', value: [0, 1, 1, 0] } } }));
  const y = c2.outputs[0]!;
  y.type = tensorType('float32');
  g.outputs.push(y);
  const m = new Model({ opsetImports: { '': 17 } });
  m.graph = g;
  return m;
}


/**
 * x → Conv a (3→8) → Relu → r; Conv b (8→8) on r; s = r + b(r) (residual Add,
 * so a's and b's output channels are one group read by b and by Conv c (8→4)).
 */
export function residualModel(): Model {
  const g = new Graph('residual');
  const x = g.addInput(new Value('input', tensorType('float32', [1, 3, 8, 8])));
  const init = (name: string, dims: number[], seed: number, scale: number) =>
    g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data: seededFloats(dims.reduce((p, q) => p * q, 1), seed, scale) }));
  const k = { type: 'ints' as const, value: [3, 3] };
  const pads = { type: 'ints' as const, value: [1, 1, 1, 1] };
  const a = g.appendNode(new Node({ opType: 'Conv', name: 'a', inputs: [x, init('a.weight', [8, 3, 3, 3], 21, 0.5), init('a.bias', [8], 22, 0.1)], outputs: ['a'], attributes: { kernel_shape: k, pads } }));
  const r = g.appendNode(new Node({ opType: 'Relu', name: 'r', inputs: [a.outputs[0]!], outputs: ['r'] }));
  const b = g.appendNode(new Node({ opType: 'Conv', name: 'b', inputs: [r.outputs[0]!, init('b.weight', [8, 8, 3, 3], 23, 0.3), init('b.bias', [8], 24, 0.1)], outputs: ['b'], attributes: { kernel_shape: k, pads } }));
  const s = g.appendNode(new Node({ opType: 'Add', name: 'add', inputs: [r.outputs[0]!, b.outputs[0]!], outputs: ['s'] }));
  const c = g.appendNode(new Node({ opType: 'Conv', name: 'c', inputs: [s.outputs[0]!, init('c.weight', [4, 8, 1, 1], 25, 0.5), init('c.bias', [4], 26, 0.1)], outputs: ['y'], attributes: { kernel_shape: { type: 'ints', value: [1, 1] } } }));
  const y = c.outputs[0]!;
  y.type = tensorType('float32');
  g.outputs.push(y);
  const m = new Model({ opsetImports: { '': 17 } });
  m.graph = g;
  return m;
}
