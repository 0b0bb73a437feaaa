// A tiny real-weight YOLO-style detector for recipe tests: images [1,3,64,64]
// → Conv(3→16, 8×8, stride 8) → Relu → Conv(16→6, 1×1) → Reshape [1, 6, 64]
// → + constant anchors → output0 [1, 4+2, 64] (cx,cy,w,h, 2 class scores).
// The constant places the two ground-truth boxes of fixtures/detect-yolo
// (letterboxed: (10,13)-(30,33) class 0, (35,28)-(59,52) class 1) on two
// anchors; the convs add a few pixels of image-dependent jitter to the boxes
// and a little to the scores, so pruning conv1's channels moves mAP.
import { Graph, Model, Node, Tensor, tensorType, Value } from '@shears/core';
import { seededFloats } from '@shears/core/testing';
import { writeModel } from '@shears/onnx';

const A = 64;

function anchors(): Float32Array {
  const out = new Float32Array(6 * A);
  const put = (a: number, box: number[], cls: number, score: number) => {
    const [x1, y1, x2, y2] = box as [number, number, number, number];
    [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1].forEach((v, k) => (out[k * A + a] = v));
    out[(4 + cls) * A + a] = score;
  };
  put(19, [10, 13, 30, 33], 0, 0.9);
  put(36, [35, 28, 59, 52], 1, 0.8);
  put(45, [30, 30, 50, 50], 0, 0.3); // a false positive
  return out;
}

export function tinyDetector(): Model {
  const g = new Graph('tiny-detector');
  const x = g.addInput(new Value('images', tensorType('float32', [1, 3, 64, 64])));
  const init = (name: string, dims: number[], data: Float32Array) => g.addInitializer(new Tensor({ name, dtype: 'float32', dims, data }));
  const w1 = init('conv1.weight', [16, 3, 8, 8], seededFloats(16 * 192, 11, 0.08));
  const b1 = init('conv1.bias', [16], seededFloats(16, 12, 0.1));
  // Box rows jitter by pixels, score rows by hundredths.
  const w2data = seededFloats(6 * 16, 13, 1);
  for (let i = 4 * 16; i < 6 * 16; i++) w2data[i]! *= 0.02;
  const w2 = init('conv2.weight', [6, 16, 1, 1], w2data);
  const b2 = init('conv2.bias', [6], new Float32Array(6));
  const shape = g.addInitializer(new Tensor({ name: 'shape', dtype: 'int64', dims: [3], data: BigInt64Array.from([1n, 6n, BigInt(A)]) }));
  const base = init('anchors', [1, 6, A], anchors());
  const k8 = { kernel_shape: { type: 'ints' as const, value: [8, 8] }, strides: { type: 'ints' as const, value: [8, 8] } };
  const c1 = g.appendNode(new Node({ opType: 'Conv', name: 'conv1', inputs: [x, w1, b1], outputs: ['c1'], attributes: k8 }));
  const r1 = g.appendNode(new Node({ opType: 'Relu', name: 'relu1', inputs: [c1.outputs[0]!], outputs: ['r1'] }));
  const c2 = g.appendNode(new Node({ opType: 'Conv', name: 'conv2', inputs: [r1.outputs[0]!, w2, b2], outputs: ['c2'], attributes: { kernel_shape: { type: 'ints', value: [1, 1] } } }));
  const rs = g.appendNode(new Node({ opType: 'Reshape', name: 'flatten', inputs: [c2.outputs[0]!, shape], outputs: ['flat'] }));
  const add = g.appendNode(new Node({ opType: 'Add', name: 'decode', inputs: [rs.outputs[0]!, base], outputs: ['output0'] }));
  add.outputs[0]!.type = tensorType('float32', [1, 6, A]);
  g.outputs.push(add.outputs[0]!);
  return new Model({ graph: g, opsetImports: { '': 17 }, producerName: 'shears-test' });
}

export async function writeTinyDetector(path: string): Promise<void> {
  await writeModel(tinyDetector(), path);
}
