// Channel spaces and the element union-find behind the dependency graph.
import type { Value } from '../ir/value.js';

/** Union-find over channel elements, growable. */
export class UnionFind {
  #parent = new Int32Array(1024);
  #n = 0;

  get size(): number {
    return this.#n;
  }

  /** `count` fresh elements; returns the first id. */
  fresh(count: number): number {
    const first = this.#n;
    const need = first + count;
    if (need > this.#parent.length) {
      let cap = this.#parent.length;
      while (cap < need) cap *= 2;
      const p = new Int32Array(cap);
      p.set(this.#parent.subarray(0, first));
      this.#parent = p;
    }
    for (let i = first; i < need; i++) this.#parent[i] = i;
    this.#n = need;
    return first;
  }

  find(x: number): number {
    const p = this.#parent;
    let r = x;
    while (p[r] !== r) r = p[r]!;
    while (p[x] !== r) {
      const next = p[x]!;
      p[x] = r;
      x = next;
    }
    return r;
  }

  union(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    // The smaller id stays root, so roots follow graph order.
    if (ra < rb) this.#parent[rb] = ra;
    else this.#parent[ra] = rb;
  }
}

/**
 * The channel-carrying axes of one value. `elem[i]` is the element (a node of
 * the union-find) at index i of the row-major walk over `axes`; indices that
 * share an element are the same channel (a flattened channel spans H×W
 * features). Multi-axis spaces come from reshapes that split the channel axis
 * (channel shuffle); they are pruned along `prunable` only, so the kept
 * indices stay a product and the reshape stays valid.
 */
export class Space {
  constructor(
    readonly id: number,
    readonly value: Value,
    /** Ascending axes of the value. */
    readonly axes: number[],
    readonly dims: number[],
    readonly elem: Int32Array,
    /** Position in `axes` of the axis pruning acts on. */
    readonly prunable: number,
    /** Fresh channels written by a layer (a group's producers). */
    readonly source: boolean,
  ) {}

  get size(): number {
    return this.elem.length;
  }

  get single(): boolean {
    return this.axes.length === 1;
  }
}

export function sameAxes(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

export function product(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

export function stridesOf(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= dims[i]!;
  }
  return s;
}

/**
 * Drop the axes along which `elem` never varies (an unflattened channel is
 * constant over H and W). Returns the kept positions and the reduced array.
 */
export function minimizeAxes(dims: readonly number[], elem: Int32Array): { keep: number[]; elem: Int32Array } {
  const strides = stridesOf(dims);
  const keep: number[] = [];
  for (let k = 0; k < dims.length; k++) {
    const d = dims[k]!;
    if (d === 1) continue;
    const st = strides[k]!;
    let varies = false;
    for (let i = 0; i < elem.length && !varies; i++) {
      const pos = Math.floor(i / st) % d;
      if (pos > 0 && elem[i] !== elem[i - pos * st]) varies = true;
    }
    if (varies) keep.push(k);
  }
  if (keep.length === dims.length) return { keep, elem };
  const kd = keep.map((k) => dims[k]!);
  const out = new Int32Array(product(kd));
  const ks = stridesOf(kd);
  for (let j = 0; j < out.length; j++) {
    let i = 0;
    keep.forEach((k, q) => (i += (Math.floor(j / ks[q]!) % kd[q]!) * strides[k]!));
    out[j] = elem[i]!;
  }
  return { keep, elem: out };
}

/** Permute a row-major array over `dims` into the order `order` (new axis q = old axis order[q]). */
export function permuteElems(dims: readonly number[], elem: Int32Array, order: readonly number[]): Int32Array {
  if (order.every((o, i) => o === i)) return elem;
  const st = stridesOf(dims);
  const nd = order.map((o) => dims[o]!);
  const ns = stridesOf(nd);
  const out = new Int32Array(elem.length);
  for (let j = 0; j < out.length; j++) {
    let i = 0;
    for (let q = 0; q < nd.length; q++) i += (Math.floor(j / ns[q]!) % nd[q]!) * st[order[q]!]!;
    out[j] = elem[i]!;
  }
  return out;
}
