/**
 * Layouts. Every converted tensor keeps its ONNX (semantic) shape and a
 * permutation `perm` saying how it is stored: physical axis i holds semantic
 * axis perm[i]. NCHW activations stored as NHWC have perm [0, 2, 3, 1].
 * Transposes, reshapes and flattens then become layout bookkeeping where the
 * data order allows, and a TRANSPOSE op only where the layout truly changes
 * the meaning of the bytes.
 */

export const identity = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);

/** NCHW-style semantic layout stored channels-last: [0, 2, 3, …, 1]. */
export function channelsLast(rank: number): number[] {
  if (rank < 3) return identity(rank);
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

export function invert(perm: readonly number[]): number[] {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
}

export function isIdentity(perm: readonly number[]): boolean {
  return perm.every((p, i) => p === i);
}

export function samePerm(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Physical shape of a semantic shape stored with `perm`. */
export function physicalShape(shape: readonly number[], perm: readonly number[]): number[] {
  return perm.map((a) => shape[a]!);
}

/** Physical axis that holds semantic axis `axis`. */
export function physicalAxis(perm: readonly number[], axis: number): number {
  return perm.indexOf(axis);
}

/** TRANSPOSE permutation that turns data stored with `from` into data stored with `to`. */
export function transposeBetween(from: readonly number[], to: readonly number[]): number[] {
  const inv = invert(from);
  return to.map((a) => inv[a]!);
}

/** Whether moving from `from` to `to` only moves size-1 axes (a RESHAPE suffices). */
export function onlyUnitAxesMove(shape: readonly number[], from: readonly number[], to: readonly number[]): boolean {
  const big = (p: readonly number[]) => p.filter((a) => shape[a] !== 1);
  return samePerm(big(from), big(to));
}

/** Transpose a dense row-major array stored with physical shape `dims` by TRANSPOSE permutation `t`. */
export function transposeData<T extends { length: number; [i: number]: number }>(src: T, dims: readonly number[], t: readonly number[], out: T): T {
  const rank = dims.length;
  if (rank === 0 || isIdentity(t)) {
    for (let i = 0; i < src.length; i++) out[i] = src[i]!;
    return out;
  }
  const inStrides = new Array<number>(rank);
  let s = 1;
  for (let a = rank - 1; a >= 0; a--) {
    inStrides[a] = s;
    s *= dims[a]!;
  }
  if (rank <= 4) {
    // Nested loops over (up to) four output axes: the weight case, and fast.
    const pad = 4 - rank;
    const od = [...new Array<number>(pad).fill(1), ...t.map((a) => dims[a]!)];
    const st = [...new Array<number>(pad).fill(0), ...t.map((a) => inStrides[a]!)];
    const [d0, d1, d2, d3] = od as [number, number, number, number];
    const [s0, s1, s2, s3] = st as [number, number, number, number];
    let o = 0;
    for (let i0 = 0; i0 < d0; i0++)
      for (let i1 = 0; i1 < d1; i1++)
        for (let i2 = 0; i2 < d2; i2++) {
          let src0 = i0 * s0 + i1 * s1 + i2 * s2;
          for (let i3 = 0; i3 < d3; i3++, src0 += s3) out[o++] = src[src0]!;
        }
    return out;
  }
  const outDims = t.map((a) => dims[a]!);
  const step = t.map((a) => inStrides[a]!);
  const counter = new Array<number>(rank).fill(0);
  const n = src.length;
  let srcIdx = 0;
  for (let i = 0; i < n; i++) {
    out[i] = src[srcIdx]!;
    for (let a = rank - 1; a >= 0; a--) {
      srcIdx += step[a]!;
      if (++counter[a]! < outDims[a]!) break;
      srcIdx -= step[a]! * outDims[a]!;
      counter[a] = 0;
    }
  }
  return out;
}

/** Float data produced on demand, straight into its final place (the file buffer). */
export interface LazyFloats {
  readonly length: number;
  fill(out: Float32Array): void;
}

export function lazyTranspose(src: Float32Array, dims: readonly number[], t: readonly number[]): LazyFloats {
  return { length: src.length, fill: (out) => (isIdentity(t) ? out.set(src) : transposeData(src, dims, t, out)) };
}

export function materialize(x: Float32Array | LazyFloats): Float32Array {
  if (x instanceof Float32Array) return x;
  const out = new Float32Array(x.length);
  x.fill(out);
  return out;
}

interface Group {
  ins: number[];
  outs: number[];
}

/**
 * Split a reshape into groups of consecutive axes whose products match
 * (size-1 axes belong to none). undefined if the sizes do not factor.
 */
function factor(inShape: readonly number[], outShape: readonly number[]): Group[] | undefined {
  const ins = inShape.map((_, i) => i).filter((i) => inShape[i] !== 1);
  const outs = outShape.map((_, i) => i).filter((i) => outShape[i] !== 1);
  const groups: Group[] = [];
  let i = 0;
  let j = 0;
  while (i < ins.length || j < outs.length) {
    if (i >= ins.length || j >= outs.length) return undefined;
    const g: Group = { ins: [ins[i]!], outs: [outs[j]!] };
    let pi = inShape[ins[i++]!]!;
    let po = outShape[outs[j++]!]!;
    while (pi !== po) {
      if (pi < po) {
        if (i >= ins.length) return undefined;
        g.ins.push(ins[i]!);
        pi *= inShape[ins[i++]!]!;
      } else {
        if (j >= outs.length) return undefined;
        g.outs.push(outs[j]!);
        po *= outShape[outs[j++]!]!;
      }
    }
    groups.push(g);
  }
  return groups;
}

export type ReshapePlan =
  /** The reshape is a RESHAPE of the stored data to `physical`, giving layout `perm`. */
  | { kind: 'direct'; perm: number[]; physical: number[] }
  /** First re-lay the input as `inputPerm` (a TRANSPOSE), then reshape directly. */
  | { kind: 'relayout'; inputPerm: number[]; perm: number[]; physical: number[] };

/**
 * Plan a reshape of a tensor with semantic shape `inShape` stored with
 * `perm` to semantic shape `outShape`. Direct when every group of merged or
 * split axes is stored contiguously and in order; otherwise the smallest
 * re-layout that makes it so (groups keep their stored order).
 */
export function planReshape(inShape: readonly number[], perm: readonly number[], outShape: readonly number[]): ReshapePlan {
  const groups = factor(inShape, outShape);
  if (!groups) throw new Error(`cannot reshape [${inShape.join(',')}] to [${outShape.join(',')}]`);
  const stored = perm.filter((a) => inShape[a] !== 1);
  const groupOf = new Map<number, number>();
  groups.forEach((g, k) => g.ins.forEach((a) => groupOf.set(a, k)));
  // Stored order of groups, and whether each group is contiguous and ascending.
  const order: number[] = [];
  let ok = true;
  for (let p = 0; p < stored.length; ) {
    const k = groupOf.get(stored[p]!)!;
    order.push(k);
    const g = groups[k]!;
    for (let q = 0; q < g.ins.length; q++) if (stored[p + q] !== g.ins[q]) ok = false;
    p += ok ? g.ins.length : 1;
    if (!ok) break;
  }
  if (ok) {
    const perm2 = withUnitAxes(order.flatMap((k) => groups[k]!.outs), outShape);
    return { kind: 'direct', perm: perm2, physical: physicalShape(outShape, perm2) };
  }
  // Re-lay: groups in order of first stored appearance, each ascending inside.
  const seen = new Set<number>();
  const firstOrder: number[] = [];
  for (const a of stored) {
    const k = groupOf.get(a)!;
    if (!seen.has(k)) {
      seen.add(k);
      firstOrder.push(k);
    }
  }
  const inputPerm = withUnitAxes(firstOrder.flatMap((k) => groups[k]!.ins), inShape, perm);
  const perm2 = withUnitAxes(firstOrder.flatMap((k) => groups[k]!.outs), outShape);
  return { kind: 'relayout', inputPerm, perm: perm2, physical: physicalShape(outShape, perm2) };
}

/**
 * Complete an ordering of the non-unit axes with the size-1 axes: each goes
 * right after its semantic predecessor (or first), keeping layouts close to
 * identity. With `like`, unit axes keep their position relative to it instead.
 */
function withUnitAxes(bigOrder: number[], shape: readonly number[], like?: readonly number[]): number[] {
  const units = shape.map((_, i) => i).filter((i) => shape[i] === 1);
  const out = [...bigOrder];
  if (like) {
    // Keep unit axes where they were in `like` (their place does not matter for the data).
    const result: number[] = [];
    let k = 0;
    for (const a of like) result.push(shape[a] === 1 ? a : out[k++]!);
    return result;
  }
  for (const u of units) {
    const at = u === 0 ? -1 : out.indexOf(u - 1);
    out.splice(at + 1, 0, u);
  }
  return out;
}

/**
 * For a direct-or-not flatten of stored data into a 2-D [rows, K] tensor:
 * feature k of the stored (physical) order holds semantic feature order[k].
 * Used to fold a Flatten's layout into the next fully connected layer's
 * weights instead of transposing activations.
 */
export function flattenFeatureOrder(inShape: readonly number[], perm: readonly number[], axis: number): Int32Array {
  const inner = perm.filter((a) => a >= axis);
  const sizes = inner.map((a) => inShape[a]!);
  const semStrides = new Map<number, number>();
  let s = 1;
  for (let a = inShape.length - 1; a >= axis; a--) {
    semStrides.set(a, s);
    s *= inShape[a]!;
  }
  const k = s;
  const order = new Int32Array(k);
  const counter = new Array<number>(inner.length).fill(0);
  for (let i = 0; i < k; i++) {
    let sem = 0;
    for (let q = 0; q < inner.length; q++) sem += counter[q]! * semStrides.get(inner[q]!)!;
    order[i] = sem;
    for (let q = inner.length - 1; q >= 0; q--) {
      if (++counter[q]! < sizes[q]!) break;
      counter[q] = 0;
    }
  }
  return order;
}
