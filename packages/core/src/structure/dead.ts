// Lossless compaction analysis: channels that provably contribute nothing.
import type { Tensor } from '../ir/tensor.js';
import type { EwInput } from './build.js';
import type { ChannelGraph } from './graph.js';
import { stridesOf, type Space } from './space.js';

export interface DeadChannelOptions {
  /** Weights with |w| ≤ tolerance count as zero (default 0: exact zeros only). */
  tolerance?: number;
}

export interface DeadChannels {
  /** Removable channels: group id → channel indices (ascending). */
  selection: Map<string, number[]>;
  /** Channels that are identically zero where they are produced. */
  zeroProduced: number;
  /** Channels every reader of which has zero weights for them. */
  unread: number;
}

/**
 * Channels whose removal cannot change any output: every layer that reads
 * them either receives zeros there (the producing weights and biases are zero
 * and the values pass only through ops with f(0)=0, or a Mul with a zero
 * factor) or has zero weights for them. Pinned channels are never listed.
 */
export function findDeadChannels(graph: ChannelGraph, opts: DeadChannelOptions = {}): DeadChannels {
  const tol = opts.tolerance ?? 0;
  const isZero = (x: number) => Math.abs(x) <= tol;
  const zero = propagateZeros(graph, isZero);
  const { root } = graph;
  const alive = new Uint8Array(root.length);
  const produced = new Uint8Array(root.length);
  // Zero where written: a channel whose every element in a source space is zero.
  for (const s of graph.build.spaces) {
    if (!s.source) continue;
    const z = zero.get(s);
    for (let i = 0; i < s.size; i++) if (!z?.[i]) produced[root[s.elem[i]!]!] = 2;
    for (let i = 0; i < s.size; i++) if (z?.[i] && produced[root[s.elem[i]!]!] !== 2) produced[root[s.elem[i]!]!] = 1;
  }
  graph.build.members.forEach((m) => {
    if (m.role !== 'consumer' || !m.readers) return;
    const colZero = zeroSlices(m.c.tensor, m.axis, isZero);
    const z = zero.get(m.space);
    for (let p = 0; p < m.space.size; p++) {
      const j = m.readers[p]!;
      if (z?.[p] || j < 0 || colZero[j]) continue;
      alive[root[m.space.elem[p]!]!] = 1;
    }
  });
  const selection = new Map<string, number[]>();
  let zeroProduced = 0;
  let unread = 0;
  graph.groups.forEach((g, gi) => {
    const roots = graph.groupRoots[gi]!;
    const dead: number[] = [];
    for (let c = 0; c < roots.length; c++) {
      const r = roots[c]!;
      if (g.pinned[c] || alive[r]) continue;
      dead.push(c);
      if (produced[r] === 1) zeroProduced++;
      else unread++;
    }
    if (dead.length) selection.set(g.id, dead);
  });
  return { selection, zeroProduced, unread };
}

/** For each index along `axis`: whether the whole slice is zero. */
export function zeroSlices(t: Tensor, axis: number, isZero: (x: number) => boolean): Uint8Array {
  const nz = nonzeroPairs(t, axis, axis, isZero);
  return nz.map((x) => (x ? 0 : 1));
}

/**
 * Which (index along axisA, index along axisB) slices hold a non-zero, as a
 * dA×dB row-major array (axisA === axisB gives one flag per index). Walks the
 * tensor in contiguous blocks, without a division per element.
 */
export function nonzeroPairs(t: Tensor, axisA: number, axisB: number, isZero: (x: number) => boolean): Uint8Array {
  const dims = t.dims;
  const w = t.values as Float32Array;
  const lo = Math.min(axisA, axisB);
  const hi = Math.max(axisA, axisB);
  const prod = (a: number, b: number) => dims.slice(a, b).reduce((x, y) => x * y, 1);
  const P = prod(0, lo);
  const dLo = dims[lo]!;
  const M = lo === hi ? 1 : prod(lo + 1, hi);
  const dHi = lo === hi ? 1 : dims[hi]!;
  const Q = prod(hi + 1, dims.length);
  const dA = dims[axisA]!;
  const dB = dims[axisB]!;
  const out = new Uint8Array(axisA === axisB ? dA : dA * dB);
  const exact = isZero(Number.MIN_VALUE) === false && isZero(0);
  const same = axisA === axisB;
  const kStep = same ? 0 : axisA === lo ? 1 : dB;
  let off = 0;
  for (let p = 0; p < P; p++)
    for (let a = 0; a < dLo; a++)
      for (let m = 0; m < M; m++) {
        let k = same ? a : axisA === lo ? a * dB : a;
        for (let b = 0; b < dHi; b++, off += Q, k += kStep) {
          if (out[k]) continue;
          const end = off + Q;
          if (exact) {
            for (let q = off; q < end; q++)
              if (w[q] !== 0) {
                out[k] = 1;
                break;
              }
          } else
            for (let q = off; q < end; q++)
              if (!isZero(w[q]!)) {
                out[k] = 1;
                break;
              }
        }
      }
  return out;
}

/** Per space and index: 1 when the value is zero for every input. */
function propagateZeros(graph: ChannelGraph, isZero: (x: number) => boolean): Map<Space, Uint8Array> {
  const zero = new Map<Space, Uint8Array>();
  const get = (s: Space) => zero.get(s) ?? new Uint8Array(s.size);
  for (const t of graph.build.transfers) {
    const out = new Uint8Array(t.out.size);
    switch (t.kind) {
      case 'compute': {
        const live = new Uint8Array(t.out.size);
        for (const b of t.biases) {
          const bv = b.tensor.values as Float32Array;
          const bd = b.tensor.dims[b.axis]!;
          const bs = stridesOf(b.tensor.dims)[b.axis]!;
          for (let i = 0; i < bv.length; i++) if (!isZero(bv[i]!)) live[bd === 1 ? 0 : Math.floor(i / bs) % bd] = 1;
          if (bd === 1 && live[0]) live.fill(1);
        }
        const inZ = t.in ? get(t.in) : undefined;
        const dOut = t.w.dims[t.outAxis]!;
        const dIn = t.w.dims[t.inAxis]!;
        const nz = nonzeroPairs(t.w, t.outAxis, t.inAxis, isZero);
        for (let jo = 0; jo < dOut; jo++)
          for (let ji = 0; ji < dIn; ji++) {
            if (!nz[jo * dIn + ji] || (t.outFull && live[jo])) continue;
            let o: number;
            let c: number;
            if (t.outFull) {
              o = jo;
              c = t.inFull ? ji : Math.floor(o / t.coutG) * t.cinG + ji;
            } else {
              c = ji;
              o = Math.floor(c / t.cinG) * t.coutG + jo;
            }
            if (!inZ || !inZ[c]) live[o] = 1;
          }
        // A residual sum keeps a channel alive unless it is zero too; an activation with f(0) ≠ 0 keeps them all.
        for (const z of t.sums) {
          const sz = z ? get(z) : undefined;
          for (let o = 0; o < out.length; o++) if (!sz?.[o]) live[o] = 1;
        }
        if (!t.preserving) live.fill(1);
        for (let o = 0; o < out.length; o++) out[o] = live[o] ? 0 : 1;
        break;
      }
      case 'copy': {
        const srcZ = t.src.map(get);
        for (let i = 0; i < out.length; i++) {
          const k = t.which ? t.which[i]! : 0;
          out[i] = k < 0 ? 0 : srcZ[k]![t.at[i]!]!;
        }
        break;
      }
      case 'nonzero':
        break;
      case 'elementwise': {
        const zs = t.ins.map((x) => inputZeros(x, t.out.size, get, isZero));
        for (let i = 0; i < out.length; i++) {
          if (t.absorbing) out[i] = zs.some((z) => z[i]) ? 1 : 0;
          else if (t.preserving) out[i] = zs.every((z) => z[i]) ? 1 : 0;
        }
        break;
      }
    }
    zero.set(t.out, out);
  }
  return zero;
}

function inputZeros(x: EwInput, n: number, get: (s: Space) => Uint8Array, isZero: (v: number) => boolean): Uint8Array {
  if ('space' in x) return get(x.space);
  if ('scalar' in x) return new Uint8Array(n).fill(isZero(x.scalar) ? 1 : 0);
  if ('other' in x) return new Uint8Array(n);
  // A constant over the channels: zero at a channel when its whole slice is.
  return zeroSlices(x.tensor, x.axis, isZero);
}
