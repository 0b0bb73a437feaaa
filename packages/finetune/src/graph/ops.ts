// ONNX op → tfjs, op by op. Each translation keeps ONNX semantics on the
// logical (NCHW) value and works on NHWC storage where it can (see values.ts).
import type { Node } from '@shears/core';
import type { Tensor, TF } from '../backend.js';
import { conv2d, convTranspose2d, type Conv2dSpec } from './conv.js';
import { clampSliceBounds } from './slice-bounds.js';
import type { OpCtx, OpImpl, OpTranslation } from './types.js';
import { composePerm, hostTensor, logical, logicalShape, NHWC_AXIS, permute, sizeOf, TO_NCHW, TO_NHWC, tval, type TVal, type Val } from './values.js';

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

// ---------------------------------------------------------------- helpers --

/** Run `fn` on tensors that all share a layout: NHWC when any rank-4 input is stored NHWC. */
function elementwise(c: OpCtx, inputs: number[], fn: (...t: Tensor[]) => Tensor): Val[] {
  const { tf } = c;
  const vals = inputs.map((i) => c.val(i));
  const ranks = vals.map((v) => (v ? logicalShape(v).length : 0));
  const rank = Math.max(...ranks);
  const useNhwc = rank === 4 && vals.some((v) => v?.kind === 't' && v.nhwc);
  const ts = inputs.map((i, k) => {
    const v = vals[k]!;
    if (!useNhwc) return c.logical(i);
    if (v.kind === 't' && v.nhwc) return v.t;
    const t = c.logical(i);
    const shape4 = [...new Array<number>(4 - t.rank).fill(1), ...t.shape];
    return permute(tf, t.rank === 4 ? t : tf.reshape(t, shape4), TO_NHWC);
  });
  return [tval(fn(...ts), useNhwc)];
}

const unaryOp =
  (fn: (tf: TF, x: Tensor, c: OpCtx) => Tensor): OpImpl =>
  (c) => {
    const v = c.tv(0);
    return [{ kind: 't', t: fn(c.tf, v.t, c), nhwc: v.nhwc }];
  };

/** Physical axes for logical axes of value v. */
function physAxes(v: TVal, axes: number[]): number[] {
  return v.nhwc ? axes.map((a) => NHWC_AXIS[a]!) : axes;
}

function windowSpec(c: OpCtx, spatial: number[], kernel: number[]): { strides: number[]; pads: number[]; dilations: number[]; ceil: boolean } {
  const n = kernel.length;
  const node = c.node;
  const strides = node.attrInts('strides') ?? new Array<number>(n).fill(1);
  const dilations = node.attrInts('dilations') ?? new Array<number>(n).fill(1);
  let pads = node.attrInts('pads') ?? new Array<number>(2 * n).fill(0);
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  if (autoPad === 'VALID') pads = new Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    pads = new Array<number>(2 * n).fill(0);
    for (let i = 0; i < n; i++) {
      const out = Math.ceil(spatial[i]! / strides[i]!);
      const total = Math.max(0, (out - 1) * strides[i]! + (kernel[i]! - 1) * dilations[i]! + 1 - spatial[i]!);
      const small = Math.floor(total / 2);
      pads[i] = autoPad === 'SAME_UPPER' ? small : total - small;
      pads[i + n] = total - pads[i]!;
    }
  }
  return { strides, pads, dilations, ceil: node.attrInt('ceil_mode', 0) === 1 };
}

/** Extra end padding so that a ceil_mode window count comes out (PyTorch's rule: no window starts in the end padding). */
function ceilExtra(size: number, k: number, s: number, d: number, pb: number, pe: number): number {
  const span = (k - 1) * d + 1;
  let out = Math.ceil((size + pb + pe - span) / s) + 1;
  if ((out - 1) * s >= size + pb) out--;
  return Math.max(0, (out - 1) * s + span - (size + pb + pe));
}

// -------------------------------------------------------------- conv ops --

function convLayout(node: Node, input: number, dims: readonly number[]): number[] | null {
  if (input !== 1) return null;
  const group = node.attrInt('group', 1);
  if (dims.length === 4) return group === 1 ? [2, 3, 1, 0] : [2, 3, 0, 1];
  if (dims.length === 3) return group === 1 ? [2, 1, 0] : [2, 0, 1];
  return null;
}

const Conv: OpImpl = (c) => {
  const { tf } = c;
  const xv = c.tv(0);
  const rank = logicalShape(xv).length;
  if (rank !== 4 && rank !== 3) return c.fail(`only 1-D and 2-D convolutions are supported (input rank ${rank})`);
  const group = c.node.attrInt('group', 1);
  let w = c.stored(1);
  if (!c.param(1) || !c.param(1)!.perm) w = permute(tf, c.logical(1), convLayout(c.node, 1, logicalShape(c.tv(1)))!);
  let x: Tensor;
  if (rank === 3) {
    // [N,C,L] → NHWC [N,1,L,C]; weight [k, ·, ·] → [1, k, ·, ·]
    x = tf.expandDims(tf.transpose(c.logical(0), [0, 2, 1]), 1);
    w = tf.expandDims(w, 0);
  } else x = c.nhwc(0);
  const kh = w.shape[0]!;
  const kw = w.shape[1]!;
  const ws = windowSpec(c, [x.shape[1]!, x.shape[2]!], rank === 3 ? [kw] : [kh, kw]);
  const two = (a: number[], fill: number) => (rank === 3 ? [fill, a[0]!] : a);
  const strides = two(ws.strides, 1) as [number, number];
  const dilations = two(ws.dilations, 1) as [number, number];
  const pads = (rank === 3 ? [0, ws.pads[0]!, 0, ws.pads[1]!] : ws.pads) as Conv2dSpec['pads'];
  let y = conv2d(tf, x, w, { strides, pads, dilations, group }, c.customGrad, c.needsGrad(0));
  if (c.has(2)) y = tf.add(y, c.logical(2));
  if (rank === 3) return [tval(tf.transpose(tf.squeeze(y, [1]), [0, 2, 1]))];
  return [tval(y, true)];
};

const ConvTranspose: OpImpl = (c) => {
  const { tf } = c;
  if (c.node.attrInt('group', 1) !== 1) return c.fail('grouped ConvTranspose is not supported');
  if (logicalShape(c.tv(0)).length !== 4) return c.fail('only 2-D ConvTranspose is supported');
  const x = c.nhwc(0);
  let w = c.stored(1);
  if (!c.param(1) || !c.param(1)!.perm) w = permute(tf, c.logical(1), [2, 3, 1, 0]);
  const kh = w.shape[0]!;
  const kw = w.shape[1]!;
  const node = c.node;
  const strides = (node.attrInts('strides') ?? [1, 1]) as [number, number];
  const dilations = (node.attrInts('dilations') ?? [1, 1]) as [number, number];
  const outputPadding = (node.attrInts('output_padding') ?? [0, 0]) as [number, number];
  let pads = (node.attrInts('pads') ?? [0, 0, 0, 0]) as [number, number, number, number];
  const explicitOut = node.attrInts('output_shape');
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  let outShape: [number, number] | undefined;
  const spatial = [x.shape[1]!, x.shape[2]!];
  const full = spatial.map((d, i) => strides[i]! * (d - 1) + outputPadding[i]! + ([kh, kw][i]! - 1) * dilations[i]! + 1);
  if (explicitOut || autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const target = explicitOut ? explicitOut.slice(-2) : spatial.map((d, i) => d * strides[i]!);
    const total = full.map((f, i) => Math.max(0, f - target[i]!));
    const begin = total.map((t) => (autoPad === 'SAME_UPPER' || explicitOut ? Math.floor(t / 2) : t - Math.floor(t / 2)));
    pads = [begin[0]!, begin[1]!, total[0]! - begin[0]!, total[1]! - begin[1]!];
    outShape = target as [number, number];
  }
  let y = convTranspose2d(tf, x, w, { strides, pads, dilations, outputPadding, outShape }, c.customGrad);
  if (c.has(2)) y = tf.add(y, c.logical(2));
  return [tval(y, true)];
};

const Gemm: OpImpl = (c) => {
  const { tf } = c;
  const node = c.node;
  const a = c.logical(0);
  const b = c.logical(1);
  const alpha = node.attrFloat('alpha', 1);
  const beta = node.attrFloat('beta', 1);
  let y = tf.matMul(a as any, b as any, node.attrInt('transA', 0) === 1, node.attrInt('transB', 0) === 1) as Tensor;
  if (alpha !== 1) y = tf.mul(y, alpha);
  if (c.has(2)) y = tf.add(y, beta === 1 ? c.logical(2) : tf.mul(c.logical(2), beta));
  return [tval(y)];
};

const MatMul: OpImpl = (c) => {
  const { tf } = c;
  const a = c.logical(0);
  const b = c.logical(1);
  if (b.rank === 2 && a.rank > 2) {
    const lead = a.shape.slice(0, -1) as number[];
    const y = tf.matMul(tf.reshape(a, [-1, a.shape[a.rank - 1]!]) as any, b as any) as Tensor;
    return [tval(tf.reshape(y, [...lead, b.shape[1]!]))];
  }
  if (a.rank === 1 || b.rank === 1) {
    const a2 = a.rank === 1 ? tf.expandDims(a, 0) : a;
    const b2 = b.rank === 1 ? tf.expandDims(b, 1) : b;
    let y = tf.matMul(a2 as any, b2 as any) as Tensor;
    if (a.rank === 1) y = tf.squeeze(y, [y.rank - 2]);
    if (b.rank === 1) y = tf.squeeze(y, [y.rank - 1]);
    return [tval(y)];
  }
  return [tval(tf.matMul(a as any, b as any) as Tensor)];
};

// ---------------------------------------------------------- normalization --

const BatchNormalization: OpImpl = (c) => {
  const { tf, node } = c;
  const xv = c.tv(0);
  const rank = logicalShape(xv).length;
  const eps = node.attrFloat('epsilon', 1e-5);
  const momentum = node.attrFloat('momentum', 0.9);
  const scale = c.logical(1);
  const bias = c.logical(2);
  const meanP = c.param(3);
  const varP = c.param(4);
  // NHWC (or [N,C]): channels last, the per-channel params broadcast as they are.
  const channelsLast = rank === 4 || rank === 2;
  const x = rank === 4 ? c.nhwc(0) : c.logical(0);
  const pshape = channelsLast ? [-1] : [-1, ...new Array<number>(rank - 2).fill(1)];
  const shaped = (t: Tensor) => (channelsLast ? t : tf.reshape(t, pshape));
  const train = c.bnTrain && !!meanP && !!varP;
  let y: Tensor;
  if (train) {
    const axes = channelsLast ? x.shape.slice(0, -1).map((_, i) => i) : [0, ...x.shape.slice(2).map((_, i) => i + 2)];
    const { mean, variance } = tf.moments(x, axes);
    y = tf.add(tf.mul(tf.mul(tf.sub(x, shaped(mean)), tf.rsqrt(tf.add(shaped(variance), eps))), shaped(scale)), shaped(bias));
    const n = sizeOf(axes.map((a) => x.shape[a]!));
    const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
    c.statUpdate({ param: meanP!, value: tf.add(tf.mul(meanP!.variable, momentum), tf.mul(mean, 1 - momentum)) });
    c.statUpdate({ param: varP!, value: tf.add(tf.mul(varP!.variable, momentum), tf.mul(unbiased, 1 - momentum)) });
  } else {
    const mean = c.logical(3);
    const variance = c.logical(4);
    // y = x·k + b' with k = scale/√(var+eps), b' = bias − mean·k: two ops on the activation.
    const k = tf.mul(scale, tf.rsqrt(tf.add(variance, eps)));
    y = tf.add(tf.mul(x, shaped(k)), shaped(tf.sub(bias, tf.mul(mean, k))));
  }
  return [tval(y, rank === 4)];
};

const InstanceNormalization: OpImpl = (c) => {
  const { tf } = c;
  const xv = c.tv(0);
  if (logicalShape(xv).length !== 4) return c.fail('only rank-4 InstanceNormalization is supported');
  const x = c.nhwc(0);
  const eps = c.node.attrFloat('epsilon', 1e-5);
  const { mean, variance } = tf.moments(x, [1, 2], true);
  const y = tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), c.logical(1)), c.logical(2));
  return [tval(y, true)];
};

const LayerNormalization: OpImpl = (c) => {
  const { tf, node } = c;
  const x = c.logical(0);
  const axis = norm(node.attrInt('axis', -1), x.rank);
  const eps = node.attrFloat('epsilon', 1e-5);
  const axes = x.shape.slice(axis).map((_, i) => axis + i);
  const { mean, variance } = tf.moments(x, axes, true);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  y = tf.mul(y, c.logical(1));
  if (c.has(2)) y = tf.add(y, c.logical(2));
  return [tval(y)];
};

// --------------------------------------------------------------- pooling --

function pool(kind: 'max' | 'avg'): OpImpl {
  return (c) => {
    const { tf, node } = c;
    const xv = c.tv(0);
    const rank = logicalShape(xv).length;
    if (rank !== 4 && rank !== 3) return c.fail(`only 1-D and 2-D pooling is supported (input rank ${rank})`);
    let x = rank === 4 ? c.nhwc(0) : tf.expandDims(tf.transpose(c.logical(0), [0, 2, 1]), 1);
    const k0 = node.attrInts('kernel_shape');
    if (!k0) return c.fail('kernel_shape is required');
    const kernel = rank === 3 ? [1, k0[0]!] : k0;
    const ws = windowSpec(c, [x.shape[1]!, x.shape[2]!], kernel);
    const lift = (a: number[], fill: number) => (rank === 3 ? [fill, a[0]!] : a);
    const strides = lift(ws.strides, 1) as [number, number];
    const dil = lift(ws.dilations, 1);
    if (dil.some((d) => d !== 1)) return c.fail('dilated pooling is not supported');
    const p = rank === 3 ? [0, ws.pads[0]!, 0, ws.pads[1]!] : ws.pads;
    const [h, w] = [x.shape[1]!, x.shape[2]!];
    const extra = ws.ceil ? [ceilExtra(h, kernel[0]!, strides[0], 1, p[0]!, p[2]!), ceilExtra(w, kernel[1]!, strides[1], 1, p[1]!, p[3]!)] : [0, 0];
    const padded = p.some((v) => v) || extra.some((v) => v);
    const pads4 = [
      [0, 0],
      [p[0]!, p[2]! + extra[0]!],
      [p[1]!, p[3]! + extra[1]!],
      [0, 0],
    ] as [number, number][];
    const kk = kernel as [number, number];
    let y: Tensor;
    if (kind === 'max') {
      if (padded) x = tf.pad(x, pads4, -3.4e38);
      y = tf.maxPool(x as any, kk, strides, 'valid');
    } else if (!padded) {
      y = tf.avgPool(x as any, kk, strides, 'valid');
    } else {
      // Sum over the window divided by the count of cells that count: real
      // cells, plus explicit pads when count_include_pad; never the ceil overhang.
      const include = node.attrInt('count_include_pad', 0) === 1;
      const ones = tf.ones([1, h, w, 1]);
      const maskPads = [
        [0, 0],
        [p[0]!, p[2]!],
        [p[1]!, p[3]!],
        [0, 0],
      ] as [number, number][];
      let mask = include ? tf.pad(ones, maskPads, 1) : tf.pad(ones, maskPads, 0);
      if (include) mask = tf.pad(tf.ones([1, h + p[0]! + p[2]!, w + p[1]! + p[3]!, 1]), [[0, 0], [0, extra[0]!], [0, extra[1]!], [0, 0]], 0);
      else mask = tf.pad(mask, [[0, 0], [0, extra[0]!], [0, extra[1]!], [0, 0]], 0);
      const area = kk[0] * kk[1];
      const sum = tf.mul(tf.avgPool(tf.pad(x, pads4, 0) as any, kk, strides, 'valid'), area);
      const count = tf.mul(tf.avgPool(mask as any, kk, strides, 'valid'), area);
      y = tf.div(sum, count);
    }
    if (rank === 3) return [tval(tf.transpose(tf.squeeze(y, [1]), [0, 2, 1]))];
    return [tval(y, true)];
  };
}

const globalPool =
  (kind: 'mean' | 'max'): OpImpl =>
  (c) => {
    const { tf } = c;
    const v = c.tv(0);
    const rank = logicalShape(v).length;
    if (rank === 4) {
      const x = c.nhwc(0);
      return [tval(kind === 'mean' ? tf.mean(x, [1, 2], true) : tf.max(x, [1, 2], true), true)];
    }
    const x = c.logical(0);
    const axes = x.shape.slice(2).map((_, i) => i + 2);
    return [tval(kind === 'mean' ? tf.mean(x, axes, true) : tf.max(x, axes, true))];
  };

// ------------------------------------------------------------ structural --

function reshapeTarget(c: OpCtx, inShape: number[], target: number[]): number[] {
  const allowZero = c.node.attrInt('allowzero', 0) === 1;
  let dims = target.map((d, i) => (d === 0 && !allowZero ? inShape[i]! : d));
  const total = sizeOf(inShape);
  const known = () => dims.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const fits = () => (dims.includes(-1) ? total % known() === 0 : known() === total);
  // A shape baked for the export batch (e.g. [1, -1, 28, 28]) follows the real
  // batch when the input carries it in front (as every CNN reshape does).
  if (c.irBatch !== undefined && dims[0] === c.irBatch && c.batch !== c.irBatch && inShape[0] === c.batch) {
    dims = [c.batch, ...dims.slice(1)];
  }
  if (!fits()) return c.fail(`cannot reshape ${inShape.join('x')} to ${target.join('x')}`);
  return dims;
}

const Reshape: OpImpl = (c) => {
  const { tf } = c;
  const shape = c.nums(1);
  if (!shape) return c.fail('the target shape must be computable from constants and input shapes');
  const v = c.tv(0);
  const ls = logicalShape(v);
  const dims = reshapeTarget(c, ls, shape);
  return [tval(tf.reshape(logical(tf, v), dims))];
};

const Flatten: OpImpl = (c) => {
  const { tf } = c;
  const v = c.tv(0);
  const ls = logicalShape(v);
  const axis = norm(c.node.attrInt('axis', 1), ls.length);
  const dims = [sizeOf(ls.slice(0, axis)), sizeOf(ls.slice(axis))];
  return [tval(tf.reshape(logical(tf, v), dims))];
};

const Transpose: OpImpl = (c) => {
  const { tf } = c;
  const v = c.tv(0);
  const rank = logicalShape(v).length;
  const perm = c.node.attrInts('perm') ?? [...Array(rank).keys()].reverse();
  // Compose with the storage permutation: a logical NHWC↔NCHW transpose of an
  // NHWC-stored tensor moves no data.
  const physPerm = v.nhwc ? composePerm(TO_NCHW, perm) : perm; // phys → logical out
  const asPlain = physPerm;
  if (asPlain.every((p, i) => p === i)) return [tval(v.t)];
  if (rank === 4) {
    const asNhwc = composePerm(physPerm, TO_NHWC);
    if (asNhwc.every((p, i) => p === i)) return [tval(v.t, true)];
  }
  return [tval(permute(tf, v.t, asPlain))];
};

const Squeeze: OpImpl = (c) => {
  const { tf } = c;
  const x = c.logical(0);
  const axes = c.opset >= 13 ? c.nums(1) : c.node.attrInts('axes');
  return [tval(axes ? tf.squeeze(x, axes.map((a) => norm(a, x.rank))) : tf.squeeze(x))];
};

const Unsqueeze: OpImpl = (c) => {
  const { tf } = c;
  const x = c.logical(0);
  const axes = c.opset >= 13 ? c.nums(1) : c.node.attrInts('axes');
  if (!axes) return c.fail('axes must be constant');
  const rank = x.rank + axes.length;
  const set = new Set(axes.map((a) => norm(a, rank)));
  const dims: number[] = [];
  for (let i = 0, k = 0; i < rank; i++) dims.push(set.has(i) ? 1 : x.shape[k++]!);
  return [tval(tf.reshape(x, dims))];
};

const Concat: OpImpl = (c) => {
  const { tf } = c;
  const n = c.node.inputs.length;
  const idx = [...Array(n).keys()].filter((i) => c.has(i));
  const vals = idx.map((i) => c.tv(i));
  const rank = logicalShape(vals[0]!).length;
  const axis = norm(c.node.attrInt('axis', 1), rank);
  if (rank === 4 && vals.some((v) => v.nhwc)) return [tval(tf.concat(idx.map((i) => c.nhwc(i)), NHWC_AXIS[axis]!), true)];
  return [tval(tf.concat(idx.map((i) => c.logical(i)), axis))];
};

const Split: OpImpl = (c) => {
  const { tf, node } = c;
  const v = c.tv(0);
  const ls = logicalShape(v);
  const axis = norm(node.attrInt('axis', 0), ls.length);
  let sizes = c.opset >= 13 ? c.nums(1) : node.attrInts('split');
  const outs = node.outputs.length;
  if (!sizes) {
    const d = ls[axis]!;
    const each = Math.ceil(d / outs);
    sizes = Array.from({ length: outs }, (_, i) => Math.min(each, d - i * each));
  }
  const parts = tf.split(v.t, sizes, v.nhwc ? NHWC_AXIS[axis]! : axis);
  return parts.map((t) => tval(t, v.nhwc));
};

const Slice: OpImpl = (c) => {
  const { tf, node } = c;
  const v = c.tv(0);
  const ls = logicalShape(v);
  const starts = c.opset >= 10 ? c.nums(1) : node.attrInts('starts');
  const ends = c.opset >= 10 ? c.nums(2) : node.attrInts('ends');
  if (!starts || !ends) return c.fail('starts and ends must be computable from constants and input shapes');
  const axes = (c.opset >= 10 ? c.nums(3) : node.attrInts('axes')) ?? starts.map((_, i) => i);
  const steps = (c.opset >= 10 ? c.nums(4) : undefined) ?? starts.map(() => 1);
  const begin = new Array<number>(ls.length).fill(0);
  const end = [...ls];
  const stride = new Array<number>(ls.length).fill(1);
  axes.forEach((a0, k) => {
    const a = norm(a0, ls.length);
    const d = ls[a]!;
    const step = steps[k]!;
    const [s, e] = clampSliceBounds(d, starts[k]!, ends[k]!, step);
    begin[a] = s;
    end[a] = e;
    stride[a] = step;
  });
  const toPhys = <T>(arr: T[]): T[] => (v.nhwc ? TO_NHWC.map((a) => arr[a]!) : arr);
  let y: Tensor;
  if (stride.every((s) => s === 1)) {
    const size = end.map((e, a) => Math.max(0, e - begin[a]!));
    y = tf.slice(v.t, toPhys(begin), toPhys(size));
  } else {
    // stridedSlice treats end -1 as "from the end"; mask the axes that run to the start.
    let endMask = 0;
    end.forEach((e, a) => {
      if (stride[a]! < 0 && e < 0) endMask |= 1 << (v.nhwc ? NHWC_AXIS.indexOf(a as 0) : a);
    });
    y = tf.stridedSlice(v.t, toPhys(begin), toPhys(end), toPhys(stride), 0, endMask);
  }
  return [tval(y, v.nhwc)];
};

const Gather: OpImpl = (c) => {
  const { tf } = c;
  const x = c.logical(0);
  const axis = norm(c.node.attrInt('axis', 0), x.rank);
  const idxH = c.host(1);
  if (idxH) {
    const d = x.shape[axis]!;
    const ids = idxH.data.map((i) => (i < 0 ? i + d : i));
    const y = tf.gather(x, tf.tensor1d(ids, 'int32'), axis);
    const shape = [...x.shape.slice(0, axis), ...idxH.dims, ...x.shape.slice(axis + 1)];
    return [tval(tf.reshape(y, shape))];
  }
  return [tval(tf.gather(x, tf.cast(c.logical(1), 'int32'), axis))];
};

const Pad: OpImpl = (c) => {
  const { tf, node } = c;
  const v = c.tv(0);
  const rank = logicalShape(v).length;
  const mode = node.attrString('mode', 'constant');
  const pads = c.opset >= 11 ? c.nums(1) : node.attrInts('pads') ?? node.attrInts('paddings');
  if (!pads) return c.fail('pads must be constant');
  const value = c.opset >= 11 ? (c.nums(2)?.[0] ?? 0) : node.attrFloat('value', 0);
  let full = pads;
  if (c.opset >= 18 && c.has(3)) {
    const axes = c.nums(3)!.map((a) => norm(a, rank));
    full = new Array<number>(2 * rank).fill(0);
    axes.forEach((a, k) => {
      full[a] = pads[k]!;
      full[a + rank] = pads[k + axes.length]!;
    });
  }
  const logicalPairs = Array.from({ length: rank }, (_, a) => [full[a]!, full[a + rank]!] as [number, number]);
  if (logicalPairs.some(([a, b]) => a < 0 || b < 0)) return c.fail('negative pads are not supported');
  const pairs = v.nhwc ? TO_NHWC.map((a) => logicalPairs[a]!) : logicalPairs;
  if (mode === 'constant') return [tval(tf.pad(v.t, pairs, value), v.nhwc)];
  if (mode === 'reflect') return [tval(tf.mirrorPad(v.t, pairs, 'reflect'), v.nhwc)];
  return c.fail(`pad mode '${mode}' is not supported`);
};

const Resize: OpImpl = (c) => {
  const { tf, node } = c;
  const v = c.tv(0);
  const ls = logicalShape(v);
  if (ls.length !== 4) return c.fail('only rank-4 Resize is supported');
  const mode = node.attrString('mode', 'nearest');
  const ctm = c.opset >= 11 ? node.attrString('coordinate_transformation_mode', 'half_pixel') : 'asymmetric';
  let size: number[] | undefined;
  const sizes = c.opset >= 11 && c.has(3) ? c.nums(3) : undefined;
  const scales =
    c.opset >= 11 ? (c.has(2) ? c.nums(2) : undefined) : node.opType === 'Upsample' && c.opset < 9 ? node.attr('scales')?.value as number[] | undefined : c.nums(1);
  if (sizes && sizes.length) size = sizes.slice(-2);
  else if (scales && scales.length) {
    if (scales[0] !== 1 || scales[1] !== 1) return c.fail('only spatial scales are supported');
    size = [Math.floor(ls[2]! * scales[2]!), Math.floor(ls[3]! * scales[3]!)];
  }
  if (!size) return c.fail('scales or sizes must be computable from constants and input shapes');
  const x = c.nhwc(0);
  const sz = size as [number, number];
  const alignCorners = ctm === 'align_corners';
  const halfPixel = ctm === 'half_pixel' || ctm === 'pytorch_half_pixel';
  if (ctm !== 'asymmetric' && !alignCorners && !halfPixel) return c.fail(`coordinate_transformation_mode '${ctm}' is not supported`);
  let y: Tensor;
  if (mode === 'linear') y = tf.image.resizeBilinear(x as any, sz, alignCorners, halfPixel);
  else if (mode === 'nearest') {
    const nm = node.attrString('nearest_mode', 'round_prefer_floor');
    if (ctm === 'asymmetric' && nm !== 'floor' && c.opset >= 11) return c.fail(`nearest_mode '${nm}' with asymmetric coordinates is not supported`);
    y = tf.image.resizeNearestNeighbor(x as any, sz, alignCorners, halfPixel);
  } else return c.fail(`Resize mode '${mode}' is not supported`);
  return [tval(y, true)];
};

// ------------------------------------------------------------- reductions --

function reduce(kind: 'mean' | 'sum' | 'max' | 'min', axesInputSince: number): OpImpl {
  return (c) => {
    const { tf, node } = c;
    const v = c.tv(0);
    const ls = logicalShape(v);
    const keep = node.attrInt('keepdims', 1) === 1;
    let axes = c.opset >= axesInputSince ? (c.has(1) ? c.nums(1) : undefined) : node.attrInts('axes');
    if (!axes || axes.length === 0) {
      if (node.attrInt('noop_with_empty_axes', 0) === 1) return [v];
      axes = ls.map((_, i) => i);
    }
    const la = axes.map((a) => norm(a, ls.length));
    const fn = { mean: tf.mean, sum: tf.sum, max: tf.max, min: tf.min }[kind];
    const r = fn(v.t, physAxes(v, la), true);
    const kept: TVal = tval(r, v.nhwc);
    if (keep) return [kept];
    const out = ls.filter((_, i) => !la.includes(i));
    return [tval(tf.reshape(logical(tf, kept), out))];
  };
}

const Softmax =
  (log: boolean): OpImpl =>
  (c) => {
    const { tf } = c;
    const v = c.tv(0);
    const ls = logicalShape(v);
    const axis = norm(c.node.attrInt('axis', c.opset >= 13 ? -1 : 1), ls.length);
    const sm = (t: Tensor) => (log ? tf.logSoftmax(t) : tf.softmax(t));
    if (c.opset < 13 && axis !== ls.length - 1) {
      const x = logical(tf, v);
      const y = sm(tf.reshape(x, [sizeOf(ls.slice(0, axis)), sizeOf(ls.slice(axis))]));
      return [tval(tf.reshape(y, ls))];
    }
    const pa = v.nhwc ? NHWC_AXIS[axis]! : axis;
    const last = v.t.rank - 1;
    if (pa === last) return [tval(sm(v.t), v.nhwc)];
    const perm = [...Array(v.t.rank).keys()];
    perm[pa] = last;
    perm[last] = pa;
    return [tval(tf.transpose(sm(tf.transpose(v.t, perm)), perm), v.nhwc)];
  };

// ------------------------------------------------------------ activations --

const Clip: OpImpl = (c) => {
  const { tf, node } = c;
  const lo = c.opset >= 11 ? (c.has(1) ? c.nums(1)?.[0] : -Infinity) : node.attrFloat('min', -3.4e38);
  const hi = c.opset >= 11 ? (c.has(2) ? c.nums(2)?.[0] : Infinity) : node.attrFloat('max', 3.4e38);
  if (lo === undefined || hi === undefined) return c.fail('min and max must be constant');
  const v = c.tv(0);
  if (lo === 0 && hi === 6) return [tval(tf.relu6(v.t), v.nhwc)];
  return [tval(tf.clipByValue(v.t, Math.max(lo, -3.4e38), Math.min(hi, 3.4e38)), v.nhwc)];
};

const Identity: OpImpl = (c) => [c.val(0)!];

const Shape: OpImpl = (c) => {
  const v = c.val(0)!;
  let dims = logicalShape(v);
  const start = c.node.attrInt('start');
  const end = c.node.attrInt('end');
  if (start !== undefined || end !== undefined) {
    const r = dims.length;
    const s = Math.min(Math.max(norm(start ?? 0, r), 0), r);
    const e = Math.min(Math.max(norm(end ?? r, r), 0), r);
    dims = dims.slice(s, e);
  }
  return [{ kind: 'h', dtype: 'int', dims: [dims.length], data: dims }];
};

const Size: OpImpl = (c) => [{ kind: 'h', dtype: 'int', dims: [], data: [sizeOf(logicalShape(c.val(0)!))] }];

const Cast: OpImpl = (c) => {
  const to = c.node.attrInt('to', 1);
  const v = c.tv(0);
  if (to === 1 || to === 10 || to === 11 || to === 16) return [tval(c.tf.cast(v.t, 'float32'), v.nhwc)];
  if (to === 9) return [tval(c.tf.cast(v.t, 'bool'), v.nhwc)];
  return [tval(c.tf.cast(v.t, 'int32'), v.nhwc)];
};

const Pow: OpImpl = (c) => {
  const e = c.nums(1);
  if (e && e.length === 1) {
    const p = e[0]!;
    return unaryOp((tf, x) => (p === 2 ? tf.square(x) : p === 0.5 ? tf.sqrt(x) : p === 1 ? x : tf.pow(x, tf.scalar(p))))(c);
  }
  return elementwise(c, [0, 1], (a, b) => c.tf.pow(a, b));
};

const n2 = (f: (tf: TF) => (a: Tensor, b: Tensor) => Tensor): OpImpl => (c) => elementwise(c, [0, 1], f(c.tf));

const variadic =
  (f: (tf: TF) => (a: Tensor, b: Tensor) => Tensor): OpImpl =>
  (c) => {
    const idx = c.node.inputs.map((_, i) => i).filter((i) => c.has(i));
    return elementwise(c, idx, (...ts) => ts.slice(1).reduce((acc, t) => f(c.tf)(acc, t), ts[0]!));
  };

const Where: OpImpl = (c) => elementwise(c, [0, 1, 2], (cond, a, b) => c.tf.where(c.tf.cast(cond, 'bool'), a, b));

const PRelu: OpImpl = (c) => elementwise(c, [0, 1], (x, s) => c.tf.add(c.tf.relu(x), c.tf.mul(s, c.tf.minimum(x, 0))));

/**
 * Every op with a tfjs translation. Anything else is refused when the model
 * is built, naming the op and the node.
 */
export const TRANSLATIONS: Record<string, OpTranslation> = {
  Conv: { impl: Conv, layout: convLayout },
  ConvTranspose: { impl: ConvTranspose, layout: (_n, i, d) => (i === 1 && d.length === 4 ? [2, 3, 1, 0] : null) },
  Gemm: { impl: Gemm },
  MatMul: { impl: MatMul },
  BatchNormalization: { impl: BatchNormalization },
  InstanceNormalization: { impl: InstanceNormalization },
  LayerNormalization: { impl: LayerNormalization },
  MaxPool: { impl: pool('max') },
  AveragePool: { impl: pool('avg') },
  GlobalAveragePool: { impl: globalPool('mean') },
  GlobalMaxPool: { impl: globalPool('max') },
  Relu: { impl: unaryOp((tf, x) => tf.relu(x)) },
  LeakyRelu: { impl: unaryOp((tf, x, c) => tf.leakyRelu(x, c.node.attrFloat('alpha', 0.01))) },
  Elu: { impl: unaryOp((tf, x, c) => (c.node.attrFloat('alpha', 1) === 1 ? tf.elu(x) : tf.where(tf.greater(x, 0), x, tf.mul(tf.sub(tf.exp(x), 1), c.node.attrFloat('alpha', 1))))) },
  Selu: { impl: unaryOp((tf, x) => tf.selu(x)) },
  Sigmoid: { impl: unaryOp((tf, x) => tf.sigmoid(x)) },
  HardSigmoid: { impl: unaryOp((tf, x, c) => tf.clipByValue(tf.add(tf.mul(x, c.node.attrFloat('alpha', 0.2)), c.node.attrFloat('beta', 0.5)), 0, 1)) },
  HardSwish: { impl: unaryOp((tf, x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6))) },
  Tanh: { impl: unaryOp((tf, x) => tf.tanh(x)) },
  Softplus: { impl: unaryOp((tf, x) => tf.softplus(x)) },
  Softsign: { impl: unaryOp((tf, x) => tf.div(x, tf.add(tf.abs(x), 1))) },
  Mish: { impl: unaryOp((tf, x) => tf.mul(x, tf.tanh(tf.softplus(x)))) },
  Gelu: { impl: unaryOp((tf, x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1))) },
  Erf: { impl: unaryOp((tf, x) => tf.erf(x)) },
  Exp: { impl: unaryOp((tf, x) => tf.exp(x)) },
  Log: { impl: unaryOp((tf, x) => tf.log(x)) },
  Sqrt: { impl: unaryOp((tf, x) => tf.sqrt(x)) },
  Abs: { impl: unaryOp((tf, x) => tf.abs(x)) },
  Neg: { impl: unaryOp((tf, x) => tf.neg(x)) },
  Reciprocal: { impl: unaryOp((tf, x) => tf.reciprocal(x)) },
  Floor: { impl: unaryOp((tf, x) => tf.floor(x)) },
  Ceil: { impl: unaryOp((tf, x) => tf.ceil(x)) },
  Clip: { impl: Clip },
  Identity: { impl: Identity },
  Dropout: { impl: Identity },
  Add: { impl: n2((tf) => tf.add) },
  Sub: { impl: n2((tf) => tf.sub) },
  Mul: { impl: n2((tf) => tf.mul) },
  Div: { impl: n2((tf) => tf.div) },
  Pow: { impl: Pow },
  Max: { impl: variadic((tf) => tf.maximum) },
  Min: { impl: variadic((tf) => tf.minimum) },
  Sum: { impl: variadic((tf) => tf.add) },
  Mean: { impl: (c) => { const n = c.node.inputs.filter(Boolean).length; const [r] = variadic((tf) => tf.add)(c) as [TVal]; return [tval(c.tf.div(r.t, n), r.nhwc)]; } },
  Where: { impl: Where },
  PRelu: { impl: PRelu },
  Concat: { impl: Concat },
  Split: { impl: Split },
  Slice: { impl: Slice },
  Gather: { impl: Gather },
  Reshape: { impl: Reshape },
  Flatten: { impl: Flatten },
  Transpose: { impl: Transpose },
  Squeeze: { impl: Squeeze },
  Unsqueeze: { impl: Unsqueeze },
  Pad: { impl: Pad },
  Resize: { impl: Resize },
  Upsample: { impl: Resize },
  ReduceMean: { impl: reduce('mean', 18) },
  ReduceSum: { impl: reduce('sum', 13) },
  ReduceMax: { impl: reduce('max', 18) },
  ReduceMin: { impl: reduce('min', 18) },
  Softmax: { impl: Softmax(false) },
  LogSoftmax: { impl: Softmax(true) },
  Shape: { impl: Shape },
  Size: { impl: Size },
  Cast: { impl: Cast },
};

export { hostTensor };
