// Landing a MACs or parameter target: the global ranking (or one amount per
// group) finds the plan nearest the goal, then single and paired round-to
// steps move it onto the goal; where the goal cannot be met, the result says
// how close it got and why (pinned channels, round-to, coarse steps).
import { requireInputSizes, type ChannelGraph, type ChannelGroup } from '@shears/core';
import { CostModel, type Metric } from './cost.js';
import { constrain, type Limits, type Notes, type Scored, type Selection } from './select.js';

export interface TargetGoal {
  metric: Metric;
  /** Wanted fraction of the original metric, in (0, 1]. */
  ratio: number;
  scope: 'layer' | 'global';
  /** Landing within ±tolerance of ratio counts as reached (default 0.02). */
  tolerance?: number;
}

export interface TargetResult {
  selection: Selection;
  metric: Metric;
  goal: number;
  /** The metric before and after. */
  total: number;
  value: number;
  /** value / total. */
  achieved: number;
  reached: boolean;
  /** When not reached: how close, and why (one or two sentences). */
  why?: string;
}

export const TARGET_TOLERANCE = 0.02;

/** Per group: the prunable counts round-to and the caps allow, ascending (0 first). */
function ladder(s: Scored, lim: Limits): Int32Array {
  const out = [0];
  for (let w = 1; w <= s.group.size; w++) {
    const n = constrain(s, w, lim).n;
    if (n > out[out.length - 1]!) out.push(n);
  }
  return Int32Array.from(out);
}

/** The solver's state: a prefix of each group's ranked channels, and the metric it leaves. */
class State {
  readonly n: Int32Array;
  readonly steps: Int32Array[];
  readonly gi: Int32Array;
  constructor(
    readonly groups: Scored[],
    readonly cost: CostModel,
    graph: ChannelGraph,
    lim: Limits,
  ) {
    this.n = new Int32Array(groups.length);
    this.steps = groups.map((s) => ladder(s, lim));
    this.gi = Int32Array.from(groups, (s) => graph.groupIndex(s.group.id)!);
  }

  /** The nearest metrics seen below and above the goal (for explanations). */
  below = -Infinity;
  above = Infinity;
  /** The metric now, noted against the goal. */
  seen(goal: number): number {
    const v = this.cost.value;
    if (v <= goal && v > this.below) this.below = v;
    if (v >= goal && v < this.above) this.above = v;
    return v;
  }

  set(i: number, n: number): void {
    const cur = this.n[i]!;
    if (n === cur) return;
    const order = this.groups[i]!.order;
    if (n > cur) this.cost.change(this.gi[i]!, order.subarray(cur, n), 1);
    else this.cost.change(this.gi[i]!, order.subarray(n, cur), -1);
    this.n[i] = n;
  }

  setAll(ns: ArrayLike<number>): void {
    for (let i = 0; i < ns.length; i++) this.set(i, ns[i]!);
  }

  /** The ladder value one step up (dir 1) or down (-1) from the current count, or -1. */
  next(i: number, dir: 1 | -1): number {
    const st = this.steps[i]!;
    const cur = this.n[i]!;
    if (dir === 1) {
      for (let k = 0; k < st.length; k++) if (st[k]! > cur) return st[k]!;
      return -1;
    }
    for (let k = st.length - 1; k >= 0; k--) if (st[k]! < cur) return st[k]!;
    return -1;
  }

  /** Score cost of moving group i to n: scores of channels removed, minus those put back. */
  scoreCost(i: number, n: number): number {
    const s = this.groups[i]!;
    const cur = this.n[i]!;
    let c = 0;
    for (let k = Math.min(n, cur); k < Math.max(n, cur); k++) c += s.scores[s.order[k]!]!;
    return n > cur ? c : -c;
  }

  selection(): Selection {
    const sel: Selection = new Map();
    this.groups.forEach((s, i) => {
      if (this.n[i]! > 0) sel.set(s.group.id, Array.from(s.order.subarray(0, this.n[i]!)).sort((a, b) => a - b));
    });
    return sel;
  }
}

/** A scored group without the channels in `keep` (they stay): a group cut into branches loses its branch cuts (plain prefixes again). */
function keepChannels(s: Scored, keep: Set<number>): Scored {
  const order = s.order.filter((c) => !keep.has(c));
  const ranked = Float32Array.from(order, (c) => s.scores[c]!).sort();
  if (!s.branches) return { ...s, order, ranked };
  return { group: s.group, scores: s.scores, order: Int32Array.from(order).sort((a, b) => s.scores[a]! - s.scores[b]! || a - b), ranked };
}

/** Wanted counts per group at rank threshold k of the sorted scores (channels scoring below it). */
function wantsAt(groups: Scored[], sorted: Float64Array, k: number): Int32Array {
  const t = k < sorted.length ? sorted[k]! : Infinity;
  return Int32Array.from(groups, (s) => {
    let lo = 0;
    let hi = s.ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s.ranked[mid]! < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  });
}

function allScores(groups: Scored[]): Float64Array {
  let n = 0;
  for (const s of groups) n += s.order.length;
  const all = new Float64Array(n);
  let p = 0;
  for (const s of groups) for (const c of s.order) all[p++] = s.scores[c]!;
  return all.sort();
}

/**
 * Phase 1: the ranking's plan nearest the goal (a global threshold, or one
 * amount for every group). Leaves the state there; returns the wants.
 */
function rankingPhase(st: State, goal: number, scope: 'layer' | 'global', lim: Limits): Int32Array {
  const { groups } = st;
  const countsOf = (wants: Int32Array) => Int32Array.from(groups, (s, i) => constrain(s, wants[i]!, lim).n);
  const at = (w: Int32Array) => {
    st.setAll(countsOf(w));
    return st.seen(goal);
  };
  let wantsFor: (x: number) => Int32Array;
  let lo: number;
  let hi: number;
  let discrete: boolean;
  if (scope === 'global') {
    const sorted = allScores(groups);
    wantsFor = (k) => wantsAt(groups, sorted, k);
    [lo, hi, discrete] = [0, sorted.length, true];
  } else {
    wantsFor = (a) => Int32Array.from(groups, (s) => Math.min(s.group.size, Math.round(a * s.group.size)));
    [lo, hi, discrete] = [0, 1, false];
  }
  // The least pruning whose metric is at most the goal (at `hi`), or the most
  // whose metric is above it (at `lo`), whichever is nearer.
  if (discrete) {
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (at(wantsFor(mid)) <= goal) hi = mid;
      else lo = mid + 1;
    }
    lo = Math.max(0, hi - 1);
  } else {
    for (let it = 0; it < 30; it++) {
      const mid = (lo + hi) / 2;
      if (at(wantsFor(mid)) <= goal) hi = mid;
      else lo = mid;
    }
  }
  const a = wantsFor(hi);
  const va = at(a);
  if (lo < hi) {
    const b = wantsFor(lo);
    if (Math.abs(at(b) - goal) < Math.abs(va - goal)) return b;
    at(a);
  }
  return a;
}

/**
 * Phase 2: move one group to whichever of its round-to steps brings the
 * metric nearest the goal, or, when no single move helps, a pair of groups
 * one step each (one up, one down); repeat while the error shrinks. Below
 * `fine` every error is as good; ties go to the moves whose channels score
 * lowest, so the ranking still decides what it can.
 */
function refinePhase(st: State, goal: number, fine: number): void {
  const { cost } = st;
  const G = st.groups.length;
  type Best = { moves: [number, number][]; e: number; sc: number };
  const better = (e: number, sc: number, b: Best | undefined) => !b || e < b.e - 1e-9 || (Math.abs(e - b.e) <= 1e-9 && sc < b.sc);
  const err = () => Math.max(fine, Math.abs(st.seen(goal) - goal));
  for (let it = 0; it < 4 * G + 16; it++) {
    const e0 = Math.abs(cost.value - goal);
    if (e0 <= fine) return;
    let best: Best | undefined;
    // Single moves: walk each group's ladder both ways from where it is.
    for (let i = 0; i < G; i++) {
      const cur = st.n[i]!;
      for (const n of st.steps[i]!) {
        if (n === cur) continue;
        const sc = st.scoreCost(i, n);
        st.set(i, n);
        const e = err();
        if (better(e, sc, best)) best = { moves: [[i, n]], e, sc };
      }
      st.set(i, cur);
    }
    if (!best || best.e >= e0 - 1e-9) {
      best = undefined;
      const up = Int32Array.from({ length: G }, (_, i) => st.next(i, 1));
      const down = Int32Array.from({ length: G }, (_, i) => st.next(i, -1));
      for (let i = 0; i < G; i++) {
        if (up[i]! < 0) continue;
        const ci = st.n[i]!;
        const sci = st.scoreCost(i, up[i]!);
        st.set(i, up[i]!);
        for (let j = 0; j < G; j++) {
          if (j === i || down[j]! < 0) continue;
          const cj = st.n[j]!;
          const sc = sci + st.scoreCost(j, down[j]!);
          st.set(j, down[j]!);
          const e = err();
          if (better(e, sc, best)) best = { moves: [[i, up[i]!], [j, down[j]!]], e, sc };
          st.set(j, cj);
        }
        st.set(i, ci);
      }
    }
    if (!best || best.e >= Math.max(fine, e0) - 1e-9) return;
    for (const [i, n] of best.moves) st.set(i, n);
  }
}

/** Notes for groups round-to leaves whole or holds back, against what the ranking wanted. */
function roundingNotes(st: State, wants: Int32Array, lim: Limits, notes: Notes): void {
  st.groups.forEach((s, i) => {
    const r = constrain(s, Math.max(wants[i]!, s.order.length ? 1 : 0), lim);
    if (r.code === 'too-small' || (wants[i]! > 0 && r.note && st.n[i]! <= r.n)) notes.push({ target: s.group.id, reason: r.note!, code: r.code });
  });
}

const label = (m: Metric) => (m === 'macs' ? 'MACs' : 'params');
const f3 = (x: number) => x.toFixed(3);
const pc = (x: number) => `${Math.round(100 * x)}%`;

/** The most a model can lose under limits `lim` (every group at its largest count), as a ratio; the state is restored. */
function floorRatio(st: State, lim: Limits | undefined): number {
  const was = Int32Array.from(st.n);
  st.groups.forEach((s, i) => st.set(i, lim ? constrain(s, s.group.size, lim).n : st.steps[i]![st.steps[i]!.length - 1]!));
  const v = st.cost.value / st.cost.total;
  st.setAll(was);
  return v;
}

/**
 * Groups with pinned channels, most pinned MACs first: "g (reason); g2 (5 of
 * 8 channels: reason); and N more".
 */
export function pinnedSummary(groups: readonly ChannelGroup[], reason: (g: ChannelGroup) => string, top = 3): string {
  const pinned = groups.filter((g) => g.prunable < g.size).sort((a, b) => b.macs * (1 - b.prunable / b.size) - a.macs * (1 - a.prunable / a.size));
  const head = pinned.slice(0, top).map((g) => `${g.id} (${g.prunable ? `${g.size - g.prunable} of ${g.size} channels: ` : ''}${reason(g)})`);
  return head.join('; ') + (pinned.length > top ? `; and ${pinned.length - top} more` : '');
}

/** Why the goal was missed: the floor (pinned channels, round-to, caps) or coarse steps. */
function explain(st: State, graph: ChannelGraph, g: TargetGoal, lim: Limits, tol: number, reason: (g: ChannelGroup) => string): string {
  const { cost } = st;
  const achieved = cost.value / cost.total;
  const head = `target ${label(g.metric)} ${g.ratio}: reached ${f3(achieved)}`;
  const floorRT = floorRatio(st, undefined);
  const floor1 = floorRatio(st, { roundTo: 1, maxLayerAmount: 1 });
  const parts: string[] = [];
  if (g.ratio < achieved) {
    if (floorRT - floor1 > tol / 2) {
      const caps = [lim.roundTo > 1 ? `round-to ${lim.roundTo}` : '', lim.maxLayerAmount < 1 ? `max-layer-amount ${lim.maxLayerAmount}` : ''].filter(Boolean).join(' and ');
      parts.push(`with ${caps} the least reachable is ${f3(floorRT)}; ${lim.roundTo > 1 ? '--round-to 1' : 'no cap'} would reach ${f3(floor1)}`);
    }
    if (floor1 > g.ratio - tol) {
      const pins = pinnedSummary(graph.groups, reason);
      parts.push(`${pc(floor1)} of the ${label(g.metric)} stay even with every free channel removed${pins ? `; pinned: ${pins}` : ''}`);
    }
  }
  if (!parts.length) {
    // Within reach, but no plan lands: the plans either side, and the smallest step across the goal.
    const goal = g.ratio * cost.total;
    const side = Math.sign(cost.value - goal);
    let step = Infinity;
    let who = -1;
    st.groups.forEach((_, i) => {
      for (const dir of [1, -1] as const) {
        const n = st.next(i, dir);
        if (n < 0) continue;
        const was = st.n[i]!;
        const v0 = cost.value;
        st.set(i, n);
        const crosses = Math.sign(cost.value - goal) !== side;
        const d = Math.abs(cost.value - v0) / cost.total;
        st.set(i, was);
        if (crosses && d < step) [step, who] = [d, i];
      }
    });
    const near = [st.below, st.above].filter(Number.isFinite).map((v) => f3(v / cost.total));
    parts.push(
      `no plan lands within ±${tol}${near.length ? ` (nearest: ${near.join(' and ')})` : ''}` +
        (who >= 0 ? `: one ${lim.roundTo > 1 ? 'round-to step' : 'step'} of ${st.groups[who]!.group.id} moves ${label(g.metric)} by ${f3(step)}` : '') +
        (lim.roundTo > 1 ? '; try --round-to 1' : ''),
    );
  }
  return `${head}; ${parts.join('; ')}`;
}

/**
 * The selection whose MACs (or parameters) land nearest ratio × the original:
 * within ±tolerance whenever the groups, round-to and caps allow it. Adds
 * notes for groups round-to leaves whole or holds back, and channels kept so
 * no tensor empties.
 */
export function solveTarget(graph: ChannelGraph, groups: Scored[], goal: TargetGoal, lim: Limits, notes: Notes, reason: (g: ChannelGroup) => string = () => 'pinned'): TargetResult {
  // MACs need concrete input sizes (given, or known to the model); parameters do not.
  if (goal.metric === 'macs') requireInputSizes(graph.model, 'MAC targets');
  const tol = goal.tolerance ?? TARGET_TOLERANCE;
  const cost = new CostModel(graph, goal.metric);
  const target = goal.ratio * cost.total;
  let list = groups;
  const kept: Notes = [];
  let st: State;
  let wants: Int32Array;
  // Channels whose removal would empty a tensor (all of a Slice's channels) stay, and the plan is solved again.
  for (let round = 0; ; round++) {
    st = new State(list, cost, graph, lim);
    wants = list.length ? rankingPhase(st, target, goal.scope, lim) : new Int32Array(0);
    refinePhase(st, target, (tol / 4) * cost.total);
    const emptied = round < 8 ? graph.emptied(st.selection()) : [];
    if (!emptied.length) break;
    const pin = new Map<string, Set<number>>();
    for (const e of emptied) {
      const set = pin.get(e.group) ?? new Set<number>();
      if (!set.has(e.channel)) kept.push({ target: e.group, reason: `channel ${e.channel} kept: removing it would leave ${e.value} empty`, code: 'rounded' });
      pin.set(e.group, set.add(e.channel));
    }
    st.setAll(new Int32Array(list.length));
    list = list.map((s) => (pin.has(s.group.id) ? keepChannels(s, pin.get(s.group.id)!) : s));
  }
  roundingNotes(st, wants, lim, notes);
  // A kept channel is worth a note only where the plan takes every other free channel of its group.
  const full = new Set(list.filter((s, i) => s.order.length > 0 && st.n[i] === s.order.length).map((s) => s.group.id));
  notes.push(...kept.filter((k) => full.has(k.target)));
  const value = cost.settle();
  const achieved = cost.total > 0 ? value / cost.total : 1;
  const reached = Math.abs(achieved - goal.ratio) <= tol + 1e-12;
  return {
    selection: st.selection(),
    metric: goal.metric,
    goal: goal.ratio,
    total: cost.total,
    value,
    achieved,
    reached,
    ...(reached ? {} : { why: explain(st, graph, goal, lim, tol, reason) }),
  };
}

/**
 * The selection whose MACs land nearest `ratio` × the original (within
 * ±0.02 where reachable): see solveTarget, which also takes a params target.
 */
export function targetMacs(graph: ChannelGraph, groups: Scored[], ratio: number, scope: 'layer' | 'global', lim: Limits, notes: Notes): { selection: Selection; macs: number; reached: boolean } {
  const r = solveTarget(graph, groups, { metric: 'macs', ratio, scope }, lim, notes);
  return { selection: r.selection, macs: r.value, reached: r.reached };
}
