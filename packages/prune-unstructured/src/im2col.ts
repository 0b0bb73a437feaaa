// The matrix view of a layer for layer-wise reconstruction: rows of X are the
// inputs one output sees (im2col patches for a window layer), columns follow
// the weight's input side. Column order is (kh, kw, c): c fastest, so that an
// N:M group of consecutive input channels at one kernel position is a run of
// consecutive columns.

import type { Node } from '@shears/core';
import type { WeightLayout } from './layout.js';

export interface WindowGeom {
  /** Input channels (all groups), spatial size (1-D layers have h = 1). */
  c: number;
  h: number;
  w: number;
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  dh: number;
  dw: number;
  /** Pads at the start of each spatial axis. */
  pt: number;
  pl: number;
  oh: number;
  ow: number;
  groups: number;
  /** Channels per group. */
  cg: number;
}

function padsFor(autoPad: string, size: number, k: number, s: number, d: number, explicit: [number, number]): [number, number] {
  if (autoPad === 'VALID') return [0, 0];
  if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const out = Math.ceil(size / s);
    const total = Math.max(0, (out - 1) * s + (k - 1) * d + 1 - size);
    const small = Math.floor(total / 2);
    return autoPad === 'SAME_UPPER' ? [small, total - small] : [total - small, small];
  }
  return explicit;
}

/**
 * Geometry of a window layer (weight [K, C/g, k...] with 1 or 2 spatial axes)
 * from the standard ONNX window attributes, or why it cannot be read.
 */
export function windowGeom(node: Node, layout: WeightLayout, inputDims: readonly (number | string | null)[]): WindowGeom | string {
  const wd = layout.dims;
  const spatial = wd.length - 2;
  if (spatial < 1 || spatial > 2) return `${spatial}-D windows are not supported (only 1-D and 2-D)`;
  if (inputDims.length !== wd.length || !inputDims.slice(1).every((d): d is number => typeof d === 'number')) return 'the input shape is not known';
  const dims = inputDims as number[]; // the batch dim may be symbolic; it is not read
  const strides = node.attrInts('strides') ?? new Array(spatial).fill(1);
  const dil = node.attrInts('dilations') ?? new Array(spatial).fill(1);
  const pads = node.attrInts('pads') ?? new Array(2 * spatial).fill(0);
  const autoPad = node.attrString('auto_pad', 'NOTSET');
  const sizes = dims.slice(2);
  const ks = wd.slice(2);
  const geo = sizes.map((size, i) => {
    const [b, e] = padsFor(autoPad, size, ks[i]!, strides[i]!, dil[i]!, [pads[i]!, pads[i + spatial]!]);
    const out = Math.floor((size + b + e - ((ks[i]! - 1) * dil[i]! + 1)) / strides[i]!) + 1;
    return { size, k: ks[i]!, s: strides[i]!, d: dil[i]!, p: b, out };
  });
  const [a, b] = spatial === 2 ? [geo[0]!, geo[1]!] : [{ size: 1, k: 1, s: 1, d: 1, p: 0, out: 1 }, geo[0]!];
  const groups = layout.groups;
  return { c: dims[1]!, h: a.size, w: b.size, kh: a.k, kw: b.k, sh: a.s, sw: b.s, dh: a.d, dw: b.d, pt: a.p, pl: b.p, oh: a.out, ow: b.out, groups, cg: dims[1]! / groups };
}

/**
 * Write the im2col rows of `positions` (flat oh·ow indices) of one sample and
 * one group into `out` starting at row `row0`: n = kh·kw·cg columns, order
 * (kh, kw, c). Positions outside the input (padding) are zeros.
 */
export function im2colRows(act: Float32Array, sample: number, g: WindowGeom, group: number, positions: ArrayLike<number>, count: number, out: Float32Array, row0: number): void {
  const n = g.kh * g.kw * g.cg;
  const plane = g.h * g.w;
  const base = (sample * g.c + group * g.cg) * plane;
  for (let p = 0; p < count; p++) {
    const pos = positions[p]!;
    const oy = Math.floor(pos / g.ow);
    const ox = pos - oy * g.ow;
    const ro = (row0 + p) * n;
    for (let ky = 0; ky < g.kh; ky++) {
      const iy = oy * g.sh - g.pt + ky * g.dh;
      for (let kx = 0; kx < g.kw; kx++) {
        const ix = ox * g.sw - g.pl + kx * g.dw;
        const co = ro + (ky * g.kw + kx) * g.cg;
        if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
          out.fill(0, co, co + g.cg);
          continue;
        }
        let src = base + iy * g.w + ix;
        for (let c = 0; c < g.cg; c++, src += plane) out[co + c] = act[src]!;
      }
    }
  }
}

/**
 * Offsets that map the matrix view back to the weight: element (row r,
 * column j) of group `group` is weight[rowOffset[r] + colOffset[j]].
 */
export function windowOffsets(layout: WeightLayout, g: WindowGeom, group: number): { rowOffset: Int32Array; colOffset: Int32Array } {
  const kk = g.kh * g.kw;
  const kg = layout.dims[0]! / g.groups;
  const rowOffset = new Int32Array(kg);
  for (let r = 0; r < kg; r++) rowOffset[r] = (group * kg + r) * g.cg * kk;
  const colOffset = new Int32Array(kk * g.cg);
  for (let q = 0; q < kk; q++) for (let c = 0; c < g.cg; c++) colOffset[q * g.cg + c] = c * kk + q;
  return { rowOffset, colOffset };
}

/** Offsets for a 2-D weight with outputs on outAxis and inputs on inAxis. */
export function linearOffsets(layout: WeightLayout): { rowOffset: Int32Array; colOffset: Int32Array } {
  const { dims, inAxis } = layout;
  const outAxis = 1 - inAxis;
  const strides = [dims[1]!, 1];
  const rowOffset = Int32Array.from({ length: dims[outAxis]! }, (_, r) => r * strides[outAxis]!);
  const colOffset = Int32Array.from({ length: dims[inAxis]! }, (_, c) => c * strides[inAxis]!);
  return { rowOffset, colOffset };
}

/** Deterministic positions to sample: `k` of `p` (all when k ≥ p), ascending. */
export function samplePositions(p: number, k: number, seed: number, scratch: Int32Array): Int32Array {
  if (k >= p) {
    for (let i = 0; i < p; i++) scratch[i] = i;
    return scratch.subarray(0, p);
  }
  for (let i = 0; i < p; i++) scratch[i] = i;
  let a = seed >>> 0;
  for (let i = 0; i < k; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const j = i + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * (p - i));
    const tmp = scratch[i]!;
    scratch[i] = scratch[j]!;
    scratch[j] = tmp;
  }
  return scratch.subarray(0, k).sort();
}
