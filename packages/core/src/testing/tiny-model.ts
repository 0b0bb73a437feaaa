import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Node } from '../ir/node.js';
import { Tensor } from '../ir/tensor.js';
import { tensorType } from '../ir/types.js';
import { Value } from '../ir/value.js';

/** Deterministic pseudo-random floats (mulberry32), so fixtures are reproducible. */
export function seededFloats(n: number, seed = 1, scale = 1): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

/**
 * A small CNN built with the IR API: Conv(3→8)-Relu-Conv(8→16)-Relu-
 * GlobalAveragePool-Flatten-Gemm(16→10), input 1x3x8x8. For plugin tests.
 */
export function tinyModel(): Model {
  const g = new Graph('tiny');
  const x = g.addInput(new Value('input', tensorType('float32', [1, 3, 8, 8])));
  const w1 = g.addInitializer(new Tensor({ name: 'conv1.weight', dtype: 'float32', dims: [8, 3, 3, 3], data: seededFloats(8 * 27, 1, 0.5) }));
  const b1 = g.addInitializer(new Tensor({ name: 'conv1.bias', dtype: 'float32', dims: [8], data: seededFloats(8, 2, 0.1) }));
  const w2 = g.addInitializer(new Tensor({ name: 'conv2.weight', dtype: 'float32', dims: [16, 8, 3, 3], data: seededFloats(16 * 72, 3, 0.3) }));
  const b2 = g.addInitializer(new Tensor({ name: 'conv2.bias', dtype: 'float32', dims: [16], data: seededFloats(16, 4, 0.1) }));
  const wf = g.addInitializer(new Tensor({ name: 'fc.weight', dtype: 'float32', dims: [10, 16], data: seededFloats(160, 5, 0.3) }));
  const bf = g.addInitializer(new Tensor({ name: 'fc.bias', dtype: 'float32', dims: [10], data: seededFloats(10, 6, 0.1) }));
  const pads = { type: 'ints' as const, value: [1, 1, 1, 1] };
  const c1 = g.appendNode(new Node({ opType: 'Conv', name: 'conv1', inputs: [x, w1, b1], outputs: ['c1'], attributes: { pads, kernel_shape: { type: 'ints', value: [3, 3] } } }));
  const r1 = g.appendNode(new Node({ opType: 'Relu', name: 'relu1', inputs: [c1.outputs[0]!], outputs: ['r1'] }));
  const c2 = g.appendNode(new Node({ opType: 'Conv', name: 'conv2', inputs: [r1.outputs[0]!, w2, b2], outputs: ['c2'], attributes: { pads, kernel_shape: { type: 'ints', value: [3, 3] } } }));
  const r2 = g.appendNode(new Node({ opType: 'Relu', name: 'relu2', inputs: [c2.outputs[0]!], outputs: ['r2'] }));
  const gap = g.appendNode(new Node({ opType: 'GlobalAveragePool', name: 'gap', inputs: [r2.outputs[0]!], outputs: ['gap'] }));
  const fl = g.appendNode(new Node({ opType: 'Flatten', name: 'flatten', inputs: [gap.outputs[0]!], outputs: ['flat'], attributes: { axis: { type: 'int', value: 1 } } }));
  const fc = g.appendNode(new Node({ opType: 'Gemm', name: 'fc', inputs: [fl.outputs[0]!, wf, bf], outputs: ['output'], attributes: { transB: { type: 'int', value: 1 } } }));
  fc.outputs[0]!.type = tensorType('float32', [1, 10]);
  g.outputs.push(fc.outputs[0]!);
  return new Model({ graph: g, opsetImports: { '': 17 }, producerName: 'shears-testing' });
}
