// Shared pieces of the criteria: per-slice norms, group aggregation, normalization.
import { float32Source, type ChannelGroup, type GroupMember, type MemberRole, type ScoreTarget, type Tensor } from '@shears/core';
import { z } from 'zod';

export const normalizeSchema = z.enum(['mean', 'max', 'sum', 'none']);
export type Normalize = z.infer<typeof normalizeSchema>;

/**
 * Sum of |w|^p over each slice along `axis` (p = 1 or 2), in contiguous
 * blocks. Reads raw bytes in place when the weights are not decoded yet.
 */
export function sliceSums(t: Tensor, axis: number, p: 1 | 2): Float64Array {
  const src = float32Source(t);
  const dims = t.dims;
  const d = dims[axis]!;
  let inner = 1;
  for (let a = axis + 1; a < dims.length; a++) inner *= dims[a]!;
  const outer = t.size / (d * inner);
  const out = new Float64Array(d);
  if (src instanceof DataView) sumsDV(src, outer, d, inner, p, out);
  else sumsF32(src, outer, d, inner, p, out);
  return out;
}

function sumsF32(w: Float32Array, outer: number, d: number, inner: number, p: 1 | 2, out: Float64Array): void {
  let off = 0;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < d; i++) {
      let acc = 0;
      const end = off + inner;
      if (p === 1) for (let q = off; q < end; q++) acc += Math.abs(w[q]!);
      else
        for (let q = off; q < end; q++) {
          const x = w[q]!;
          acc += x * x;
        }
      out[i] += acc;
      off = end;
    }
}

function sumsDV(w: DataView, outer: number, d: number, inner: number, p: 1 | 2, out: Float64Array): void {
  let off = 0;
  for (let o = 0; o < outer; o++)
    for (let i = 0; i < d; i++) {
      let acc = 0;
      const end = off + inner;
      if (p === 1) for (let q = off; q < end; q++) acc += Math.abs(w.getFloat32(q * 4, true));
      else
        for (let q = off; q < end; q++) {
          const x = w.getFloat32(q * 4, true);
          acc += x * x;
        }
      out[i] += acc;
      off = end;
    }
}

/** Spread per-index scores along `axis` to every element (element granularity from channel scores). */
export function broadcastAlong(t: Tensor, axis: number, perIndex: ArrayLike<number>): Float32Array {
  const dims = t.dims;
  const d = dims[axis]!;
  let inner = 1;
  for (let a = axis + 1; a < dims.length; a++) inner *= dims[a]!;
  const out = new Float32Array(t.size);
  for (let i = 0; i < out.length; i++) out[i] = perIndex[Math.floor(i / inner) % d]!;
  return out;
}

/** Element scores, or per-index sums of them along target.granularity.axis. */
export function toGranularity(elementScores: Float32Array, target: ScoreTarget): Float32Array {
  if (target.granularity.kind === 'element') return elementScores;
  const axis = target.granularity.axis;
  const dims = target.weight.dims;
  const d = dims[axis]!;
  let inner = 1;
  for (let a = axis + 1; a < dims.length; a++) inner *= dims[a]!;
  const out = new Float32Array(d);
  for (let i = 0; i < elementScores.length; i++) out[Math.floor(i / inner) % d] += elementScores[i]!;
  return out;
}

/** Which members of a group a weight criterion looks at. */
export const membersSchema = z.enum(['producers', 'weights', 'all']);
export type Members = z.infer<typeof membersSchema>;

export function pickMembers(group: ChannelGroup, which: Members): GroupMember[] {
  const roles: MemberRole[] = which === 'producers' ? ['producer'] : which === 'weights' ? ['producer', 'consumer'] : ['producer', 'consumer', 'param', 'const'];
  const picked = group.members.filter((m) => roles.includes(m.role) && (which === 'all' || m.kind === 'weight') && m.tensor.dtype === 'float32');
  // A group without filters (a grouped layer's consumer side only) still gets scored.
  return picked.length ? picked : group.members.filter((m) => m.tensor.dtype === 'float32');
}

/**
 * Aggregate per-index values of several members (or activation sites) into
 * one value per group channel: each part contributes the sum over its
 * indices of a channel; parts are combined by mean or sum.
 */
export function aggregate(group: ChannelGroup, parts: { channelOf: Int32Array; perIndex: ArrayLike<number> }[], reduction: 'mean' | 'sum'): Float32Array {
  const acc = new Float64Array(group.size);
  const count = new Float64Array(group.size);
  for (const { channelOf, perIndex } of parts) {
    const seen = new Uint8Array(group.size);
    for (let j = 0; j < channelOf.length; j++) {
      const c = channelOf[j]!;
      if (c < 0) continue;
      acc[c] += perIndex[j]!;
      seen[c] = 1;
    }
    for (let c = 0; c < group.size; c++) count[c] += seen[c]!;
  }
  const out = new Float32Array(group.size);
  for (let c = 0; c < group.size; c++) out[c] = reduction === 'sum' || count[c] === 0 ? acc[c]! : acc[c]! / count[c]!;
  return out;
}

/** Scale a group's scores so groups compare in a global ranking. */
export function normalizeScores(s: Float32Array, how: Normalize): Float32Array {
  if (how === 'none' || s.length === 0) return s;
  let ref = 0;
  if (how === 'max') for (const x of s) ref = Math.max(ref, x);
  else {
    for (const x of s) ref += x;
    if (how === 'mean') ref /= s.length;
  }
  if (!(ref > 0) || !Number.isFinite(ref)) return s;
  return s.map((x) => x / ref);
}

/** FNV-1a of a string, for seeding per-tensor or per-group streams. */
export function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}
