// N:M semi-structured sparsity: in every group of M consecutive elements along
// one axis (the weight's input-channel / reduction axis), keep N.

export interface NMPattern {
  n: number;
  m: number;
}

/** Parse "N:M" (0 < N < M). Returns undefined for anything else. */
export function parsePattern(s: string): NMPattern | undefined {
  const r = /^\s*(\d+)\s*:\s*(\d+)\s*$/.exec(s);
  if (!r) return undefined;
  const n = Number(r[1]);
  const m = Number(r[2]);
  return n >= 1 && n < m ? { n, m } : undefined;
}

/** Strides of a row-major tensor for `axis`: [outer count, axis length, inner stride]. */
export function axisSplit(dims: readonly number[], axis: number): { outer: number; len: number; inner: number } {
  let outer = 1;
  let inner = 1;
  for (let i = 0; i < axis; i++) outer *= dims[i]!;
  for (let i = axis + 1; i < dims.length; i++) inner *= dims[i]!;
  return { outer, len: dims[axis]!, inner };
}

/**
 * Visit every N:M group: `fn(base, stride)` where the group's elements are
 * base + j·stride for j in [0, m). Requires dims[axis] % m === 0.
 */
export function forEachGroup(dims: readonly number[], axis: number, m: number, fn: (base: number, stride: number) => void): void {
  const { outer, len, inner } = axisSplit(dims, axis);
  for (let o = 0; o < outer; o++) {
    for (let g = 0; g < len; g += m) {
      const start = (o * len + g) * inner;
      for (let i = 0; i < inner; i++) fn(start + i, inner);
    }
  }
}

/**
 * Prune m−n of every group of m consecutive elements along `axis`: the lowest
 * scores, ties to the lower index. Returns flat indices, ascending.
 */
export function pruneNM(scores: Float32Array, dims: readonly number[], axis: number, p: NMPattern): Uint32Array {
  const { n, m } = p;
  const drop = m - n;
  const mask = new Uint8Array(scores.length);
  const idx = new Int32Array(m);
  forEachGroup(dims, axis, m, (base, stride) => {
    for (let j = 0; j < m; j++) idx[j] = base + j * stride;
    // Partial selection sort: the `drop` lowest to the front (stable on ties).
    for (let a = 0; a < drop; a++) {
      let best = a;
      for (let b = a + 1; b < m; b++) {
        const sb = scores[idx[b]!]!;
        const sbest = scores[idx[best]!]!;
        if (sb < sbest || (sb === sbest && idx[b]! < idx[best]!)) best = b;
      }
      const tmp = idx[a]!;
      idx[a] = idx[best]!;
      idx[best] = tmp;
      mask[idx[a]!] = 1;
    }
  });
  const out = new Uint32Array((scores.length / m) * drop);
  let k = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[k++] = i;
  return out;
}

/** Largest count of non-zeros in any group (for checks): at most n when the pattern holds. */
export function maxNonzerosPerGroup(data: ArrayLike<number>, dims: readonly number[], axis: number, m: number): number {
  let worst = 0;
  forEachGroup(dims, axis, m, (base, stride) => {
    let nz = 0;
    for (let j = 0; j < m; j++) if (data[base + j * stride] !== 0) nz++;
    if (nz > worst) worst = nz;
  });
  return worst;
}
