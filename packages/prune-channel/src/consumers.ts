// The layers a channel group feeds (its consumers), in the form the
// least-squares code needs: a weight matrix W[o, f] over input features f
// (Conv: f = channel × kernel position, im2col order; Gemm/MatMul: f = input
// column), and how to cut rows of sampled features out of an activation.
import { defaultOpRegistry, weightRolesOf, type ChannelGraph, type ChannelGroup, type Model, type Node, type OpSpec, type Tensor, type Value, type WeightRole } from '@shears/core';

export interface Consumer {
  node: Node;
  kind: 'conv' | 'fc';
  /** Initializer names of the weight and the bias (bias may be absent). */
  weightName: string;
  biasName?: string;
  weight: Tensor;
  bias?: Tensor;
  input: Value;
  output: Value;
  /** Output features O, input channels/columns C, kernel positions K; D = C × K. */
  O: number;
  C: number;
  K: number;
  D: number;
  /** fc weights stored [in, out] (MatMul, Gemm transB=0) rather than [out, in]. */
  transposed: boolean;
  conv?: { kh: number; kw: number; sh: number; sw: number; pt: number; pl: number; pb: number; pr: number; dh: number; dw: number };
  /** Group index → for each input channel/column: the group channel, or -1. */
  groups: Map<number, Int32Array>;
}

/** Weight W[o, f] as a function (any storage order). */
export function weightAt(c: Consumer, data: Float32Array | Float64Array): (o: number, f: number) => number {
  if (c.transposed) return (o, f) => data[f * c.O + o]!;
  return (o, f) => data[o * c.D + f]!;
}

/** Flat index of W[o, f] in the stored tensor. */
export function weightIndex(c: Consumer, o: number, f: number): number {
  return c.transposed ? f * c.O + o : o * c.D + f;
}

const dims = (v: Value | null | undefined) => (v?.shape ?? []).map((d) => (typeof d === 'number' ? d : -1));

/**
 * How least squares sees a layer, read from its op table entry: 'conv' for a
 * weight [O, C/g, k…] on input 1 with a group attribute (Conv, com.microsoft
 * FusedConv), 'fc' for any other weight on input 1 with both axes (Gemm,
 * FusedGemm, MatMul with a constant right operand). The refit matches the
 * affine part W·x + b; a fused activation or residual sum comes after it.
 */
function refitForm(spec: OpSpec | undefined, node: Node): { kind: 'conv' | 'fc'; transposed: boolean; bias?: WeightRole } | undefined {
  if (spec?.channel !== 'compute') return undefined;
  const roles = weightRolesOf(spec, node);
  const wr = roles.find((r) => r.role === 'weight' && r.input === 1 && r.outAxis !== undefined && r.inAxis !== undefined);
  if (!wr) return undefined;
  const bias = roles.find((r) => r.role === 'bias' && r.input === 2);
  if (wr.groupsAttr) return wr.outAxis === 0 && wr.inAxis === 1 ? { kind: 'conv', transposed: false, bias } : undefined;
  return { kind: 'fc', transposed: wr.outAxis === 1, bias };
}

/** Why a node cannot be refit by least squares here, or the consumer. `spec` is its op table entry (default: the built-in table). */
export function describeConsumer(model: Model, node: Node, spec: OpSpec | undefined = defaultOpRegistry().lookupNode(node, model)): Consumer | string {
  const op = node.domain ? `${node.domain}::${node.opType}` : node.opType;
  const form = refitForm(spec, node);
  if (!form) return `${node.label}: ${op} is not a layer least squares can refit (a Conv, Gemm or MatMul form with its weight on input 1)`;
  const x = node.input(0);
  const wv = node.input(1);
  const y = node.outputs[0];
  if (!x || !wv || !y) return `${node.label}: missing input or output`;
  const w = wv.constValue;
  if (!w || !model.graph.initializers.has(wv.name)) return `${node.label}: weight is not an initializer`;
  if (w.dtype !== 'float32') return `${node.label}: weight is ${w.dtype}`;
  if (wv.uses().length !== 1) return `${node.label}: weight ${wv.name} is shared with other layers`;
  let biasName: string | undefined;
  let bias: Tensor | undefined;
  const bv = node.input(2);
  if (bv && form.bias) {
    if (!bv.constValue || !model.graph.initializers.has(bv.name) || bv.uses().length !== 1 || bv.constValue.dtype !== 'float32') return `${node.label}: bias is not an own float initializer`;
    biasName = bv.name;
    bias = bv.constValue;
  }
  const base = { node, weightName: wv.name, biasName, bias, weight: w, input: x, output: y, groups: new Map<number, Int32Array>() };
  if (form.kind === 'conv') {
    if ((node.attrInt('group', 1) ?? 1) !== 1) return `${node.label}: grouped convolution (least squares here handles group = 1)`;
    const ap = node.attrString('auto_pad', 'NOTSET');
    if (ap && ap !== 'NOTSET') return `${node.label}: auto_pad ${ap}`;
    if (w.dims.length !== 4 || dims(x).length !== 4 || dims(y).length !== 4) return `${node.label}: only 2-D convolutions with known ranks`;
    const [O, C, kh, kw] = w.dims as [number, number, number, number];
    const s = node.attrInts('strides') ?? [1, 1];
    const p = node.attrInts('pads') ?? [0, 0, 0, 0];
    const d = node.attrInts('dilations') ?? [1, 1];
    if (bias && bias.size !== O) return `${node.label}: bias size`;
    return { ...base, kind: 'conv', O, C, K: kh * kw, D: C * kh * kw, transposed: false, conv: { kh, kw, sh: s[0]!, sw: s[1]!, pt: p[0]!, pl: p[1]!, pb: p[2]!, pr: p[3]!, dh: d[0]!, dw: d[1]! } };
  }
  if (w.dims.length !== 2 || dims(x).length !== 2) return `${node.label}: only 2-D ${op}`;
  const scale = form.bias?.scaleAttr;
  if (node.attrInt('transA', 0) !== 0 || node.attrFloat('alpha', 1) !== 1 || (bias && scale && node.attrFloat(scale, 1) !== 1)) return `${node.label}: ${op} with transA/alpha/beta`;
  const transposed = form.transposed;
  const [O, C] = transposed ? [w.dims[1]!, w.dims[0]!] : [w.dims[0]!, w.dims[1]!];
  if (bias && bias.size !== O) return `${node.label}: bias is not one value per output`;
  return { ...base, kind: 'fc', O, C, K: 1, D: C, transposed };
}

/**
 * The consumers of a group: every layer whose weights read the group's
 * channels (role 'consumer'). Returns a reason string when one of them
 * cannot be refit (the group is then skipped).
 */
export function groupConsumers(model: Model, graph: ChannelGraph, gi: number, byNode: Map<Node, Consumer | string>): Consumer[] | { layer?: string; reason: string } {
  const g: ChannelGroup = graph.groups[gi]!;
  const out: Consumer[] = [];
  for (const m of g.members) {
    if (m.role !== 'consumer') continue;
    let c = byNode.get(m.node);
    if (c === undefined) byNode.set(m.node, (c = describeConsumer(model, m.node, graph.build.inferred.specOf(m.node))));
    if (typeof c === 'string') return { layer: m.node.label, reason: c };
    if (m.input !== 1 || m.tensor !== c.weight) return { layer: m.node.label, reason: `${m.node.label}: reads the channels on input ${m.input}` };
    const inAxis = c.kind === 'conv' ? 1 : c.transposed ? 0 : 1;
    if (m.axis !== inAxis) return { layer: m.node.label, reason: `${m.node.label}: channels on weight axis ${m.axis}` };
    c.groups.set(gi, m.channelOf);
    if (!out.includes(c)) out.push(c);
  }
  if (out.length === 0) return { reason: 'no layer reads these channels through weights (nothing to reconstruct)' };
  return out;
}

/** Output dims [N, O, OH, OW] (conv) or [N, O] (fc) of a consumer, from its input's dims. */
export function outputDims(c: Consumer, xDims: readonly number[]): number[] {
  if (c.kind === 'fc') return [xDims[0]!, c.O];
  const { kh, kw, sh, sw, pt, pl, pb, pr, dh, dw } = c.conv!;
  const oh = Math.floor((xDims[2]! + pt + pb - dh * (kh - 1) - 1) / sh) + 1;
  const ow = Math.floor((xDims[3]! + pl + pr - dw * (kw - 1) - 1) / sw) + 1;
  return [xDims[0]!, c.O, oh, ow];
}

/** Deterministic sampled output positions of one image for one consumer. */
export function samplePositions(c: Consumer, outDims: number[], image: number, perImage: number, seed: number, salt: number): Int32Array {
  if (c.kind === 'fc') return Int32Array.of(0);
  const HW = outDims[2]! * outDims[3]!;
  if (HW <= perImage) return Int32Array.from({ length: HW }, (_, i) => i);
  let a = (seed ^ Math.imul(image + 1, 0x9e3779b1) ^ Math.imul(salt + 1, 0x85ebca6b)) >>> 0;
  const out = new Int32Array(perImage);
  const seen = new Set<number>();
  for (let i = 0; i < perImage; i++) {
    let p: number;
    do {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      p = ((t ^ (t >>> 14)) >>> 0) % HW;
    } while (seen.has(p));
    seen.add(p);
    out[i] = p;
  }
  return out;
}

/**
 * The im2col row of a consumer at one output position: its input features f
 * (channel-major, then kernel row, kernel column), zero outside the padding.
 * `feats` restricts to listed features (else all D).
 */
export function inputRow(c: Consumer, x: Float32Array, xDims: number[], n: number, pos: number, outW: number, row: Float64Array, feats?: Int32Array): void {
  if (c.kind === 'fc') {
    const base = n * c.C;
    if (feats) for (let i = 0; i < feats.length; i++) row[i] = x[base + feats[i]!]!;
    else for (let f = 0; f < c.D; f++) row[f] = x[base + f]!;
    return;
  }
  const { kh, kw, sh, sw, pt, pl, dh, dw } = c.conv!;
  const [, C, H, W] = xDims as [number, number, number, number];
  const oh = Math.floor(pos / outW);
  const ow = pos % outW;
  const at = (f: number) => {
    const ch = Math.floor(f / (kh * kw));
    const r = f % (kh * kw);
    const ih = oh * sh - pt + Math.floor(r / kw) * dh;
    const iw = ow * sw - pl + (r % kw) * dw;
    return ih < 0 || ih >= H || iw < 0 || iw >= W ? 0 : x[((n * C + ch) * H + ih) * W + iw]!;
  };
  if (feats) {
    for (let i = 0; i < feats.length; i++) row[i] = at(feats[i]!);
    return;
  }
  let f = 0;
  for (let ch = 0; ch < C; ch++) {
    const plane = (n * C + ch) * H * W;
    for (let a = 0; a < kh; a++) {
      const ih = oh * sh - pt + a * dh;
      const inH = ih >= 0 && ih < H;
      for (let b = 0; b < kw; b++) {
        const iw = ow * sw - pl + b * dw;
        row[f++] = inH && iw >= 0 && iw < W ? x[plane + ih * W + iw]! : 0;
      }
    }
  }
}

/** The consumer's output at one sampled position: O values. */
export function outputRow(c: Consumer, y: Float32Array, yDims: number[], n: number, pos: number, out: Float64Array): void {
  if (c.kind === 'fc') {
    for (let o = 0; o < c.O; o++) out[o] = y[n * c.O + o]!;
    return;
  }
  const HW = yDims[2]! * yDims[3]!;
  for (let o = 0; o < c.O; o++) out[o] = y[(n * c.O + o) * HW + pos]!;
}
