import { sliceRange, type Node, type Value } from '@shears/core';
import { ACTIVATION_CODE, bytesOf, tflType, type Converter, type Slot } from './converter.js';
import { flattenFeatureOrder, identity, invert, lazyTranspose, physicalAxis, physicalShape, planReshape, samePerm, type LazyFloats } from './layout.js';
import { MirrorPadMode, Padding, type ActivationName, type OpName, type OptionsName } from './schema.js';

/**
 * How one ONNX op becomes TFLite ops: the one table of per-op TFLite
 * knowledge, keyed by ONNX op type (`domain::op` outside the default domain). `check` runs on every
 * node before anything is emitted, so all unsupported nodes are reported
 * together; `convert` emits the TFLite ops.
 */
export interface TfliteOpMapping {
  /** TFLite ops the conversion may emit (for docs and coverage). */
  emits: readonly OpName[];
  /** Why this node cannot be converted; undefined when it can. */
  check?(node: Node, cx: CheckContext): string | undefined;
  convert(node: Node, cx: ConvertContext): void;
}

/** What check() may ask: the converter's queries, with shapes that may be unknown. */
export interface CheckContext extends Pick<Converter, 'constOf' | 'structure' | 'param' | 'opset'> {
  shape(v: Value): number[] | undefined;
}

export type ConvertContext = Converter;

const NHWC = [0, 2, 3, 1];

// ---------------------------------------------------------------- helpers


function ints(node: Node, name: string, fallback: number[]): number[] {
  return node.attrInts(name) ?? fallback;
}

type PadPlan = { padding: 'SAME' | 'VALID'; explicit?: number[][] };

/**
 * TFLite has SAME and VALID padding only. Explicit ONNX pads become SAME when
 * they equal TensorFlow's SAME split (extra pad at the end), VALID when zero,
 * else an explicit PAD before a VALID op. `ends` are the effective end pads
 * (ceil mode adds to them).
 */
function padPlan(inDims: number[], outDims: number[], kernel: number[], strides: number[], dil: number[], begins: number[], ends: number[]): PadPlan {
  if (begins.every((p) => p === 0) && ends.every((p) => p === 0)) return { padding: 'VALID' };
  const same = inDims.every((n, i) => {
    const out = Math.ceil(n / strides[i]!);
    const keff = (kernel[i]! - 1) * dil[i]! + 1;
    const total = Math.max((out - 1) * strides[i]! + keff - n, 0);
    return outDims[i] === out && begins[i] === Math.floor(total / 2) && ends[i] === total - Math.floor(total / 2);
  });
  if (same) return { padding: 'SAME' };
  return { padding: 'VALID', explicit: inDims.map((_, i) => [begins[i]!, ends[i]!]) };
}

/** ONNX pads of a conv/pool node: [begins, ends] over the spatial axes, resolving auto_pad. */
function spatialPads(node: Node, inDims: number[], kernel: number[], strides: number[], dil: number[]): [number[], number[]] {
  const n = inDims.length;
  const auto = node.attrString('auto_pad', 'NOTSET');
  if (auto === 'VALID') return [new Array(n).fill(0), new Array(n).fill(0)];
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const b: number[] = [];
    const e: number[] = [];
    inDims.forEach((d, i) => {
      const out = Math.ceil(d / strides[i]!);
      const total = Math.max((out - 1) * strides[i]! + (kernel[i]! - 1) * dil[i]! + 1 - d, 0);
      const small = Math.floor(total / 2);
      b.push(auto === 'SAME_UPPER' ? small : total - small);
      e.push(auto === 'SAME_UPPER' ? total - small : small);
    });
    return [b, e];
  }
  const pads = ints(node, 'pads', new Array(2 * n).fill(0));
  return [pads.slice(0, n), pads.slice(n)];
}

/** PAD (or PADV2 with a value) of an NHWC tensor over its spatial axes. */
function padSpatial(cx: Converter, t: number, phys: number[], hw: number[][], value: number, name: string): { tensor: number; phys: number[] } {
  const pads = [[0, 0], ...hw, [0, 0]];
  return padPhysical(cx, t, phys, pads, value, name);
}

function padPhysical(cx: Converter, t: number, phys: number[], pads: number[][], value: number, name: string, mode?: 'reflect'): { tensor: number; phys: number[] } {
  const outPhys = phys.map((d, i) => d + pads[i]![0]! + pads[i]![1]!);
  const out = cx.temp(`${name}_padded`, outPhys);
  const paddings = cx.g.addTensor({ shape: [phys.length, 2], type: 'INT32', name: `${name}_paddings`, data: bytesOf(Int32Array.from(pads.flat())) });
  if (mode === 'reflect') cx.op('MIRROR_PAD', [t, paddings], [out], { type: 'MirrorPadOptions', values: { mode: MirrorPadMode.REFLECT } });
  else if (value === 0) cx.op('PAD', [t, paddings], [out], { type: 'PadOptions', values: {} });
  else cx.op('PADV2', [t, paddings, cx.f32(Float32Array.of(value), [], `${name}_pad_value`)], [out], { type: 'PadV2Options', values: {} });
  return { tensor: out, phys: outPhys };
}

function floatInputCheck(node: Node, cx: CheckContext, i: number, what: string): string | undefined {
  const t = cx.constOf(node.input(i));
  if (!t) return `${what} is not constant`;
  if (t.dtype !== 'float32') return `${what} is ${t.dtype} (float32 expected)`;
  return undefined;
}

function sparseCandidate(cx: Converter, node: Node, kernel: number[], strides: number[], group: number): boolean {
  if (!cx.opts.sparse) return false;
  if (cx.opts.sparseScope === 'all') return true;
  if (group !== 1) return false;
  if (kernel.every((k) => k === 1)) return true;
  return node === cx.firstConv && kernel.every((k) => k === 3) && strides.every((s) => s === 2);
}

/** Output slot for a layout-preserving op (unary ops, activations). */
function unaryOp(cx: ConvertContext, node: Node, op: OpName, options?: { type: OptionsName; values: Record<string, number | boolean> }): number {
  const x = node.input(0)!;
  const s = cx.slot(x);
  const out = cx.output(node.outputs[0]!, s.perm);
  return cx.op(op, [s.tensor], [out], options);
}

function activation(op: OpName, fused?: ActivationName): TfliteOpMapping {
  return {
    emits: [op],
    check: (node, cx) => (cx.constOf(node.input(0)) ? 'constant input (should have been folded)' : undefined),
    convert(node, cx) {
      if (fused && cx.tryFuse(node, fused)) return;
      unaryOp(cx, node, op);
    },
  };
}

/** The layout for an n-ary elementwise op: that of the first full-rank activation input. */
function elementwiseLayout(cx: Converter, node: Node, rank: number): number[] {
  for (const v of node.inputs) {
    if (!v || cx.constOf(v) && !cx.slots.has(v)) continue;
    if (cx.rank(v) === rank) return cx.slot(v).perm;
  }
  return identity(rank);
}

/** An input of an elementwise op stored with `perm`, lower ranks broadcast-aligned first. */
function elementwiseInput(cx: Converter, v: Value, perm: number[]): number {
  if (cx.constOf(v) && !cx.slots.has(v)) return cx.constant(v, perm);
  const r = cx.rank(v);
  if (r === perm.length) return cx.at(v, perm);
  // Lower rank: view as rank-r with leading 1s (a RESHAPE of the ONNX-layout data), then re-lay.
  const shape = [...new Array<number>(perm.length - r).fill(1), ...cx.shape(v)];
  const src = cx.at(v, identity(r));
  const t = cx.temp(`${v.name}_r${perm.length}`, shape);
  cx.op('RESHAPE', [src, cx.i32(shape)], [t], { type: 'ReshapeOptions', values: { new_shape: shape } });
  return cx.relayout({ tensor: t, perm: identity(perm.length) }, shape, perm, v.name);
}

function binary(op: OpName, options: OptionsName | undefined): TfliteOpMapping {
  return {
    emits: [op],
    check(node, cx) {
      if (node.inputs.every((v) => v && cx.constOf(v))) return 'all inputs constant (should have been folded)';
      return undefined;
    },
    convert(node, cx) {
      const y = node.outputs[0]!;
      const perm = elementwiseLayout(cx, node, cx.rank(y));
      const ins = node.inputs.map((v) => elementwiseInput(cx, v!, perm));
      const out = cx.output(y, perm);
      const i = cx.op(op, ins, [out], options ? { type: options, values: { fused_activation_function: 0 } } : undefined);
      if (options) cx.fusable(y, [i]);
    },
  };
}

/**
 * A [1,…,C,…,1] constant holding per-channel values along semantic axis 1,
 * stored with `perm`. Kept float32 under --fp16: computed from statistics, tiny.
 */
function channelConst(cx: Converter, values: Float32Array, rank: number, perm: number[], name: string): number {
  const semantic = new Array<number>(rank).fill(1);
  semantic[1] = values.length;
  return cx.weight(values, physicalShape(semantic, perm), name, { elementwise: true, float32: true });
}

/** Attributes of Resize that TFLite's two resize ops can express. */
function resizeMode(node: Node): { op: OpName; align: boolean; half: boolean } | string {
  const mode = node.attrString('mode', 'nearest');
  const ct = node.attrString('coordinate_transformation_mode', 'half_pixel');
  const nm = node.attrString('nearest_mode', 'round_prefer_floor');
  if (node.attrInt('antialias', 0) || node.attrInt('exclude_outside', 0)) return 'antialias/exclude_outside';
  if (mode === 'linear') {
    if (ct === 'half_pixel' || ct === 'pytorch_half_pixel') return { op: 'RESIZE_BILINEAR', align: false, half: true };
    if (ct === 'align_corners') return { op: 'RESIZE_BILINEAR', align: true, half: false };
    if (ct === 'asymmetric') return { op: 'RESIZE_BILINEAR', align: false, half: false };
    return `linear with coordinate_transformation_mode=${ct}`;
  }
  if (mode === 'nearest') {
    if (ct === 'asymmetric' && nm === 'floor') return { op: 'RESIZE_NEAREST_NEIGHBOR', align: false, half: false };
    if ((ct === 'half_pixel' || ct === 'pytorch_half_pixel') && nm === 'round_prefer_ceil') return { op: 'RESIZE_NEAREST_NEIGHBOR', align: false, half: true };
    if (ct === 'align_corners' && nm === 'round_prefer_ceil') return { op: 'RESIZE_NEAREST_NEIGHBOR', align: true, half: false };
    return `nearest with coordinate_transformation_mode=${ct}, nearest_mode=${nm}`;
  }
  return `mode=${mode}`;
}

function reduceOp(op: OpName): TfliteOpMapping {
  return {
    emits: [op],
    check: (node, cx) => (cx.structure(node) ? undefined : 'axes are not constant'),
    convert(node, cx) {
      const x = node.input(0)!;
      const st = cx.structure(node)!;
      const s = cx.slot(x);
      const r = cx.rank(x);
      const axes = st.axes && st.axes.length ? st.axes : identity(r);
      reduce(cx, op, s, axes, st.keepdims !== false, node.outputs[0]!);
    },
  };
}

/** A reduction over semantic `axes` of a value stored as `s`; the output keeps the layout minus dropped axes. */
function reduce(cx: Converter, op: OpName, s: Slot, axes: number[], keep: boolean, y: Value): void {
  const phys = axes.map((a) => physicalAxis(s.perm, a)).sort((a, b) => a - b);
  const perm = keep ? s.perm : s.perm.filter((a) => !axes.includes(a)).map((a) => a - axes.filter((b) => b < a).length);
  const out = cx.output(y, perm);
  cx.op(op, [s.tensor, cx.i32(phys, `${y.name}_axes`)], [out], { type: 'ReducerOptions', values: { keep_dims: keep } });
}

// ---------------------------------------------------------------- convolution

function convert2d(node: Node, cx: ConvertContext): void {
  const x = node.input(0)!;
  const y = node.outputs[0]!;
  const W = cx.constOf(node.input(1))!;
  const [O, I, KH, KW] = W.dims as [number, number, number, number];
  const group = node.attrInt('group', 1);
  const [, C, H, Wd] = cx.shape(x) as [number, number, number, number];
  const [, , OH, OW] = cx.shape(y) as [number, number, number, number];
  const strides = ints(node, 'strides', [1, 1]);
  const dil = ints(node, 'dilations', [1, 1]);
  const [begins, ends] = spatialPads(node, [H, Wd], [KH, KW], strides, dil);
  const plan = padPlan([H, Wd], [OH, OW], [KH, KW], strides, dil, begins, ends);
  let xin = cx.at(x, NHWC);
  let phys = physicalShape(cx.shape(x), NHWC);
  if (plan.explicit) ({ tensor: xin, phys } = padSpatial(cx, xin, phys, plan.explicit, 0, node.label));
  const w = W.floats();
  const bias = cx.constOf(node.input(2))?.floats() ?? new Float32Array(O);
  const name = node.input(1)!.name;
  const sparse = sparseCandidate(cx, node, [KH, KW], strides, group);
  const common = { padding: Padding[plan.padding], stride_w: strides[1]!, stride_h: strides[0]!, dilation_w_factor: dil[1]!, dilation_h_factor: dil[0]!, fused_activation_function: 0 };
  const out = () => cx.output(y, NHWC);
  if (group === 1 || (group > 1 && cx.opts.groupedConv === 'native' && group !== C)) {
    const filter = cx.weight(lazyTranspose(w, [O, I, KH, KW], [0, 2, 3, 1]), [O, KH, KW, I], name, { sparseCandidate: sparse });
    const b = cx.weight(bias, [O], `${name}_bias`);
    const i = cx.op('CONV_2D', [xin, filter, b, ...[]], [out()], { type: 'Conv2DOptions', values: common });
    cx.fusable(y, [i]);
    return;
  }
  if (group === C && O % C === 0) {
    const filter = cx.weight(lazyTranspose(w, [O, 1, KH, KW], [1, 2, 3, 0]), [1, KH, KW, O], name);
    const b = cx.weight(bias, [O], `${name}_bias`);
    const i = cx.op('DEPTHWISE_CONV_2D', [xin, filter, b], [out()], { type: 'DepthwiseConv2DOptions', values: { ...common, depth_multiplier: O / C } });
    cx.fusable(y, [i]);
    return;
  }
  // Grouped: SPLIT the channels, one CONV_2D per group, CONCATENATION.
  const og = O / group;
  const parts = Array.from({ length: group }, (_, k) => cx.temp(`${node.label}_in${k}`, [phys[0]!, phys[1]!, phys[2]!, I]));
  cx.op('SPLIT', [cx.i32Scalar(3, `${node.label}_axis`), xin], parts, { type: 'SplitOptions', values: { num_splits: group } });
  const convs: number[] = [];
  const outs: number[] = [];
  for (let k = 0; k < group; k++) {
    const wk = w.subarray(k * og * I * KH * KW, (k + 1) * og * I * KH * KW);
    const filter = cx.weight(lazyTranspose(wk, [og, I, KH, KW], [0, 2, 3, 1]), [og, KH, KW, I], `${name}_g${k}`, { sparseCandidate: sparse });
    const b = cx.weight(bias.slice(k * og, (k + 1) * og), [og], `${name}_bias_g${k}`);
    const o = cx.temp(`${y.name}_g${k}`, [phys[0]!, OH, OW, og]);
    outs.push(o);
    convs.push(cx.op('CONV_2D', [parts[k]!, filter, b], [o], { type: 'Conv2DOptions', values: { ...common } }));
  }
  cx.op('CONCATENATION', outs, [out()], { type: 'ConcatenationOptions', values: { axis: 3, fused_activation_function: 0 } });
  cx.fusable(y, convs);
}

function checkConv(node: Node, cx: CheckContext): string | undefined {
  const bad = floatInputCheck(node, cx, 1, 'weight');
  if (bad) return bad;
  const W = cx.constOf(node.input(1))!;
  if (W.dims.length !== 4) return `${W.dims.length - 2}-D convolution (TFLite export handles 2-D)`;
  if (node.input(2) && !cx.constOf(node.input(2))) return 'bias is not constant';
  const x = cx.shape(node.input(0)!);
  const group = node.attrInt('group', 1);
  if (x && group > 1 && x[1] !== group && (W.dims[0]! % group !== 0 || x[1]! % group !== 0)) return `group ${group} does not divide the channels`;
  return undefined;
}

function convertTranspose2d(node: Node, cx: ConvertContext): void {
  const x = node.input(0)!;
  const y = node.outputs[0]!;
  const W = cx.constOf(node.input(1))!;
  const [Cin, Cout, KH, KW] = W.dims as [number, number, number, number];
  const [N, , H, Wd] = cx.shape(x) as [number, number, number, number];
  const [, , OH, OW] = cx.shape(y) as [number, number, number, number];
  const s = ints(node, 'strides', [1, 1]);
  const fullH = (H - 1) * s[0]! + KH;
  const fullW = (Wd - 1) * s[1]! + KW;
  const pads = ints(node, 'pads', [0, 0, 0, 0]);
  const auto = node.attrString('auto_pad', 'NOTSET');
  const filter = cx.weight(lazyTranspose(W.floats(), [Cin, Cout, KH, KW], [1, 2, 3, 0]), [Cout, KH, KW, Cin], node.input(1)!.name);
  const bias = cx.constOf(node.input(2))?.floats() ?? new Float32Array(Cout);
  const xin = cx.at(x, NHWC);
  // SAME: out = in*stride with TF's pad split; VALID: the full output; else VALID and crop.
  const sameH = Math.max((H - 1) * s[0]! + KH - H * s[0]!, 0);
  const sameW = Math.max((Wd - 1) * s[1]! + KW - Wd * s[1]!, 0);
  const isSame = auto.startsWith('SAME') || (OH === H * s[0]! && OW === Wd * s[1]! && pads[0] === Math.floor(sameH / 2) && pads[1] === Math.floor(sameW / 2));
  const isValid = !isSame && OH === fullH && OW === fullW && pads.every((p) => p === 0);
  const b = cx.weight(bias, [Cout], `${node.input(1)!.name}_bias`);
  if (isSame || isValid) {
    const out = cx.output(y, NHWC);
    const i = cx.op('TRANSPOSE_CONV', [cx.i32([N, OH, OW, Cout], `${y.name}_shape`), filter, xin, b], [out], {
      type: 'TransposeConvOptions',
      values: { padding: isSame ? Padding.SAME : Padding.VALID, stride_w: s[1]!, stride_h: s[0]!, fused_activation_function: 0 },
    });
    cx.fusable(y, [i]);
    return;
  }
  const full = cx.temp(`${y.name}_full`, [N, fullH, fullW, Cout]);
  cx.op('TRANSPOSE_CONV', [cx.i32([N, fullH, fullW, Cout], `${y.name}_shape`), filter, xin, b], [full], {
    type: 'TransposeConvOptions',
    values: { padding: Padding.VALID, stride_w: s[1]!, stride_h: s[0]!, fused_activation_function: 0 },
  });
  const out = cx.output(y, NHWC);
  const begin = [0, pads[0]!, pads[1]!, 0];
  cx.op('STRIDED_SLICE', [full, cx.i32(begin), cx.i32([N, pads[0]! + OH, pads[1]! + OW, Cout]), cx.i32([1, 1, 1, 1])], [out], { type: 'StridedSliceOptions', values: {} });
}

// ---------------------------------------------------------------- pooling

function pool(op: 'MAX_POOL_2D' | 'AVERAGE_POOL_2D'): TfliteOpMapping {
  const plan = (node: Node, inDims: number[], outDims: number[]) => {
    const k = ints(node, 'kernel_shape', [1, 1]);
    const s = ints(node, 'strides', [1, 1]);
    const d = ints(node, 'dilations', [1, 1]);
    const [b, e] = spatialPads(node, inDims, k, s, d);
    // Ceil mode (or any output larger than floor) reads past the end pad: add it to the end pad.
    const ends = e.map((p, i) => p + Math.max(0, (outDims[i]! - 1) * s[i]! + k[i]! - (inDims[i]! + b[i]! + p)));
    return { k, s, d, b, ends, plan: padPlan(inDims, outDims, k, s, [1, 1], b, ends), e };
  };
  return {
    emits: [op, op === 'MAX_POOL_2D' ? 'PADV2' : 'PAD'],
    check(node, cx) {
      const x = cx.shape(node.input(0)!);
      const y = cx.shape(node.outputs[0]!);
      if (!x || !y || x.length !== 4) return 'only 2-D pooling';
      if (ints(node, 'dilations', [1, 1]).some((v) => v !== 1)) return 'dilated pooling';
      if (node.outputs.length > 1 && node.outputs[1]!.uses().length) return 'MaxPool indices output';
      if (op === 'AVERAGE_POOL_2D') {
        const p = plan(node, x.slice(2), y.slice(2));
        const include = node.attrInt('count_include_pad', 0) === 1;
        const real = p.b.some((v) => v) || p.e.some((v) => v);
        const ceilExtra = p.ends.some((v, i) => v !== p.e[i]);
        if (p.plan.explicit && (!include || ceilExtra)) return 'average pooling with padding that TFLite cannot express (count_include_pad=0 with asymmetric pads, or ceil mode)';
        if (p.plan.padding === 'SAME' && include && real) return 'average pooling with count_include_pad=1 and SAME-like pads';
      }
      return undefined;
    },
    convert(node, cx) {
      const x = node.input(0)!;
      const y = node.outputs[0]!;
      const inDims = cx.shape(x).slice(2);
      const outDims = cx.shape(y).slice(2);
      const p = plan(node, inDims, outDims);
      let xin = cx.at(x, NHWC);
      if (p.plan.explicit) xin = padSpatial(cx, xin, physicalShape(cx.shape(x), NHWC), p.plan.explicit, op === 'MAX_POOL_2D' ? -3.4028234663852886e38 : 0, node.label).tensor;
      const out = cx.output(y, NHWC);
      const i = cx.op(op, [xin], [out], {
        type: 'Pool2DOptions',
        values: { padding: Padding[p.plan.padding], stride_w: p.s[1]!, stride_h: p.s[0]!, filter_width: p.k[1]!, filter_height: p.k[0]!, fused_activation_function: 0 },
      });
      cx.fusable(y, [i]);
    },
  };
}

function globalPool(op: 'MEAN' | 'REDUCE_MAX'): TfliteOpMapping {
  return {
    emits: [op],
    check: (node, cx) => ((cx.shape(node.input(0)!)?.length ?? 0) < 3 ? 'rank below 3' : undefined),
    convert(node, cx) {
      const x = node.input(0)!;
      const r = cx.rank(x);
      reduce(cx, op, cx.slot(x), identity(r).slice(2), true, node.outputs[0]!);
    },
  };
}

// ---------------------------------------------------------------- dense

/** Fully connected weight [N, K] from a [K, N] (or [N, K] when transposed) matrix, scaled, columns reordered for a folded flatten. */
function fcWeight(B: Float32Array, K: number, N: number, bIsNK: boolean, scale: number, order: Int32Array | undefined): LazyFloats {
  if (bIsNK && scale === 1 && !order) return { length: N * K, fill: (w) => w.set(B) };
  return {
    length: N * K,
    fill(w) {
      for (let n = 0; n < N; n++)
        for (let k = 0; k < K; k++) {
          const src = order ? order[k]! : k;
          w[n * K + k] = scale * (bIsNK ? B[n * K + src]! : B[src * N + n]!);
        }
    },
  };
}

/** An Add after a matmul that only adds a constant [N] vector: its bias. */
function biasAdd(cx: Converter, y: Value, N: number): { node: Node; bias: Float32Array } | undefined {
  const add = cx.soleUse(y);
  if (!add || add.opType !== 'Add') return undefined;
  const other = add.input(add.input(0) === y ? 1 : 0);
  const t = cx.constOf(other);
  if (!t || t.dtype !== 'float32' || t.size !== N || t.dims.at(-1) !== N) return undefined;
  if (cx.shape(add.outputs[0]!).length !== cx.shape(y).length) return undefined;
  return { node: add, bias: t.floats() };
}

function fullyConnected(cx: ConvertContext, node: Node, a: Value, weights: Float32Array, K: number, N: number, bIsNK: boolean, scale: number, bias: Float32Array | undefined, y: Value): void {
  const s = cx.slot(a);
  const r = cx.rank(a);
  let input: number;
  let perm: number[];
  if (s.featureOrder) {
    input = s.tensor;
    perm = identity(2);
  } else if (s.perm[r - 1] === r - 1) {
    input = s.tensor;
    perm = s.perm;
  } else {
    perm = identity(r);
    input = cx.at(a, perm);
  }
  const w = cx.weight(fcWeight(weights, K, N, bIsNK, scale, s.featureOrder), [N, K], node.input(1)!.name, { sparseCandidate: !!cx.opts.sparse && cx.opts.sparseScope === 'all' });
  const fused = biasAdd(cx, y, N);
  const target = fused ? fused.node.outputs[0]! : y;
  if (fused) cx.consumed.add(fused.node);
  const b = fused ? fused.bias.map((v, i) => v + (bias?.[i] ?? 0)) : bias;
  const inputs = [input, w, cx.weight(b ?? new Float32Array(N), [N], `${node.input(1)!.name}_bias`)];
  const out = cx.output(target, perm);
  const i = cx.op('FULLY_CONNECTED', inputs, [out], { type: 'FullyConnectedOptions', values: { fused_activation_function: 0, keep_num_dims: r > 2 } });
  cx.fusable(target, [i]);
}

// ---------------------------------------------------------------- reshape family

function reshapeTo(cx: ConvertContext, x: Value, y: Value): void {
  const inShape = cx.shape(x);
  const outShape = cx.shape(y);
  const s = cx.slot(x);
  const plan = planReshape(inShape, s.perm, outShape);
  if (plan.kind === 'relayout') {
    const folded = flattenIntoDense(cx, x, y, s);
    if (folded) return;
  }
  const srcPerm = plan.kind === 'direct' ? s.perm : plan.inputPerm;
  const src = plan.kind === 'direct' ? s.tensor : cx.relayout(s, inShape, plan.inputPerm, x.name);
  const srcPhys = physicalShape(inShape, srcPerm);
  if (srcPhys.length === plan.physical.length && srcPhys.every((d, i) => d === plan.physical[i])) {
    cx.define(y, src, plan.perm);
    return;
  }
  const out = cx.output(y, plan.perm);
  cx.op('RESHAPE', [src, cx.i32(plan.physical, `${y.name}_shape`)], [out], { type: 'ReshapeOptions', values: { new_shape: plan.physical } });
}

/** Gemm/MatMul consumers of a flattened value that can absorb its stored feature order. */
function denseConsumer(cx: Converter, n: Node, v: Value): boolean {
  if (n.input(0) !== v) return false;
  const b = cx.constOf(n.input(1));
  if (!b || b.dims.length !== 2 || b.dtype !== 'float32') return false;
  if (n.opType === 'Gemm') return n.attrInt('transA', 0) === 0;
  return n.opType === 'MatMul';
}

/**
 * A Flatten/Reshape to [rows, K] of data stored in another order (NHWC),
 * feeding only fully connected layers: reshape the stored data as it is and
 * let those layers permute their weight columns (no TRANSPOSE).
 */
function flattenIntoDense(cx: ConvertContext, x: Value, y: Value, s: Slot): boolean {
  const inShape = cx.shape(x);
  const out = cx.shape(y);
  if (out.length !== 2 || cx.isGraphOutput(y) || !y.uses().length || !y.uses().every((u) => denseConsumer(cx, u.node, y))) return false;
  let axis = -1;
  for (let a = 0, p = 1; a <= inShape.length; p *= inShape[a++] ?? 1) if (p === out[0]) axis = axis < 0 || inShape[a - 1] !== 1 ? a : axis;
  if (axis < 0) return false;
  const lead = s.perm.filter((a) => a < axis && inShape[a] !== 1);
  const stored = s.perm.filter((a) => inShape[a] !== 1);
  if (!samePerm(stored.slice(0, lead.length), [...lead].sort((a, b) => a - b))) return false;
  const t = cx.output(y, identity(2));
  cx.op('RESHAPE', [s.tensor, cx.i32(out, `${y.name}_shape`)], [t], { type: 'ReshapeOptions', values: { new_shape: out } });
  cx.slots.get(y)!.featureOrder = flattenFeatureOrder(inShape, s.perm, axis);
  return true;
}

const reshapeLike: TfliteOpMapping = {
  emits: ['RESHAPE', 'TRANSPOSE'],
  convert: (node, cx) => reshapeTo(cx, node.input(0)!, node.outputs[0]!),
};

const alias: TfliteOpMapping = {
  emits: [],
  convert(node, cx) {
    const x = node.input(0)!;
    if (cx.constOf(x) && !cx.slots.has(x)) return; // a constant through Identity stays a constant (see constOf)
    const s = cx.slot(x);
    cx.slots.set(node.outputs[0]!, s);
  },
};

// ---------------------------------------------------------------- the table

export const TFLITE_OPS: Record<string, TfliteOpMapping> = {
  Conv: { emits: ['CONV_2D', 'DEPTHWISE_CONV_2D', 'PAD', 'SPLIT', 'CONCATENATION'], check: checkConv, convert: convert2d },
  ConvTranspose: {
    emits: ['TRANSPOSE_CONV', 'STRIDED_SLICE'],
    check(node, cx) {
      const bad = floatInputCheck(node, cx, 1, 'weight');
      if (bad) return bad;
      if (cx.constOf(node.input(1))!.dims.length !== 4) return 'only 2-D transposed convolution';
      if (node.attrInt('group', 1) !== 1) return 'grouped transposed convolution';
      if (ints(node, 'dilations', [1, 1]).some((d) => d !== 1)) return 'dilated transposed convolution';
      if (ints(node, 'output_padding', [0, 0]).some((d) => d !== 0)) return 'output_padding';
      if (node.input(2) && !cx.constOf(node.input(2))) return 'bias is not constant';
      return undefined;
    },
    convert: convertTranspose2d,
  },
  Gemm: {
    emits: ['FULLY_CONNECTED'],
    check(node, cx) {
      if (node.attrInt('transA', 0)) return 'transA=1';
      const bad = floatInputCheck(node, cx, 1, 'B');
      if (bad) return bad;
      const c = node.input(2);
      if (c) {
        const t = cx.constOf(c);
        const n = cx.shape(node.outputs[0]!)?.[1];
        if (!t) return 'C is not constant';
        if (t.size !== 1 && t.size !== n) return 'C is not a vector over the outputs';
      }
      return undefined;
    },
    convert(node, cx) {
      const B = cx.constOf(node.input(1))!;
      const transB = node.attrInt('transB', 0) === 1;
      const [K, N] = transB ? [B.dims[1]!, B.dims[0]!] : [B.dims[0]!, B.dims[1]!];
      const beta = node.attrFloat('beta', 1);
      const c = cx.constOf(node.input(2))?.floats();
      const bias = c ? Float32Array.from({ length: N }, (_, i) => beta * (c.length === 1 ? c[0]! : c[i]!)) : undefined;
      fullyConnected(cx, node, node.input(0)!, B.floats(), K, N, transB, node.attrFloat('alpha', 1), bias, node.outputs[0]!);
    },
  },
  MatMul: {
    emits: ['FULLY_CONNECTED', 'BATCH_MATMUL'],
    check(node, cx) {
      const a = cx.shape(node.input(0)!);
      const b = cx.constOf(node.input(1));
      if (!a || a.length < 2) return 'rank-1 operand';
      if (b && b.dtype !== 'float32') return `B is ${b.dtype}`;
      if (!b && (cx.shape(node.input(1)!)?.length ?? 0) < 2) return 'rank-1 operand';
      return undefined;
    },
    convert(node, cx) {
      const B = cx.constOf(node.input(1));
      if (B && B.dims.length === 2) {
        fullyConnected(cx, node, node.input(0)!, B.floats(), B.dims[0]!, B.dims[1]!, false, 1, undefined, node.outputs[0]!);
        return;
      }
      const [a, b] = [node.input(0)!, node.input(1)!];
      const out = cx.output(node.outputs[0]!, identity(cx.rank(node.outputs[0]!)));
      cx.op('BATCH_MATMUL', [cx.at(a, identity(cx.rank(a))), cx.at(b, identity(cx.rank(b)))], [out], { type: 'BatchMatMulOptions', values: { adj_x: false, adj_y: false } });
    },
  },
  Add: binary('ADD', 'AddOptions'),
  Sub: binary('SUB', 'SubOptions'),
  Mul: binary('MUL', 'MulOptions'),
  Div: binary('DIV', 'DivOptions'),
  Max: binary('MAXIMUM', undefined),
  Min: binary('MINIMUM', undefined),
  Relu: activation('RELU', 'RELU'),
  Sigmoid: activation('LOGISTIC'),
  Tanh: activation('TANH'),
  HardSwish: activation('HARD_SWISH'),
  Exp: activation('EXP'),
  Sqrt: activation('SQRT'),
  Abs: activation('ABS'),
  Neg: activation('NEG'),
  Elu: {
    emits: ['ELU'],
    check: (node) => (node.attrFloat('alpha', 1) !== 1 ? 'alpha other than 1' : undefined),
    convert: (node, cx) => void unaryOp(cx, node, 'ELU'),
  },
  LeakyRelu: {
    emits: ['LEAKY_RELU'],
    convert: (node, cx) => void unaryOp(cx, node, 'LEAKY_RELU', { type: 'LeakyReluOptions', values: { alpha: node.attrFloat('alpha', 0.01) } }),
  },
  Gelu: {
    emits: ['GELU'],
    convert: (node, cx) => void unaryOp(cx, node, 'GELU', { type: 'GeluOptions', values: { approximate: node.attrString('approximate', 'none') === 'tanh' } }),
  },
  'com.microsoft::Gelu': { emits: ['GELU'], convert: (node, cx) => void unaryOp(cx, node, 'GELU', { type: 'GeluOptions', values: { approximate: false } }) },
  Clip: {
    emits: ['RELU6', 'RELU', 'RELU_N1_TO_1', 'MAXIMUM', 'MINIMUM'],
    check(node, cx) {
      for (const i of [1, 2]) if (node.input(i) && !cx.constOf(node.input(i))) return 'min/max are not constant';
      return undefined;
    },
    convert(node, cx) {
      const lo = node.input(1) ? Number(cx.constOf(node.input(1))!.values[0]) : node.attrFloat('min', -Infinity);
      const hi = node.input(2) ? Number(cx.constOf(node.input(2))!.values[0]) : node.attrFloat('max', Infinity);
      const named: [number, number, ActivationName, OpName][] = [
        [0, 6, 'RELU6', 'RELU6'],
        [0, Infinity, 'RELU', 'RELU'],
        [-1, 1, 'RELU_N1_TO_1', 'RELU_N1_TO_1'],
      ];
      for (const [a, b, act, op] of named)
        if (lo === a && (hi === b || (b === Infinity && hi >= 3.4e38))) {
          if (cx.tryFuse(node, act)) return;
          unaryOp(cx, node, op);
          return;
        }
      const x = node.input(0)!;
      const s = cx.slot(x);
      const y = node.outputs[0]!;
      let t = s.tensor;
      const phys = physicalShape(cx.shape(x), s.perm);
      if (lo > -Infinity) {
        const o = hi < Infinity ? cx.temp(`${y.name}_lo`, phys) : cx.output(y, s.perm);
        cx.op('MAXIMUM', [t, cx.f32(Float32Array.of(lo), [], `${y.name}_min`)], [o]);
        t = o;
      }
      if (hi < Infinity) cx.op('MINIMUM', [t, cx.f32(Float32Array.of(hi), [], `${y.name}_max`)], [cx.output(y, s.perm)]);
      if (lo === -Infinity && hi === Infinity) cx.slots.set(y, s);
    },
  },
  HardSigmoid: {
    // max(0, min(1, αx+β)) = relu6(6αx + 6β) / 6
    emits: ['MUL', 'ADD'],
    convert(node, cx) {
      const x = node.input(0)!;
      const y = node.outputs[0]!;
      const s = cx.slot(x);
      const phys = physicalShape(cx.shape(x), s.perm);
      const alpha = node.attrFloat('alpha', 0.2);
      const beta = node.attrFloat('beta', 0.5);
      let t = s.tensor;
      if (Math.abs(6 * alpha - 1) > 1e-7) {
        const o = cx.temp(`${y.name}_scaled`, phys);
        cx.op('MUL', [t, cx.f32(Float32Array.of(6 * alpha), [], `${y.name}_6a`)], [o], { type: 'MulOptions', values: {} });
        t = o;
      }
      const r = cx.temp(`${y.name}_relu6`, phys);
      cx.op('ADD', [t, cx.f32(Float32Array.of(6 * beta), [], `${y.name}_6b`)], [r], { type: 'AddOptions', values: { fused_activation_function: ACTIVATION_CODE.RELU6 } });
      cx.op('MUL', [r, cx.f32(Float32Array.of(1 / 6), [], `${y.name}_sixth`)], [cx.output(y, s.perm)], { type: 'MulOptions', values: {} });
    },
  },
  BatchNormalization: {
    // Folded into the preceding Conv beforehand where possible; otherwise a per-channel MUL + ADD.
    emits: ['MUL', 'ADD'],
    check(node, cx) {
      for (const i of [1, 2, 3, 4]) {
        const bad = floatInputCheck(node, cx, i, ['', 'scale', 'bias', 'mean', 'var'][i]!);
        if (bad) return bad;
      }
      if (node.outputs.length > 1 && node.outputs.slice(1).some((o) => o.uses().length)) return 'training-mode outputs';
      return undefined;
    },
    convert(node, cx) {
      const [scale, bias, mean, variance] = [1, 2, 3, 4].map((i) => cx.constOf(node.input(i))!.floats());
      const eps = node.attrFloat('epsilon', 1e-5);
      const mul = scale!.map((g, c) => g / Math.sqrt(variance![c]! + eps));
      const add = bias!.map((b, c) => b - mean![c]! * mul[c]!);
      const x = node.input(0)!;
      const y = node.outputs[0]!;
      const s = cx.slot(x);
      const r = cx.rank(x);
      const m = cx.temp(`${y.name}_scaled`, physicalShape(cx.shape(x), s.perm));
      cx.op('MUL', [s.tensor, channelConst(cx, mul, r, s.perm, `${node.label}_mul`)], [m], { type: 'MulOptions', values: { fused_activation_function: 0 } });
      const i = cx.op('ADD', [m, channelConst(cx, add, r, s.perm, `${node.label}_add`)], [cx.output(y, s.perm)], { type: 'AddOptions', values: { fused_activation_function: 0 } });
      cx.fusable(y, [i]);
    },
  },
  LayerNormalization: {
    emits: ['MEAN', 'SUB', 'MUL', 'ADD', 'RSQRT'],
    check(node, cx) {
      const bad = floatInputCheck(node, cx, 1, 'scale');
      if (bad) return bad;
      if (node.input(2) && !cx.constOf(node.input(2))) return 'bias is not constant';
      if (node.outputs.slice(1).some((o) => o.uses().length)) return 'mean/inv_std_dev outputs';
      return undefined;
    },
    convert(node, cx) {
      const x = node.input(0)!;
      const y = node.outputs[0]!;
      const r = cx.rank(x);
      const a0 = ((node.attrInt('axis', -1) % r) + r) % r;
      const axes = identity(r).slice(a0);
      const s = cx.slot(x);
      const phys = physicalShape(cx.shape(x), s.perm);
      const reduced = phys.map((d, i) => (axes.includes(s.perm[i]!) ? 1 : d));
      const pax = axes.map((a) => physicalAxis(s.perm, a)).sort((p, q) => p - q);
      const t = (n: string, shape = phys) => cx.temp(`${y.name}_${n}`, shape);
      const mean = t('mean', reduced);
      cx.op('MEAN', [s.tensor, cx.i32(pax)], [mean], { type: 'ReducerOptions', values: { keep_dims: true } });
      const d = t('centered');
      cx.op('SUB', [s.tensor, mean], [d], { type: 'SubOptions', values: {} });
      const sq = t('sq');
      cx.op('MUL', [d, d], [sq], { type: 'MulOptions', values: {} });
      const v = t('var', reduced);
      cx.op('MEAN', [sq, cx.i32(pax)], [v], { type: 'ReducerOptions', values: { keep_dims: true } });
      const ve = t('var_eps', reduced);
      cx.op('ADD', [v, cx.f32(Float32Array.of(node.attrFloat('epsilon', 1e-5)), [], `${y.name}_eps`)], [ve], { type: 'AddOptions', values: {} });
      const inv = t('rstd', reduced);
      cx.op('RSQRT', [ve], [inv]);
      const n = t('normed');
      cx.op('MUL', [d, inv], [n], { type: 'MulOptions', values: {} });
      const hasBias = !!node.input(2);
      const g = t('scaled');
      cx.op('MUL', [n, cx.constant(node.input(1)!, s.perm)], [hasBias ? g : cx.output(y, s.perm)], { type: 'MulOptions', values: {} });
      if (hasBias) cx.op('ADD', [g, cx.constant(node.input(2)!, s.perm)], [cx.output(y, s.perm)], { type: 'AddOptions', values: {} });
    },
  },
  Softmax: {
    emits: ['SOFTMAX', 'TRANSPOSE'],
    check(node, cx) {
      const r = cx.shape(node.input(0)!)?.length;
      const st = cx.structure(node);
      if (r === undefined || !st) return 'rank unknown';
      if (cx.opset < 13 && st.axis !== r - 1) return 'opset<13 Softmax over more than the last axis';
      return undefined;
    },
    convert(node, cx) {
      const x = node.input(0)!;
      const axis = cx.structure(node)!.axis!;
      const s = cx.slot(x);
      const perm = s.perm[s.perm.length - 1] === axis ? s.perm : [...s.perm.filter((a) => a !== axis), axis];
      const out = cx.output(node.outputs[0]!, perm);
      cx.op('SOFTMAX', [cx.at(x, perm)], [out], { type: 'SoftmaxOptions', values: { beta: 1 } });
    },
  },
  GlobalAveragePool: globalPool('MEAN'),
  GlobalMaxPool: globalPool('REDUCE_MAX'),
  ReduceMean: reduceOp('MEAN'),
  ReduceMax: reduceOp('REDUCE_MAX'),
  ReduceSum: reduceOp('SUM'),
  MaxPool: pool('MAX_POOL_2D'),
  AveragePool: pool('AVERAGE_POOL_2D'),
  Concat: {
    emits: ['CONCATENATION'],
    convert(node, cx) {
      const y = node.outputs[0]!;
      const axis = cx.structure(node)!.axis!;
      const perm = elementwiseLayout(cx, node, cx.rank(y));
      const ins = node.inputs.filter((v): v is Value => !!v && cx.shape(v)[axis] !== 0).map((v) => cx.at(v, perm));
      const out = cx.output(y, perm);
      cx.op('CONCATENATION', ins, [out], { type: 'ConcatenationOptions', values: { axis: physicalAxis(perm, axis), fused_activation_function: 0 } });
    },
  },
  Split: {
    emits: ['SPLIT', 'SPLIT_V'],
    check: (node, cx) => (cx.structure(node)?.split?.every((n) => Number.isInteger(n)) ? undefined : 'split sizes unknown'),
    convert(node, cx) {
      const x = node.input(0)!;
      const st = cx.structure(node)!;
      const s = cx.slot(x);
      const outs = node.outputs.map((o) => cx.output(o, s.perm));
      const axis = physicalAxis(s.perm, st.axis!);
      const sizes = st.split!;
      if (sizes.every((n) => n === sizes[0])) cx.op('SPLIT', [cx.i32Scalar(axis), s.tensor], outs, { type: 'SplitOptions', values: { num_splits: sizes.length } });
      else cx.op('SPLIT_V', [s.tensor, cx.i32(sizes), cx.i32Scalar(axis)], outs, { type: 'SplitVOptions', values: { num_splits: sizes.length } });
    },
  },
  Slice: {
    emits: ['STRIDED_SLICE'],
    check: (node, cx) => (cx.structure(node)?.starts ? undefined : 'starts/ends/axes/steps are not constant'),
    convert(node, cx) {
      const x = node.input(0)!;
      const st = cx.structure(node)!;
      const shape = cx.shape(x);
      const s = cx.slot(x);
      const begin = shape.map(() => 0);
      const end = [...shape];
      const strides = shape.map(() => 1);
      let endMask = 0;
      st.axes!.forEach((a, i) => {
        const r = sliceRange(shape[a]!, st.starts![i]!, st.ends![i]!, st.steps![i]!);
        begin[a] = r.start;
        end[a] = r.start + r.count * r.step;
        strides[a] = r.step;
      });
      const phys = (v: number[]) => s.perm.map((a) => v[a]!);
      s.perm.forEach((a, i) => {
        if (end[a]! < 0) endMask |= 1 << i; // a negative step running to the very start
      });
      const out = cx.output(node.outputs[0]!, s.perm);
      cx.op('STRIDED_SLICE', [s.tensor, cx.i32(phys(begin)), cx.i32(phys(end)), cx.i32(phys(strides))], [out], { type: 'StridedSliceOptions', values: { end_mask: endMask } });
    },
  },
  Transpose: {
    // A re-labelling of the stored axes: no data moves here. A TRANSPOSE is emitted only
    // later, where a consumer needs another layout.
    emits: ['TRANSPOSE'],
    check: (node, cx) => (cx.structure(node)?.perm ? undefined : 'perm unknown'),
    convert(node, cx) {
      const x = node.input(0)!;
      const t = cx.structure(node)!.perm!;
      const s = cx.slot(x);
      const tinv = invert(t);
      cx.define(node.outputs[0]!, cx.at(x, s.perm), s.perm.map((a) => tinv[a]!));
    },
  },
  Reshape: reshapeLike,
  Flatten: reshapeLike,
  Squeeze: reshapeLike,
  Unsqueeze: reshapeLike,
  Pad: {
    emits: ['PAD', 'PADV2', 'MIRROR_PAD'],
    check(node, cx) {
      const mode = node.attrString('mode', 'constant');
      if (mode !== 'constant' && mode !== 'reflect') return `mode=${mode}`;
      const pads = cx.param(node, 'pads');
      if (!pads) return 'pads are not constant';
      if (pads.some((p) => p < 0)) return 'negative pads (cropping)';
      if (node.input(2) && !cx.constOf(node.input(2))) return 'constant_value is not constant';
      if (node.input(3) && !cx.constOf(node.input(3))) return 'axes are not constant';
      return undefined;
    },
    convert(node, cx) {
      const x = node.input(0)!;
      const r = cx.rank(x);
      const pads = cx.param(node, 'pads')!;
      const axesIn = node.input(3) ? cx.constOf(node.input(3))!.toNumbers().map((a) => (a < 0 ? a + r : a)) : identity(r);
      const n = axesIn.length;
      const sem = identity(r).map(() => [0, 0]);
      axesIn.forEach((a, i) => (sem[a] = [pads[i]!, pads[i + n]!]));
      const value = node.input(2) ? Number(cx.constOf(node.input(2))!.values[0] ?? 0) : node.attrFloat('value', 0);
      const s = cx.slot(x);
      const phys = physicalShape(cx.shape(x), s.perm);
      const res = padPhysical(cx, s.tensor, phys, s.perm.map((a) => sem[a]!), value, node.label, node.attrString('mode', 'constant') === 'reflect' ? 'reflect' : undefined);
      cx.define(node.outputs[0]!, res.tensor, s.perm);
      cx.g.rename(res.tensor, node.outputs[0]!.name);
    },
  },
  Resize: {
    emits: ['RESIZE_BILINEAR', 'RESIZE_NEAREST_NEIGHBOR'],
    check(node, cx) {
      const m = resizeMode(node);
      if (typeof m === 'string') return m;
      const x = cx.shape(node.input(0)!);
      const y = cx.shape(node.outputs[0]!);
      if (!x || !y || x.length !== 4) return 'only 4-D (NCHW) inputs';
      if (x[0] !== y[0] || x[1] !== y[1]) return 'resizes batch or channels';
      return undefined;
    },
    convert(node, cx) {
      const m = resizeMode(node) as Exclude<ReturnType<typeof resizeMode>, string>;
      const y = node.outputs[0]!;
      const [, , h, w] = cx.shape(y);
      const xin = cx.at(node.input(0)!, NHWC);
      const out = cx.output(y, NHWC);
      cx.op(m.op, [xin, cx.i32([h!, w!], `${y.name}_size`)], [out], {
        type: m.op === 'RESIZE_BILINEAR' ? 'ResizeBilinearOptions' : 'ResizeNearestNeighborOptions',
        values: { align_corners: m.align, half_pixel_centers: m.half },
      });
    },
  },
  Gather: {
    emits: ['GATHER'],
    check(node, cx) {
      const idx = cx.constOf(node.input(1));
      if (!idx) return 'indices are not constant';
      if (idx.dims.length > 1) return 'indices of rank > 1';
      return undefined;
    },
    convert(node, cx) {
      const x = node.input(0)!;
      const axis = cx.structure(node)!.axis!;
      const idx = cx.constOf(node.input(1))!;
      const s = cx.slot(x);
      const values = idx.toNumbers().map((i) => (i < 0 ? i + cx.shape(x)[axis]! : i));
      const indices = idx.dims.length === 0 ? cx.i32Scalar(values[0]!, `${node.label}_index`) : cx.i32(values, `${node.label}_indices`);
      const perm = idx.dims.length === 0 ? s.perm.filter((a) => a !== axis).map((a) => (a > axis ? a - 1 : a)) : s.perm;
      const out = cx.output(node.outputs[0]!, perm);
      cx.op('GATHER', [s.tensor, indices], [out], { type: 'GatherOptions', values: { axis: physicalAxis(s.perm, axis) } });
    },
  },
  Cast: {
    emits: ['CAST'],
    convert(node, cx) {
      const x = node.input(0)!;
      const y = node.outputs[0]!;
      const s = cx.slot(x);
      if (tflType(cx.dtype(x), x.name) === tflType(cx.dtype(y), y.name)) {
        cx.slots.set(y, s);
        return;
      }
      cx.op('CAST', [s.tensor], [cx.output(y, s.perm)]);
    },
  },
  Identity: alias,
  Dropout: alias,
  // Constants are read where they are used (constOf), laid out as each consumer needs.
  Constant: { emits: [], convert() {} },
};
