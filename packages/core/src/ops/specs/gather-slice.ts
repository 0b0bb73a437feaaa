// Concat, Split, Slice, Gather and friends.
import type { Dim } from '../../ir/types.js';
import { addDim, isNum, normAxes, normAxis, ShapeConflict, unifyDim } from '../../shape/dims.js';
import { concatKnown, gatherKnown, sliceKnown, sliceRange, type SliceRange } from '../../shape/kernels.js';
import { numbersOf } from '../../shape/known.js';
import type { Known, OpContext, OpSpec, StructureInfo } from '../types.js';
import { constTensorOf } from '../helpers.js';
import { DEFAULT, intsFrom, t } from './common.js';

/** A small static-shaped input with unknown contents, as all-null elements. */
function unknownContents(ctx: OpContext, i: number): Known | undefined {
  const s = ctx.shape(i);
  const dtype = ctx.dtype(i);
  if (!s || !dtype || !s.every(isNum)) return undefined;
  const n = (s as number[]).reduce((a, b) => a * b, 1);
  return n <= 64 ? { dtype, dims: s as number[], data: new Array<null>(n).fill(null) } : undefined;
}

function concatShape(ctx: OpContext) {
  const shapes: Dim[][] = [];
  let rank: number | undefined;
  for (let i = 0; i < ctx.inputCount; i++) {
    const s = ctx.shape(i);
    if (s) rank = s.length;
  }
  if (rank === undefined) return [t(ctx.dtype(0))];
  const axis = normAxis(ctx.node.attrInt('axis', 0), rank);
  let anyUnknown = false;
  for (let i = 0; i < ctx.inputCount; i++) {
    const s = ctx.shape(i);
    if (!s) anyUnknown = true;
    else if (s.length !== rank) throw new ShapeConflict(`concat inputs have ranks ${rank} and ${s.length}`);
    else shapes.push(s);
  }
  const out: Dim[] = [...shapes[0]!];
  for (let a = 0; a < rank; a++) {
    if (a === axis) out[a] = anyUnknown ? null : shapes.reduce<Dim>((acc, s) => addDim(acc, s[a]!), 0);
    else for (const s of shapes.slice(1)) out[a] = unifyDim(out[a]!, s[a]!);
  }
  return [t(ctx.dtype(0), out)];
}

/** Split sizes: `split` attribute (<13) or input 1 (>=13), else equal parts (num_outputs from 18). */
function splitSizes(ctx: OpContext, dim: Dim): Dim[] {
  const n = ctx.node.outputs.length;
  const given = intsFrom(ctx, 'split', 1, 13);
  if (given) return given;
  if (given === null || !isNum(dim)) return new Array<Dim>(n).fill(null);
  const chunk = Math.ceil(dim / n);
  return Array.from({ length: n }, (_, i) => Math.max(0, Math.min(chunk, dim - i * chunk)));
}

function splitShape(ctx: OpContext) {
  const x = ctx.shape(0);
  if (!x) return ctx.node.outputs.map(() => t(ctx.dtype(0)));
  const axis = normAxis(ctx.node.attrInt('axis', 0), x.length);
  const sizes = splitSizes(ctx, x[axis]!);
  if (sizes.every(isNum) && isNum(x[axis]) && sizes.reduce((a, b) => a + b, 0) !== x[axis])
    throw new ShapeConflict(`split sizes ${sizes.join('+')} do not add up to ${x[axis]}`);
  return ctx.node.outputs.map((_, i) => t(ctx.dtype(0), x.map((d, a) => (a === axis ? (sizes[i] ?? null) : d))));
}

/** Split of a known (small, constant-derived) tensor: each output is a slice of it (tf2onnx splits its pad vectors so). */
function foldSplit(ctx: OpContext): (Known | undefined)[] | undefined {
  const k = ctx.known(0);
  if (!k) return undefined;
  const axis = normAxis(ctx.node.attrInt('axis', 0), k.dims.length);
  const sizes = splitSizes(ctx, k.dims[axis]!);
  if (!sizes.every(isNum)) return undefined;
  let off = 0;
  return sizes.map((n) => {
    const ranges: SliceRange[] = k.dims.map((d, a) => (a === axis ? { start: off, step: 1, count: n } : { start: 0, step: 1, count: d }));
    off += n;
    return sliceKnown(k, ranges);
  });
}

/** Slice parameters: attributes before opset 10, inputs (starts, ends, axes, steps) after. */
function sliceParams(ctx: OpContext, rank: number): { starts: number[]; ends: number[]; axes: number[]; steps: number[] } | null | undefined {
  let starts: number[] | null | undefined;
  let ends: number[] | null | undefined;
  let axes: number[] | null | undefined;
  let steps: number[] | null | undefined;
  if (ctx.opset < 10) {
    starts = ctx.node.attrInts('starts');
    ends = ctx.node.attrInts('ends');
    axes = ctx.node.attrInts('axes');
  } else {
    starts = ctx.ints(1) ?? null;
    ends = ctx.ints(2) ?? null;
    axes = ctx.has(3) ? (ctx.ints(3) ?? null) : undefined;
    steps = ctx.has(4) ? (ctx.ints(4) ?? null) : undefined;
  }
  if (axes === null) return undefined;
  if (!starts || !ends) return null; // known axes, unknown bounds
  axes = normAxes(axes ?? starts.map((_, i) => i), rank);
  if (steps === null) return null;
  return { starts, ends, axes, steps: steps ?? starts.map(() => 1) };
}

function sliceShape(ctx: OpContext) {
  const x = ctx.shape(0);
  if (!x) return [t(ctx.dtype(0))];
  const p = sliceParams(ctx, x.length);
  if (p === undefined) return [t(ctx.dtype(0), x.map(() => null))];
  if (p === null) {
    const axes = ctx.opset >= 10 && ctx.has(3) ? ctx.ints(3) : undefined;
    const hit = axes ? new Set(normAxes(axes, x.length)) : undefined;
    return [t(ctx.dtype(0), x.map((d, i) => (hit && !hit.has(i) ? d : null)))];
  }
  const out = [...x];
  p.axes.forEach((a, i) => {
    const d = x[a]!;
    if (isNum(d)) out[a] = sliceRange(d, p.starts[i]!, p.ends[i]!, p.steps[i]!).count;
    // A symbolic dim survives a full slice [0:INT_MAX:1].
    else out[a] = p.starts[i] === 0 && p.steps[i] === 1 && p.ends[i]! >= 2 ** 31 - 1 ? d : null;
  });
  return [t(ctx.dtype(0), out)];
}

function foldSlice(ctx: OpContext): (Known | undefined)[] | undefined {
  const k = ctx.known(0);
  if (!k) return undefined;
  const p = sliceParams(ctx, k.dims.length);
  if (!p) return undefined;
  const ranges: SliceRange[] = k.dims.map((d) => ({ start: 0, step: 1, count: d }));
  p.axes.forEach((a, i) => (ranges[a] = sliceRange(k.dims[a]!, p.starts[i]!, p.ends[i]!, p.steps[i]!)));
  return [sliceKnown(k, ranges)];
}

function gatherShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const idx = ctx.shape(1);
  if (!x || !idx) return [t(ctx.dtype(0))];
  const axis = normAxis(ctx.node.attrInt('axis', 0), x.length);
  return [t(ctx.dtype(0), [...x.slice(0, axis), ...idx, ...x.slice(axis + 1)])];
}

function gatherNDShape(ctx: OpContext) {
  const x = ctx.shape(0);
  const idx = ctx.shape(1);
  const b = ctx.node.attrInt('batch_dims', 0);
  if (!x || !idx || !isNum(idx[idx.length - 1])) return [t(ctx.dtype(0))];
  const last = idx[idx.length - 1] as number;
  return [t(ctx.dtype(0), [...idx.slice(0, -1), ...x.slice(b + last)])];
}

export const GATHER_SLICE_SPECS: OpSpec[] = [
  {
    ...DEFAULT,
    opType: 'Concat',
    channel: 'concat',
    zeroPreserving: true,
    infer: concatShape,
    fold: (ctx) => {
      // Unknown parts become null elements, so [1, 1, h?, w?] vectors stay partly known.
      const ks: Known[] = [];
      let anyKnown = false;
      for (let i = 0; i < ctx.inputCount; i++) {
        const k = ctx.known(i) ?? unknownContents(ctx, i);
        if (!k) return undefined;
        anyKnown ||= ctx.known(i) !== undefined;
        ks.push(k);
      }
      if (!anyKnown) return undefined;
      return [concatKnown(ks, normAxis(ctx.node.attrInt('axis', 0), ks[0]!.dims.length))];
    },
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      return r === undefined ? undefined : { axis: normAxis(ctx.node.attrInt('axis', 0), r) };
    },
  },
  {
    ...DEFAULT,
    opType: 'Split',
    channel: 'split',
    zeroPreserving: true,
    infer: splitShape,
    fold: foldSplit,
    // Opset 18 allows num_outputs instead of split sizes; writing sizes drops it.
    params: (opset) => (opset < 13 ? { slots: { split: { attr: 'split' } } } : { slots: { split: { input: 1 } }, drop: ['num_outputs'] }),
    structure: (ctx): StructureInfo | undefined => {
      const x = ctx.shape(0);
      if (!x) return undefined;
      const axis = normAxis(ctx.node.attrInt('axis', 0), x.length);
      const split = numbersOf({ dtype: 'int64', dims: [], data: splitSizes(ctx, x[axis]!) });
      return { axis, split };
    },
  },
  {
    ...DEFAULT,
    opType: 'Slice',
    channel: 'slice',
    zeroPreserving: true,
    infer: sliceShape,
    params: (opset) =>
      opset < 10
        ? { slots: { starts: { attr: 'starts' }, ends: { attr: 'ends' }, axes: { attr: 'axes' } } }
        : { slots: { starts: { input: 1 }, ends: { input: 2 }, axes: { input: 3 }, steps: { input: 4 } } },
    fold: foldSlice,
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      const p = r === undefined ? undefined : sliceParams(ctx, r);
      return p ?? undefined;
    },
  },
  {
    ...DEFAULT,
    opType: 'Gather',
    channel: 'gather',
    dataInputs: [0],
    zeroPreserving: true,
    // A constant float table (embeddings): its last axis carries the channels.
    weights: (node) => {
      const c = constTensorOf(node.input(0));
      return c && c.dims.length > 0 && (c.dtype.startsWith('float') || c.dtype === 'bfloat16')
        ? [{ input: 0, role: 'weight', outAxis: c.dims.length - 1 }]
        : [];
    },
    infer: gatherShape,
    fold: (ctx) => {
      const k = ctx.known(0);
      const idx = ctx.known(1);
      if (!k || !idx || !numbersOf(idx)) return undefined;
      return [gatherKnown(k, idx, normAxis(ctx.node.attrInt('axis', 0), k.dims.length))];
    },
    structure: (ctx) => {
      const r = ctx.shape(0)?.length;
      return r === undefined ? undefined : { axis: normAxis(ctx.node.attrInt('axis', 0), r) };
    },
  },
  { ...DEFAULT, since: 11, opType: 'GatherElements', channel: 'opaque', dataInputs: [0], infer: (ctx) => [t(ctx.dtype(0), ctx.shape(1) && [...ctx.shape(1)!])] },
  { ...DEFAULT, since: 11, opType: 'GatherND', channel: 'opaque', dataInputs: [0], infer: gatherNDShape },
  ...['Scatter', 'ScatterElements', 'ScatterND'].map(
    (opType): OpSpec => ({ ...DEFAULT, opType, channel: 'opaque', dataInputs: [0, 2], infer: (ctx) => [t(ctx.dtype(0), ctx.shape(0) && [...ctx.shape(0)!])] }),
  ),
  {
    ...DEFAULT,
    since: 9,
    opType: 'Compress',
    channel: 'opaque',
    infer: (ctx) => {
      const x = ctx.shape(0);
      const a = ctx.node.attrInt('axis');
      if (a === undefined || !x) return [t(ctx.dtype(0), [null])];
      const axis = normAxis(a, x.length);
      return [t(ctx.dtype(0), x.map((d, i) => (i === axis ? null : d)))];
    },
  },
];
