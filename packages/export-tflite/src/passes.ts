import { constTensorOf, Node, Tensor, type Graph, type Model, type Value } from '@shears/core';

/**
 * Graph rewrites before conversion, on the exporter's own copy of the model
 * (new tensors, never edits of shared weights).
 */

function soleUse(g: Graph, v: Value): Node | undefined {
  const uses = v.uses();
  return uses.length === 1 && !g.outputs.includes(v) ? uses[0]!.node : undefined;
}

function floats(v: Value | null): Float32Array | undefined {
  const t = constTensorOf(v);
  return t && t.dtype === 'float32' ? t.floats() : undefined;
}

let counter = 0;
function fresh(g: Graph, base: string): string {
  let name = base;
  while (g.initializers.has(name)) name = `${base}_${++counter}`;
  return name;
}

/**
 * Fold inference-mode BatchNormalization into the Conv before it, when that
 * Conv's output feeds only the BN: W' = W·s, b' = (b − mean)·s + β with
 * s = γ/√(var+ε). Returns how many were folded.
 */
export function foldBatchNorms(model: Model): number {
  const g = model.graph;
  let folded = 0;
  for (const bn of [...g.nodes]) {
    if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
    if (bn.outputs.slice(1).some((o) => o.uses().length || g.outputs.includes(o))) continue;
    const x = bn.input(0)!;
    const conv = x.producer;
    if (!conv || conv.opType !== 'Conv' || soleUse(g, x) !== bn) continue;
    const w = constTensorOf(conv.input(1));
    const [gamma, beta, mean, variance] = [1, 2, 3, 4].map((i) => floats(bn.input(i)));
    if (!w || w.dtype !== 'float32' || !gamma || !beta || !mean || !variance) continue;
    const bias = conv.input(2) ? floats(conv.input(2)) : new Float32Array(w.dims[0]!);
    if (!bias) continue;
    const eps = bn.attrFloat('epsilon', 1e-5);
    const O = w.dims[0]!;
    const per = w.size / O;
    const src = w.floats();
    const nw = new Float32Array(w.size);
    const nb = new Float32Array(O);
    for (let o = 0; o < O; o++) {
      const s = gamma[o]! / Math.sqrt(variance[o]! + eps);
      for (let i = 0; i < per; i++) nw[o * per + i] = src[o * per + i]! * s;
      nb[o] = (bias[o]! - mean[o]!) * s + beta[o]!;
    }
    const wv = g.addInitializer(new Tensor({ dtype: 'float32', dims: w.dims, data: nw }), fresh(g, `${conv.input(1)!.name}_bn`));
    const bv = g.addInitializer(new Tensor({ dtype: 'float32', dims: [O], data: nb }), fresh(g, `${conv.label}_bn_bias`));
    conv.setInput(1, wv);
    if (conv.inputs.length > 2) conv.setInput(2, bv);
    else conv.appendInput(bv);
    const y = bn.outputs[0]!;
    y.replaceAllUsesWith(x);
    if (g.outputs.includes(y)) {
      g.replaceOutput(y, x);
      x.name = y.name;
    }
    g.removeNode(bn, { force: true });
    folded++;
  }
  return folded;
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
