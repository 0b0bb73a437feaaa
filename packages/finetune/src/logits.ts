// Training through a final Softmax: Keras, CNTK and many zoo models end in a
// Softmax (or LogSoftmax), so their output is probabilities. Cross-entropy and
// distillation take logits; fed probabilities they apply a second softmax and
// the distillation term all but vanishes (issue 15: 0.063 instead of 14.3 on a
// Keras ResNet-8). The runner trains on the Softmax's input instead; the model
// written out keeps its Softmax.

import type { Model, Node } from '@shears/core';

/** Ops between the Softmax and the graph output that only move the same numbers (row-major order kept). */
const PASS_THROUGH = new Set(['Identity', 'Flatten', 'Reshape', 'Squeeze', 'Dropout']);

/** 'auto' (default): train on the input of a final Softmax/LogSoftmax over the classes; 'output': on the graph output as it is. */
export type LogitsMode = 'auto' | 'output';

/** A Softmax/LogSoftmax that makes a graph output (found from the graph alone; `overClasses` checks its axis). */
export interface SoftmaxEnd {
  /** The graph output. */
  output: string;
  /** The Softmax/LogSoftmax node (its label) and op. */
  node: string;
  op: 'Softmax' | 'LogSoftmax';
  /** Its input: the logits. */
  value: string;
  axis: number;
  /** The node's opset: before 13, Softmax flattens from `axis` on; from 13, it reduces over `axis` only. */
  opset: number;
  /** The pass-through ops between it and the output. */
  through: string[];
}

/** Where the trained logits came from (in the result and the log). */
export interface LogitsFrom {
  output: string;
  node: string;
  op: 'Softmax' | 'LogSoftmax';
  /** The value trained on (the Softmax's input). */
  value: string;
}

/** The Softmax/LogSoftmax (default domain) that makes graph output `index`, through Identity/Flatten/Reshape/Squeeze/Dropout. */
export function findSoftmaxEnd(model: Model, index = 0): SoftmaxEnd | undefined {
  const out = model.graph.outputs[index];
  if (!out) return undefined;
  const through: string[] = [];
  let node: Node | null | undefined = out.producer;
  while (node && node.domain === '' && PASS_THROUGH.has(node.opType) && through.length < 8) {
    through.push(node.opType);
    node = node.input(0)?.producer;
  }
  if (!node || node.domain !== '' || (node.opType !== 'Softmax' && node.opType !== 'LogSoftmax')) return undefined;
  const input = node.input(0);
  if (!input) return undefined;
  const opset = model.opset('') ?? 13;
  return {
    output: out.name,
    node: node.label,
    op: node.opType as SoftmaxEnd['op'],
    value: input.name,
    axis: node.attrInt('axis', opset >= 13 ? -1 : 1),
    opset,
    through,
  };
}

/**
 * Whether the Softmax normalizes each sample over all of its classes: the
 * dims it reduces hold every non-batch element of its input ([N, C] with axis
 * 1 or -1, or [N, C, 1, 1] over C), and the output is [N, K] with K those elements.
 * A Softmax over another axis (spatial, per-token) is not a classifier's.
 */
export function overClasses(end: SoftmaxEnd, inputDims: readonly number[], outputDims: readonly number[]): boolean {
  const r = inputDims.length;
  const a = end.axis < 0 ? end.axis + r : end.axis;
  if (r < 2 || a < 1 || a >= r) return false;
  const per = inputDims.slice(1).reduce((x, y) => x * y, 1);
  const reduced = end.opset < 13 ? inputDims.slice(a).reduce((x, y) => x * y, 1) : inputDims[a]!;
  return reduced === per && outputDims.length === 2 && outputDims[1] === per;
}
