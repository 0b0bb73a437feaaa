// The exact MACs or parameter count of a selection, kept up to date as
// channels come and go: O(touched weights) per change, not O(model), so a
// target solver can try many plans. Same counting as ChannelGraph.estimateMacs
// (per node: MACs × Π kept/len over its weights' channel axes) and, for
// parameters, per float constant: size × Π kept/len over its sliced axes.
import { countParams, isFloatDType, type ChannelGraph, type Tensor } from '@shears/core';

export type Metric = 'macs' | 'params';

export class CostModel {
  /** The metric before pruning. */
  readonly total: number;
  /** Per graph group: offset of its channel 0 in the channel arrays. */
  readonly #off: Int32Array;
  /** Channel → records it shrinks (CSR: #start[ch]..#start[ch+1] in #rec). */
  readonly #start: Int32Array;
  readonly #rec: Int32Array;
  /** Per record: length of its axis, removed entries, unit. */
  readonly #len: Float64Array;
  readonly #rem: Int32Array;
  readonly #unitOf: Int32Array;
  /** Per unit (a node for MACs, a tensor for params): weight, records (CSR), current kept product. */
  readonly #w: Float64Array;
  readonly #uStart: Int32Array;
  readonly #uRec: Int32Array;
  readonly #prod: Float64Array;
  #sum = 0;
  #base = 0;
  /** Scratch: units touched by the last change, deduplicated by stamp. */
  readonly #stamp: Int32Array;
  #tick = 0;
  readonly #touched: number[] = [];

  constructor(graph: ChannelGraph, metric: Metric) {
    const { members, macs } = graph.build;
    const unitKey = new Map<unknown, number>();
    const weights: number[] = [];
    const recs: { k: number; unit: number }[] = [];
    const seen = new Map<Tensor, Set<number>>();
    members.forEach((m, k) => {
      if (graph.memberRoots[k]!.length === 0) return;
      let key: unknown;
      let w: number;
      if (metric === 'macs') {
        if (m.role !== 'producer' && m.role !== 'consumer') return;
        key = m.node;
        w = macs.get(m.node) ?? 0;
      } else {
        const t = m.c.tensor;
        if (!isFloatDType(t.dtype)) return;
        // A tensor read by two nodes is counted once per axis.
        const axes = seen.get(t) ?? new Set<number>();
        if (axes.has(m.axis)) return;
        seen.set(t, axes.add(m.axis));
        key = t;
        w = t.size;
      }
      if (!(w > 0)) return;
      let u = unitKey.get(key);
      if (u === undefined) {
        u = weights.length;
        unitKey.set(key, u);
        weights.push(w);
      }
      recs.push({ k, unit: u });
    });
    this.total = metric === 'macs' ? graph.macs : countParams(graph.model);
    const nu = weights.length;
    this.#w = Float64Array.from(weights);
    this.#prod = new Float64Array(nu).fill(1);
    this.#stamp = new Int32Array(nu);
    this.#base = this.total - this.#w.reduce((a, b) => a + b, 0);
    this.#sum = this.total - this.#base;
    // Units → records.
    const nr = recs.length;
    this.#len = new Float64Array(nr);
    this.#rem = new Int32Array(nr);
    this.#unitOf = new Int32Array(nr);
    const uCount = new Int32Array(nu + 1);
    recs.forEach((r, i) => {
      this.#len[i] = graph.memberRoots[r.k]!.length;
      this.#unitOf[i] = r.unit;
      uCount[r.unit + 1]!++;
    });
    for (let u = 0; u < nu; u++) uCount[u + 1]! += uCount[u]!;
    this.#uStart = uCount.slice();
    this.#uRec = new Int32Array(nr);
    const fillU = uCount.slice();
    for (let i = 0; i < nr; i++) this.#uRec[fillU[this.#unitOf[i]!]!++] = i;
    // Channels → records.
    this.#off = new Int32Array(graph.groups.length + 1);
    graph.groups.forEach((g, gi) => (this.#off[gi + 1] = this.#off[gi]! + g.size));
    const nch = this.#off[graph.groups.length]!;
    const cCount = new Int32Array(nch + 1);
    const chanOf = (r: number) => {
      const gi = graph.groupOfRoot[r]!;
      return gi < 0 ? -1 : this.#off[gi]! + graph.channelOfRoot[r]!;
    };
    recs.forEach((r) => {
      for (const root of graph.memberRoots[r.k]!) {
        const ch = chanOf(root);
        if (ch >= 0) cCount[ch + 1]!++;
      }
    });
    for (let c = 0; c < nch; c++) cCount[c + 1]! += cCount[c]!;
    this.#start = cCount.slice();
    this.#rec = new Int32Array(cCount[nch]!);
    const fill = cCount.slice();
    recs.forEach((r, i) => {
      for (const root of graph.memberRoots[r.k]!) {
        const ch = chanOf(root);
        if (ch >= 0) this.#rec[fill[ch]!++] = i;
      }
    });
  }

  /** The metric with the current removals. */
  get value(): number {
    return this.#base + this.#sum;
  }

  /** Remove (sign 1) or put back (sign -1) channels of graph group `gi`. */
  change(gi: number, channels: ArrayLike<number>, sign: 1 | -1): void {
    this.#tick++;
    const touched = this.#touched;
    touched.length = 0;
    const off = this.#off[gi]!;
    for (let i = 0; i < channels.length; i++) {
      const ch = off + channels[i]!;
      for (let p = this.#start[ch]!; p < this.#start[ch + 1]!; p++) {
        const r = this.#rec[p]!;
        this.#rem[r]! += sign;
        const u = this.#unitOf[r]!;
        if (this.#stamp[u] !== this.#tick) {
          this.#stamp[u] = this.#tick;
          touched.push(u);
        }
      }
    }
    for (const u of touched) {
      let p = 1;
      for (let q = this.#uStart[u]!; q < this.#uStart[u + 1]!; q++) {
        const r = this.#uRec[q]!;
        p *= (this.#len[r]! - this.#rem[r]!) / this.#len[r]!;
      }
      this.#sum += this.#w[u]! * (p - this.#prod[u]!);
      this.#prod[u] = p;
    }
  }

  /** Recompute the running sum from the unit products (drops accumulated rounding). */
  settle(): number {
    let s = 0;
    for (let u = 0; u < this.#w.length; u++) s += this.#w[u]! * this.#prod[u]!;
    this.#sum = s;
    return this.value;
  }
}
