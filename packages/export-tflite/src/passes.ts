import { constTensorOf, Node, type Graph, type Model, type Value } from '@shears/core';

/**
 * Graph rewrites before conversion, on the exporter's own copy of the model
 * (new tensors, never edits of shared weights). BatchNormalization folding is
 * core's `foldBatchNorms`, shared with export-onnx's fold-batchnorm pass.
 */

function soleUse(g: Graph, v: Value): Node | undefined {
  const uses = v.uses();
  return uses.length === 1 && !g.outputs.includes(v) ? uses[0]!.node : undefined;
}

function scalar(v: Value | null): number | undefined {
  const t = constTensorOf(v);
  return t && t.size === 1 && t.dtype.startsWith('float') ? Number(t.values[0]) : undefined;
}

const near = (a: number | undefined, b: number) => a !== undefined && Math.abs(a - b) < 1e-4 * Math.abs(b);

/** The other input of a binary node, given one. */
function other(n: Node, v: Value): Value | null {
  return n.input(0) === v ? n.input(1) : n.input(0);
}

/**
 * Recognise the erf form of GELU that exporters emit,
 * x·0.5·(1 + erf(x/√2)) (in its usual operand orders), and replace it with
 * one Gelu node. Returns how many were replaced.
 */
export function fuseGelu(model: Model): number {
  const g = model.graph;
  let fused = 0;
  for (const erf of [...g.nodes]) {
    if (erf.opType !== 'Erf' || !erf.graph) continue;
    const pre = erf.input(0)?.producer;
    if (!pre || soleUse(g, pre.outputs[0]!) !== erf) continue;
    let x: Value | null = null;
    if (pre.opType === 'Div' && near(scalar(pre.input(1)), Math.SQRT2)) x = pre.input(0);
    else if (pre.opType === 'Mul' && near(scalar(other(pre, pre.inputs.find((v) => scalar(v) === undefined) ?? pre.input(0)!)), Math.SQRT1_2)) x = pre.inputs.find((v) => scalar(v) === undefined) ?? null;
    if (!x) continue;
    const add = soleUse(g, erf.outputs[0]!);
    if (!add || add.opType !== 'Add' || !near(scalar(other(add, erf.outputs[0]!)), 1)) continue;
    const a1 = add.outputs[0]!;
    const m1 = soleUse(g, a1);
    if (!m1 || m1.opType !== 'Mul') continue;
    const o1 = other(m1, a1);
    const chain = [pre, erf, add, m1];
    let out: Value;
    const m2 = soleUse(g, m1.outputs[0]!);
    const half = o1?.producer;
    if (o1 === x && m2?.opType === 'Mul' && near(scalar(other(m2, m1.outputs[0]!)), 0.5)) {
      chain.push(m2); // (1+erf)·x·0.5
      out = m2.outputs[0]!;
    } else if (near(scalar(o1), 0.5) && m2?.opType === 'Mul' && other(m2, m1.outputs[0]!) === x) {
      chain.push(m2); // (1+erf)·0.5·x
      out = m2.outputs[0]!;
    } else if (half && half.opType === 'Mul' && half.inputs.includes(x) && near(scalar(other(half, x)), 0.5) && soleUse(g, o1!) === m1) {
      chain.push(half); // (x·0.5)·(1+erf)
      out = m1.outputs[0]!;
    } else continue;
    const at = g.nodes.indexOf(pre);
    out.producer = null;
    const gelu = new Node({ opType: 'Gelu', name: `${erf.name || 'gelu'}_gelu`, inputs: [x], outputs: [out] });
    g.insertNode(gelu, { before: g.nodes[at]! });
    g.removeNodes(chain);
    fused++;
  }
  return fused;
}
