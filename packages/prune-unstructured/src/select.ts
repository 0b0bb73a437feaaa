// Threshold selection in O(n), without sorting and without per-element
// objects. The pruned set for "prune k of these scores" is always: every score
// below the k-th smallest value t, plus the first (k − #below) scores equal to
// t in index order (across segments: segment order, then index). That rule is
// what makes achieved sparsity exact and ties deterministic.

import { ShearsError } from '@shears/core';

/**
 * The k-th smallest value (0-based) of `a`, by quickselect with a three-way
 * partition (so runs of equal scores, e.g. weights already at zero, stay
 * linear). Reorders `a` in place: pass a scratch copy.
 */
export function quickselect(a: Float32Array, k: number): number {
  if (!(k >= 0 && k < a.length)) throw new RangeError(`quickselect: k=${k} outside [0, ${a.length})`);
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    // Median of three as pivot.
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const p = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    // Dutch flag: [lo, lt) < p, [lt, i) == p, (gt, hi] > p.
    let lt = lo;
    let gt = hi;
    let i = lo;
    while (i <= gt) {
      const v = a[i]!;
      if (v < p) {
        a[i] = a[lt]!;
        a[lt] = v;
        lt++;
        i++;
      } else if (v > p) {
        a[i] = a[gt]!;
        a[gt] = v;
        gt--;
      } else i++;
    }
    if (k < lt) hi = lt - 1;
    else if (k > gt) lo = gt + 1;
    else return p;
  }
  return a[lo]!;
}

/** A typed array twice as long, holding `a` first: for candidate lists that rarely grow. */
export function doubled<T extends Uint32Array | Int32Array | Uint16Array>(a: T): T {
  const out = new (a.constructor as new (n: number) => T)(2 * a.length);
  out.set(a);
  return out;
}

/** Order-preserving uint32 key of a float32's bits (−0 is folded onto +0): flip all bits of negatives, the sign bit of the rest. */
function keyOf(bits: number): number {
  return (bits === 0x80000000 ? 0x80000000 : bits ^ ((bits >> 31) | 0x80000000)) >>> 0;
}

/** keyOf on the bits as a signed int32, returning the key's 32 bits as an int32 (V8 keeps it out of doubles). */
function keyI(bits: number): number {
  return bits === -2147483648 ? -2147483648 : bits ^ ((bits >> 31) | -2147483648);
}

function valueOfKey(key: number): number {
  const bits = key & 0x80000000 ? key & 0x7fffffff : ~key >>> 0;
  const u = new Uint32Array([bits]);
  return new Float32Array(u.buffer)[0]!;
}

/**
 * The k-th smallest value (0-based) over several score arrays taken together,
 * by a two-pass radix select on the float bits (16 high bits, then 16 low):
 * O(n), no copy of the scores, no sort. For global thresholds, where one copy
 * of every layer's scores would double the memory.
 */
export function radixSelect(segments: readonly Float32Array[], k: number): number {
  let total = 0;
  for (const s of segments) total += s.length;
  if (!(k >= 0 && k < total)) throw new RangeError(`radixSelect: k=${k} outside [0, ${total})`);
  const hist = new Uint32Array(65536);
  const views = segments.map((s) => new Uint32Array(s.buffer, s.byteOffset, s.length));
  for (const u of views) for (let i = 0; i < u.length; i++) hist[keyOf(u[i]!) >>> 16]++;
  let hi = 0;
  let below = 0;
  while (below + hist[hi]! <= k) below += hist[hi++]!;
  hist.fill(0);
  for (const u of views) {
    for (let i = 0; i < u.length; i++) {
      const key = keyOf(u[i]!);
      if (key >>> 16 === hi) hist[key & 0xffff]++;
    }
  }
  let lo = 0;
  while (below + hist[lo]! <= k) below += hist[lo++]!;
  return valueOfKey(((hi << 16) | lo) >>> 0);
}

/** Scores strictly below t and equal to t; throws on NaN (a criterion bug). Branch-free. */
export function countBelow(s: Float32Array, t: number, who: string): { below: number; equal: number } {
  let below = 0;
  let equal = 0;
  let nan = 0;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    below += ((v < t) as unknown as number) | 0;
    equal += ((v === t) as unknown as number) | 0;
    nan += (Number.isNaN(v) as unknown as number) | 0;
  }
  if (nan) throw new ShearsError('E_PLUGIN', `${who}: score ${s.findIndex((v) => Number.isNaN(v))} is NaN`);
  return { below, equal };
}

/**
 * Flat indices (ascending) of the scores below t, plus the first `ties`
 * scores equal to t. `count` is below + ties, known from countBelow.
 * Branch-free (about half the scores pass: a branch would mispredict).
 */
export function collectPruned(s: Float32Array, t: number, ties: number, count: number): Uint32Array {
  const out = new Uint32Array(count + 1); // one spare slot for the unconditional store
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const v = s[i]!;
    const eq = (v === t) as unknown as number;
    const take = ((v < t) as unknown as number) | (eq & ((ties > 0) as unknown as number));
    out[n] = i;
    n += take;
    ties -= eq & take;
  }
  return out.subarray(0, count);
}

/**
 * The k lowest scores of one array, ties by index: flat indices, ascending.
 * `scratch` (at least scores.length long) saves allocating the copy that
 * quickselect reorders.
 */
export function pruneLowest(scores: Float32Array, k: number, who = 'scores', scratch?: Float32Array): Uint32Array {
  if (k <= 0) {
    countBelow(scores, -Infinity, who); // still reject NaN
    return new Uint32Array(0);
  }
  if (k > scores.length) throw new RangeError(`${who}: cannot prune ${k} of ${scores.length}`);
  let copy: Float32Array;
  if (scratch && scratch.length >= scores.length) {
    copy = scratch.subarray(0, scores.length);
    copy.set(scores);
  } else copy = Float32Array.from(scores);
  const t = quickselect(copy, k - 1);
  const { below } = countBelow(scores, t, who);
  return collectPruned(scores, t, k - below, k);
}

/**
 * The k lowest scores across segments (one threshold, as
 * torch.nn.utils.prune.global_unstructured): per segment, the flat indices to
 * prune. Ties at the threshold go to earlier segments first, then by index.
 */
export function pruneLowestGlobal(segments: readonly Float32Array[], k: number, who = 'scores'): Uint32Array[] {
  if (k <= 0) return segments.map(() => new Uint32Array(0));
  const t = radixSelect(segments, k - 1);
  const counts = segments.map((s, i) => countBelow(s, t, `${who} (segment ${i})`));
  let ties = k - counts.reduce((a, c) => a + c.below, 0);
  return segments.map((s, i) => {
    const take = Math.min(ties, counts[i]!.equal);
    ties -= take;
    return collectPruned(s, t, take, counts[i]!.below + take);
  });
}

/**
 * The k lowest scores across segments that are produced on demand
 * (`segment(i)` may refill one scratch array each time), without ever
 * holding all scores: pass 1 histograms the high 16 bits of every score's
 * key; pass 2 keeps the indices whose high bits are at or below the bucket
 * holding the k-th score, and the low bits of those in that bucket; the
 * bucket's low-bit histogram then fixes the threshold and each segment's
 * list is compacted. Two passes over the scores, two calls of `segment(i)`
 * each, O(n), branch-free inner loops. Ties: earlier segments, then lower
 * indices. Per segment, the flat indices to prune, ascending.
 */
export async function pruneLowestStreaming(count: number, segment: (i: number) => Promise<Float32Array>, k: number, who = 'scores'): Promise<Uint32Array[]> {
  if (k <= 0) return Array.from({ length: count }, () => new Uint32Array(0));
  const hist = new Uint32Array(65536);
  let total = 0;
  for (let s = 0; s < count; s++) {
    const a = await segment(s);
    const u = new Int32Array(a.buffer, a.byteOffset, a.length);
    let nan = 0;
    for (let i = 0; i < u.length; i++) {
      const h = keyI(u[i]!) >>> 16;
      hist[h]++;
      // Keys above +∞'s bucket or below −∞'s are NaNs (quiet and most signalling ones).
      nan += ((h > 0xff80) as unknown as number) | ((h < 0x007f) as unknown as number);
    }
    if (nan) throw new ShearsError('E_PLUGIN', `${who}: segment ${s} has NaN scores`);
    total += a.length;
  }
  if (k > total) throw new RangeError(`${who}: cannot prune ${k} of ${total}`);
  let hi = 0;
  let below = 0;
  while (below + hist[hi]! < k) below += hist[hi++]!;
  const need = k - below; // how many to take from bucket `hi` (1 … hist[hi])
  hist.fill(0);
  const lists: Uint32Array[] = [];
  const candPos: Uint32Array[] = [];
  const candLow: Uint16Array[] = [];
  // One scratch for the kept indices (filled branch-free, then copied out at
  // its exact size); the candidates of bucket `hi` are few, their arrays grow.
  let scratch = new Uint32Array(0);
  let scratchPos = new Uint32Array(1024);
  let scratchLow = new Uint16Array(1024);
  for (let s = 0; s < count; s++) {
    const a = await segment(s);
    const u = new Int32Array(a.buffer, a.byteOffset, a.length);
    if (scratch.length < u.length + 1) scratch = new Uint32Array(u.length + 1);
    let n = 0;
    let c = 0;
    for (let i = 0; i < u.length; i++) {
      const key = keyI(u[i]!);
      const h = key >>> 16;
      if (h === hi) {
        // Rare (one bucket of 65536): a predictable branch.
        if (c === scratchPos.length) {
          scratchPos = doubled(scratchPos);
          scratchLow = doubled(scratchLow);
        }
        scratchPos[c] = n;
        scratchLow[c++] = key & 0xffff;
        hist[key & 0xffff]++;
      }
      scratch[n] = i;
      n += ((h <= hi) as unknown as number) | 0;
    }
    lists.push(scratch.slice(0, n));
    candPos.push(scratchPos.slice(0, c));
    candLow.push(scratchLow.slice(0, c));
  }
  let lo = 0;
  let taken = 0;
  while (taken + hist[lo]! < need) taken += hist[lo++]!;
  let ties = need - taken; // candidates with low bits == lo to take, in order
  return lists.map((list, s) => {
    const pos = candPos[s]!;
    const low = candLow[s]!;
    if (pos.length === 0) return list;
    // Compact in place: drop candidates above the threshold and ties beyond the quota.
    let w = 0;
    let c = 0;
    for (let r = 0; r < list.length; r++) {
      if (c < pos.length && pos[c] === r) {
        const l = low[c++]!;
        if (l > lo || (l === lo && ties-- <= 0)) continue;
      }
      list[w++] = list[r]!;
    }
    return list.subarray(0, w);
  });
}
