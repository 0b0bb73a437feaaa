// How many weights each layer loses: uniform, a per-layer table, ERK, LAMP, or
// one global threshold; all with an optional per-layer cap.

import { ShearsError } from '@shears/core';
import { collectPruned, countBelow, pruneLowest, radixSelect } from './select.js';

export interface LayerShape {
  /** Node label and weight name: table keys match either. */
  name: string;
  weight: string;
  size: number;
  dims: readonly number[];
}

const capCount = (size: number, cap: number | undefined) => (cap === undefined ? size : Math.floor(cap * size));

/** The same amount everywhere: round(min(amount, cap)·size) per layer. */
export function uniformCounts(layers: readonly LayerShape[], amount: number, cap?: number): number[] {
  return layers.map((l) => Math.min(Math.round(amount * l.size), capCount(l.size, cap)));
}

/**
 * Amount per layer from a table {nameOrRegex: amount}: an exact node or
 * weight name wins, then the first regex key that matches; others get
 * `fallback` (0, dense, when undefined).
 */
export function tableAmounts(layers: readonly LayerShape[], table: Record<string, number>, fallback: number | undefined): number[] {
  const regexes = Object.entries(table).map(([k, v]) => [new RegExp(k), v] as const);
  return layers.map((l) => {
    if (l.name in table) return table[l.name]!;
    if (l.weight in table) return table[l.weight]!;
    for (const [re, v] of regexes) if (re.test(l.name) || re.test(l.weight)) return v;
    return fallback ?? 0;
  });
}

export function countsFromAmounts(layers: readonly LayerShape[], amounts: readonly number[], cap?: number): number[] {
  return layers.map((l, i) => Math.min(Math.round(amounts[i]! * l.size), capCount(l.size, cap)));
}

/**
 * Erdős–Rényi-kernel densities (Evci et al., RigL): density_l ∝
 * Σdims / Πdims, scaled so that the kept weights total (1 − amount) of all;
 * layers that would exceed density 1 are dense, layers below 1 − cap are
 * held there, and the rest re-solved. Returns the amount per layer.
 */
export function erkAmounts(layers: readonly LayerShape[], amount: number, cap?: number): number[] {
  const raw = layers.map((l) => l.dims.reduce((a, b) => a + b, 0) / l.dims.reduce((a, b) => a * b, 1));
  const total = layers.reduce((a, l) => a + l.size, 0);
  const fixed = new Map<number, number>(); // layer → density
  const minDensity = cap === undefined ? 0 : 1 - cap;
  for (;;) {
    let keep = (1 - amount) * total;
    let denom = 0;
    layers.forEach((l, i) => {
      if (fixed.has(i)) keep -= fixed.get(i)! * l.size;
      else denom += raw[i]! * l.size;
    });
    const eps = denom > 0 ? keep / denom : 0;
    let changed = false;
    layers.forEach((_, i) => {
      if (fixed.has(i)) return;
      const d = eps * raw[i]!;
      if (d > 1) fixed.set(i, 1), (changed = true);
      else if (d < minDensity) fixed.set(i, minDensity), (changed = true);
    });
    if (!changed) return layers.map((_, i) => 1 - (fixed.get(i) ?? Math.max(0, eps * raw[i]!)));
  }
}

export interface GlobalSplit {
  /** Pruned count per segment. */
  counts: number[];
  /** Per segment: the threshold and how many ties at it to take, or undefined when capped (prune its lowest `count`). */
  rule: ({ t: number; ties: number } | undefined)[];
}

/**
 * One threshold over all segments (k = round(amount·total)), ties to earlier
 * segments then lower indices; a segment that would exceed its cap is held at
 * the cap and the threshold re-solved over the others.
 */
export function globalSplit(segments: readonly Float32Array[], amount: number, cap?: number, who = 'scores'): GlobalSplit {
  const total = segments.reduce((a, s) => a + s.length, 0);
  const k = Math.round(amount * total);
  const capped = new Set<number>();
  for (;;) {
    const active = segments.map((_, i) => i).filter((i) => !capped.has(i));
    let kActive = k;
    for (const i of capped) kActive -= capCount(segments[i]!.length, cap);
    const activeCap = active.reduce((a, i) => a + capCount(segments[i]!.length, cap), 0);
    const counts = segments.map((s) => capCount(s.length, cap));
    const rule: GlobalSplit['rule'] = segments.map(() => undefined);
    if (kActive <= 0 || active.length === 0) {
      for (const i of active) counts[i] = 0;
      return { counts, rule };
    }
    if (kActive >= activeCap) return { counts, rule }; // everything at its cap
    const t = radixSelect(
      active.map((i) => segments[i]!),
      kActive - 1,
    );
    const c = active.map((i) => countBelow(segments[i]!, t, `${who} (${i})`));
    let ties = kActive - c.reduce((a, x) => a + x.below, 0);
    const over: number[] = [];
    active.forEach((i, j) => {
      const take = Math.min(ties, c[j]!.equal);
      ties -= take;
      counts[i] = c[j]!.below + take;
      rule[i] = { t, ties: take };
      if (counts[i]! > capCount(segments[i]!.length, cap)) over.push(i);
    });
    if (!over.length) return { counts, rule };
    for (const i of over) capped.add(i);
  }
}

/** Pruned indices of one segment under a GlobalSplit. */
export function prunedOf(split: GlobalSplit, i: number, scores: Float32Array, who: string): Uint32Array {
  const r = split.rule[i];
  return r ? collectPruned(scores, r.t, r.ties, split.counts[i]!) : pruneLowest(scores, split.counts[i]!, who);
}

/**
 * LAMP (Lee et al. 2021): per layer, sort s² ascending and score each
 * weight s_u² / Σ_{v≥u} s_v²; one global threshold on those scores gives the
 * per-layer counts. (Sorting is inherent to LAMP; selection is still O(n).)
 */
export function lampCounts(segments: readonly Float32Array[], amount: number, cap?: number): number[] {
  const lamp = segments.map((s) => {
    const sq = new Float32Array(s.length);
    for (let i = 0; i < s.length; i++) {
      if (s[i]! < 0) throw new ShearsError('E_OPTION', 'unstructured: allocation lamp needs non-negative scores (magnitudes)', { plugin: 'unstructured', option: 'allocation' });
      sq[i] = s[i]! * s[i]!;
    }
    sq.sort();
    const out = new Float32Array(s.length);
    let suffix = 0;
    for (let i = s.length - 1; i >= 0; i--) {
      suffix += sq[i]!;
      out[i] = suffix > 0 ? sq[i]! / suffix : 0;
    }
    return out;
  });
  return globalSplit(lamp, amount, cap, 'lamp').counts;
}
