// The k smallest |w| across weight arrays, selected on the weights' own float
// bits (|w|'s bits are w's with the sign cleared, and order like the values),
// so no score array is ever built. Results are bitsets, n/8 bytes per array.
// Ties follow select.ts's rule: below the threshold, then the first equal
// ones in array order, then index order.

import { bitIndices, ShearsError } from '@shears/core';
import { doubled, quickselect } from './select.js';

/** Per array: the pruned set as a bitset (bit i of word i >> 5), and how many bits are set. */
export interface MagnitudeMasks {
  words: Int32Array[];
  counts: number[];
}

const ABS = 0x7fffffff;
const INF = 0x7f800000; // |w| bits above this are NaN

/** Below this many weights the exact two-pass select is as fast: no sampling. */
const MIN_BRACKETED = 1 << 16;
/** Weights sampled to bracket the threshold. */
const SAMPLES = 1 << 18;

/**
 * The k lowest |w| across weight arrays: one pass over the weights when a
 * sample brackets the threshold (the usual case), else two
 * (magnitudeMasksExact). Same sets either way.
 */
export function magnitudeMasks(weights: readonly Float32Array[], k: number, who = 'l1'): MagnitudeMasks {
  return magnitudeMasksBracketed(weights, k, who) ?? magnitudeMasksExact(weights, k, who);
}

/**
 * One pass: a strided sample of |w| gives bounds [lo, hi] that hold the k-th
 * smallest |w| with overwhelming probability (±6 standard deviations of the
 * sample rank); the pass sets every weight below lo and keeps those inside
 * the bounds (about 1% of them) as candidates; a select over the candidates
 * then fixes the exact threshold. Returns undefined when the bounds missed
 * (the caller falls back to the exact two passes), or for small inputs.
 */
export function magnitudeMasksBracketed(weights: readonly Float32Array[], k: number, who = 'l1'): MagnitudeMasks | undefined {
  let total = 0;
  for (const w of weights) total += w.length;
  if (total < MIN_BRACKETED || k <= 0 || k >= total) return undefined;
  const views = weights.map(int32View);
  const { lo, hi } = bracket(views, total, k);
  const words = bitsets(views);
  const counts: number[] = [];
  const candStart: number[] = [];
  let below = 0;
  const cand: Candidates = { pos: new Uint32Array(1 << 16), key: new Int32Array(1 << 16), n: 0 };
  for (let s = 0; s < views.length; s++) {
    candStart.push(cand.n);
    const count = markBelow(views[s]!, words[s]!, lo, hi, cand);
    if (count < 0) throw new ShearsError('E_PLUGIN', `${who}: weight array ${s} has NaN values`);
    counts.push(count);
    below += count;
  }
  const c = cand.n;
  const candPos = cand.pos;
  const candKey = cand.key;
  candStart.push(c);
  const need = k - below; // to take from the candidates, in order
  if (need <= 0 || need > c) return undefined; // the sample's bounds missed
  // The need-th smallest candidate key; abs bits order like non-negative floats.
  const keys = new Float32Array(candKey.buffer.slice(0, 4 * c));
  const t = new Int32Array(Float32Array.of(quickselect(keys, need - 1)).buffer)[0]!;
  let less = 0;
  for (let q = 0; q < c; q++) less += ((candKey[q]! < t) as unknown as number) | 0;
  let ties = need - less;
  for (let s = 0; s < views.length; s++) {
    const w = words[s]!;
    for (let q = candStart[s]!; q < candStart[s + 1]!; q++) {
      const key = candKey[q]!;
      if (key < t || (key === t && ties-- > 0)) {
        const i = candPos[q]!;
        w[i >>> 5]! |= 1 << (i & 31);
        counts[s]!++;
      }
    }
  }
  return { words, counts };
}

/**
 * Bounds on the k-th smallest |w| bits from a strided sample (an odd stride
 * that is no multiple of 3, so it does not beat with channel counts and 3×3
 * kernels). lo = 0 / hi = +∞ when the margin reaches the sample's ends.
 */
function bracket(views: readonly Int32Array[], total: number, k: number): { lo: number; hi: number } {
  let stride = Math.max(1, Math.floor(total / SAMPLES)) | 1;
  while (stride % 3 === 0) stride += 2;
  const sample = new Float32Array(Math.ceil(total / stride));
  const bits = new Int32Array(sample.buffer);
  let m = 0;
  let offset = 0; // of the next sampled weight in the current array
  for (const u of views) {
    for (; offset < u.length; offset += stride) bits[m++] = u[offset]! & ABS;
    offset -= u.length;
  }
  const q = k / total;
  const margin = 6 * Math.sqrt(m * q * (1 - q)) + 8;
  const rLo = Math.floor(q * m - margin);
  const rHi = Math.ceil(q * m + margin);
  const s = sample.subarray(0, m);
  const key = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0]!;
  let lo = 0;
  let rest = s;
  let rank = rHi;
  if (rLo > 0) {
    lo = key(quickselect(s, rLo));
    // quickselect leaves everything above rank rLo after it: select hi there.
    rest = s.subarray(rLo + 1);
    rank = rHi - rLo - 1;
  }
  const hi = rHi >= m - 1 ? INF : key(quickselect(rest, rank));
  return { lo, hi };
}

/**
 * One zeroed bitset per array, as views of one allocation: small typed
 * arrays would live on V8's heap with another map than big ones, and the
 * loops writing them would deoptimize on the mix.
 */
function bitsets(views: readonly Int32Array[]): Int32Array[] {
  let n = 0;
  for (const u of views) n += (u.length + 31) >>> 5;
  const all = new Int32Array(Math.max(n, 64));
  let at = 0;
  return views.map((u) => {
    const w = all.subarray(at, at + ((u.length + 31) >>> 5));
    at += w.length;
    return w;
  });
}

interface Candidates {
  pos: Uint32Array;
  key: Int32Array;
  n: number;
}

/**
 * One array's pass: sets the bits of |w| < lo in `w` and appends the
 * weights with lo ≤ |w| ≤ hi to `cand`. Returns how many bits it set, or −1
 * on a NaN. (A small function of its own: V8 optimizes it whole.)
 */
function markBelow(u: Int32Array, w: Int32Array, lo: number, hi: number, cand: Candidates): number {
  const n = u.length;
  let pos = cand.pos;
  let key = cand.key;
  let c = cand.n;
  let count = 0;
  let nan = 0;
  for (let j = 0; j < w.length; j++) {
    const base = j << 5;
    const end = base + 32 <= n ? 32 : n - base;
    if (c + 32 > pos.length) {
      // Room for a whole word of candidates, checked once per word.
      pos = cand.pos = doubled(pos);
      key = cand.key = doubled(key);
    }
    let acc = 0;
    for (let b = 0; b < end; b++) {
      const m = u[base + b]! & ABS;
      if (((m - lo) | (hi - m)) >= 0) {
        // lo ≤ m ≤ hi, as one test: rare (about 1%), so well predicted.
        pos[c] = base + b;
        key[c++] = m;
      }
      acc |= ((m - lo) >>> 31) << b; // m < lo (both non-negative)
      nan |= INF - m; // negative once m > INF
    }
    w[j] = acc;
    count += popcount(acc);
  }
  cand.n = c;
  return nan < 0 ? -1 : count;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) | 0;
}

const int32View = (w: Float32Array) => new Int32Array(w.buffer, w.byteOffset, w.length);

/**
 * The k lowest |w| across weight arrays as bitsets (bit i of word i >> 5 set
 * = prune weight i), in two passes over the weights' bits: pass 1 histograms
 * the high 15 bits of every magnitude, which fixes the bucket holding the
 * k-th one; pass 2 writes every array's bitset, setting the magnitudes below
 * that bucket and keeping those inside it (few: one bucket of 32768) as
 * candidates; the candidates' low bits then fix the exact threshold, and the
 * candidates below it, and the first ties at it in array and index order, are
 * set. n/8 bytes per array, no scores. magnitudeMasks tries the one-pass
 * bracketed select first and falls back to this.
 */
export function magnitudeMasksExact(weights: readonly Float32Array[], k: number, who = 'l1'): MagnitudeMasks {
  const views = weights.map(int32View);
  const words = bitsets(views);
  if (k <= 0) return { words, counts: views.map(() => 0) };
  const hist = new Uint32Array(32768);
  let total = 0;
  // NaNs (and ±∞) land in the top buckets (0x7f80…): an array that adds to them is checked element-wise.
  const top = () => {
    let t = 0;
    for (let h = 0x7f80; h < 32768; h++) t += hist[h]!;
    return t;
  };
  let seen = 0;
  for (const [s, u] of views.entries()) {
    for (let i = 0; i < u.length; i++) hist[(u[i]! & 0x7fffffff) >>> 16]++;
    const t = top();
    if (t !== seen) {
      seen = t;
      for (let i = 0; i < u.length; i++) if ((u[i]! & 0x7fffffff) > 0x7f800000) throw new ShearsError('E_PLUGIN', `${who}: weight array ${s} has NaN values`);
    }
    total += u.length;
  }
  if (k > total) throw new RangeError(`${who}: cannot prune ${k} of ${total}`);
  let hi = 0;
  let below = 0;
  while (below + hist[hi]! < k) below += hist[hi++]!;
  const need = k - below; // to take from bucket `hi` (1 … hist[hi])
  const low = new Uint32Array(65536);
  const counts: number[] = [];
  const candStart: number[] = [];
  let candPos = new Uint32Array(4096);
  let candLow = new Uint16Array(4096);
  let c = 0;
  for (const [s, u] of views.entries()) {
    const w = words[s]!;
    const n = u.length;
    candStart.push(c);
    let count = 0;
    for (let i = 0, j = 0; j < w.length; j++) {
      const end = i + 32 < n ? i + 32 : n;
      let acc = 0;
      for (let b = 0; i < end; i++, b++) {
        const m = u[i]! & 0x7fffffff;
        const h = m >>> 16;
        if (h === hi) {
          // Rare (one bucket of 32768): a predictable branch.
          if (c === candPos.length) {
            candPos = doubled(candPos);
            candLow = doubled(candLow);
          }
          candPos[c] = i;
          candLow[c++] = m & 0xffff;
          low[m & 0xffff]++;
        }
        const take = ((h < hi) as unknown as number) | 0;
        acc |= take << b;
        count += take;
      }
      w[j] = acc;
    }
    counts.push(count);
  }
  candStart.push(c);
  let lo = 0;
  let taken = 0;
  while (taken + low[lo]! < need) taken += low[lo++]!;
  let ties = need - taken; // candidates with low bits == lo to take, in order
  for (let s = 0; s < views.length; s++) {
    const w = words[s]!;
    for (let q = candStart[s]!; q < candStart[s + 1]!; q++) {
      const l = candLow[q]!;
      if (l < lo || (l === lo && ties > 0)) {
        if (l === lo) ties--;
        const i = candPos[q]!;
        w[i >>> 5]! |= 1 << (i & 31);
        counts[s]!++;
      }
    }
  }
  return { words, counts };
}

/** The set bits of a bitset as ascending flat indices: core's `bitIndices`. */
export const indicesOfBits = bitIndices;

/** The k lowest |w| across weight arrays (magnitudeMasks): per array, the flat indices to prune, ascending. */
export function pruneLowestMagnitude(weights: readonly Float32Array[], k: number, who = 'l1'): Uint32Array[] {
  const { words, counts } = magnitudeMasks(weights, k, who);
  return words.map((w, s) => indicesOfBits(w, counts[s]!));
}
