// Turning group scores into a selection: per-layer amounts, global ranking,
// round-to, caps, and never emptying a tensor (targets: target.ts).
import type { ChannelGraph, ChannelGroup, SkipCode, SkipNote } from '@shears/core';

export interface Limits {
  /** Kept channel counts stay multiples of this (in the group's first layer). */
  roundTo: number;
  /** Most of a group's channels one plan may prune. */
  maxLayerAmount: number;
}

/** A group with its scores and free (unpinned) channels, in the order they are pruned. */
export interface Scored {
  group: ChannelGroup;
  scores: Float32Array;
  /**
   * Free channels in pruning order: a prefix of it is what a count prunes.
   * Lowest score first; for a group cut into branches (below) by round-to
   * chunks of one branch at a time.
   */
  order: Int32Array;
  /** Scores of the free channels, ascending (what a score threshold counts). */
  ranked: Float32Array;
  /**
   * A group whose channels a Split or Slice cuts into branches (C2f's two
   * halves, say), scored with round-to > 1: the counts `order` may be cut at,
   * so each branch keeps a multiple of round-to (or stays whole), ascending
   * from 0; and each branch's channel count.
   */
  branches?: { bounds: Int32Array; sizes: number[] };
}

/** The group's channels scored; with `lim` (round-to > 1), a group cut into branches is ordered by round-to chunks of each branch. */
export function scored(group: ChannelGroup, scores: Float32Array, lim?: Limits): Scored {
  const free: number[] = [];
  for (let c = 0; c < group.size; c++) if (!group.pinned[c]) free.push(c);
  const byScore = (a: number, b: number) => scores[a]! - scores[b]! || a - b;
  free.sort(byScore);
  const ranked = Float32Array.from(free, (c) => scores[c]!);
  const seg = lim && lim.roundTo > 1 && group.width === 1 ? branchesOf(group) : undefined;
  if (!seg) return { group, scores, order: Int32Array.from(free), ranked };
  const m = lim!.roundTo;
  // Per branch: its free channels by score, cut into the chunks round-to allows (the first one takes it down to a multiple of m).
  const chunks = seg.sizes.map(() => [] as number[][]);
  const lists = seg.sizes.map(() => [] as number[]);
  for (const c of free) lists[seg.of[c]!]!.push(c);
  seg.sizes.forEach((size, b) => {
    const list = lists[b]!;
    let kept = size;
    let at = 0;
    while (kept > m) {
      const next = kept % m === 0 ? kept - m : kept - (kept % m);
      const take = kept - next;
      if (at + take > list.length) break;
      chunks[b]!.push(list.slice(at, at + take));
      at += take;
      kept = next;
    }
  });
  // Merge the branches' chunks, lowest mean score first (within a branch the chunks' means only grow).
  const mean = (ch: number[]) => ch.reduce((a, c) => a + scores[c]!, 0) / ch.length;
  const head = new Int32Array(chunks.length);
  const order: number[] = [];
  const bounds = [0];
  for (;;) {
    let best = -1;
    for (let b = 0; b < chunks.length; b++) if (head[b]! < chunks[b]!.length && (best < 0 || mean(chunks[b]![head[b]!]!) < mean(chunks[best]![head[best]!]!))) best = b;
    if (best < 0) break;
    order.push(...chunks[best]![head[best]!++]!);
    bounds.push(order.length);
  }
  return { group, scores, order: Int32Array.from(order), ranked, branches: { bounds: Int32Array.from(bounds), sizes: seg.sizes } };
}

/**
 * The branches a Split or Slice cuts a group's channels into: channels that
 * the same activations carry (only part of the group's channels on some of
 * them) form one branch. Undefined when there is one.
 */
export function branchesOf(group: ChannelGroup): { of: Int32Array; sizes: number[] } | undefined {
  const sig: string[] = new Array(group.size).fill('');
  const seen = new Uint8Array(group.size);
  group.sites.forEach((site, k) => {
    seen.fill(0);
    let n = 0;
    for (let i = 0; i < site.channelOf.length; i++) {
      const c = site.channelOf[i]!;
      if (c >= 0 && !seen[c]) (seen[c] = 1), n++;
    }
    if (n === 0 || n === group.size) return;
    for (let c = 0; c < group.size; c++) if (seen[c]) sig[c] += `${k},`;
  });
  const ids = new Map<string, number>();
  const of = Int32Array.from(sig, (s) => {
    let id = ids.get(s);
    if (id === undefined) ids.set(s, (id = ids.size));
    return id;
  });
  if (ids.size < 2) return undefined;
  const sizes = new Array<number>(ids.size).fill(0);
  for (const b of of) sizes[b]!++;
  return { of, sizes };
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * How many channels of a group to prune when `want` are asked for: kept
 * counts round to the nearest multiple of round-to (at least one multiple),
 * within the group's free channels and maxLayerAmount.
 */
export function constrain(s: Scored, want: number, lim: Limits): { n: number; note?: string; code?: SkipCode } {
  const g = s.group;
  const S = g.size;
  const w = g.width;
  const m = lim.roundTo / gcd(lim.roundTo, w);
  if (want <= 0) return { n: 0 };
  if (s.branches) return constrainBranches(s, s.branches, want, lim);
  if (S <= m)
    return {
      n: 0,
      code: 'too-small',
      note:
        w > 1
          ? `grouped layer with ${S} groups of ${w} channels: keeping a multiple of round-to ${lim.roundTo} channels leaves no group to remove; left whole`
          : `has ${S} channels, not more than round-to ${lim.roundTo}; left whole`,
    };
  const most = Math.min(s.order.length, Math.floor(lim.maxLayerAmount * S + 1e-9));
  const kept = S - Math.min(want, most);
  let kr = Math.round(kept / m) * m;
  let note: string | undefined;
  let code: SkipCode | undefined;
  if (kr < m) {
    code = 'rounded';
    kr = m;
    note = `would keep ${Math.max(0, S - want) * w} of ${S * w} channels; keeps ${m * w} (round-to ${lim.roundTo})`;
  }
  if (S - kr > most) kr = Math.ceil((S - most) / m) * m;
  if (kr >= S) {
    kr = S;
    // Never silently whole: the ranking or amount wanted some of these channels.
    code = 'rounded';
    note = `would prune ${Math.min(want, most) * w} of ${S * w} channels; round-to ${lim.roundTo} keeps all ${S * w}; left whole`;
  }
  return { n: Math.max(0, S - kr), note, code };
}

/** constrain for a group cut into branches: the cut of `order` nearest the count wanted, within maxLayerAmount. */
function constrainBranches(s: Scored, br: NonNullable<Scored['branches']>, want: number, lim: Limits): { n: number; note?: string; code?: SkipCode } {
  const S = s.group.size;
  const list = br.sizes.join(' + ');
  if (br.bounds.length === 1)
    return {
      n: 0,
      code: 'too-small',
      note: `Split branches of ${list} channels, none more than round-to ${lim.roundTo} (each keeps a multiple of it); left whole`,
    };
  const most = Math.min(s.order.length, Math.floor(lim.maxLayerAmount * S + 1e-9));
  const goal = Math.min(want, most);
  let n = 0;
  for (const b of br.bounds) if (b <= most && Math.abs(b - goal) < Math.abs(n - goal)) n = b;
  if (n > 0) return { n };
  return { n: 0, code: 'rounded', note: `would prune ${goal} of ${S} channels; round-to ${lim.roundTo} in each Split branch (${list}) keeps all ${S}; left whole` };
}

/** The first `n` free channels in pruning order (lowest-scored, or by branch chunks), ascending by index. */
export function lowest(s: Scored, n: number): number[] {
  return Array.from(s.order.subarray(0, n)).sort((a, b) => a - b);
}

export type Selection = Map<string, number[]>;
export type Notes = SkipNote[];

export function byAmount(groups: Scored[], amount: number, lim: Limits, notes?: Notes): Selection {
  const sel: Selection = new Map();
  for (const s of groups) {
    const r = constrain(s, Math.round(amount * s.group.size), lim);
    if (r.note && notes) notes.push({ target: s.group.id, reason: r.note, code: r.code });
    if (r.n > 0) sel.set(s.group.id, lowest(s, r.n));
  }
  return sel;
}

/**
 * The amount a group takes from a table {nameOrRegex: amount}: the first key
 * equal to its id or one of its layer names, else the first regex key that
 * matches one of them; `fallback` when none (undefined: left whole).
 */
export function tableAmount(group: ChannelGroup, table: Record<string, number>, regexes?: readonly (readonly [RegExp, number])[]): number | undefined {
  const names = [group.id, ...group.layers];
  for (const n of names) if (Object.hasOwn(table, n)) return table[n]!;
  for (const [re, v] of regexes ?? Object.entries(table).map(([k, v]) => [new RegExp(k), v] as const)) if (names.some((n) => re.test(n))) return v;
  return undefined;
}

/** Per-group amounts from a table; groups not in it get `fallback`, or stay whole. */
export function byTable(groups: Scored[], table: Record<string, number>, fallback: number | undefined, lim: Limits, notes?: Notes): Selection {
  const regexes = Object.entries(table).map(([k, v]) => [new RegExp(k), v] as const);
  const sel: Selection = new Map();
  for (const s of groups) {
    const amount = tableAmount(s.group, table, regexes) ?? fallback;
    if (!amount) continue;
    const r = constrain(s, Math.round(amount * s.group.size), lim);
    if (r.note && notes) notes.push({ target: s.group.id, reason: r.note, code: r.code });
    if (r.n > 0) sel.set(s.group.id, lowest(s, r.n));
  }
  return sel;
}

/** Prune every free channel scoring below the k-th lowest score of all groups. */
function byRank(groups: Scored[], sorted: Float64Array, k: number, lim: Limits, notes?: Notes): Selection {
  const t = k < sorted.length ? sorted[k]! : Infinity;
  const sel: Selection = new Map();
  for (const s of groups) {
    let want = 0;
    while (want < s.ranked.length && s.ranked[want]! < t) want++;
    const r = constrain(s, want, lim);
    if (r.note && notes && want > 0) notes.push({ target: s.group.id, reason: r.note, code: r.code });
    if (r.n > 0) sel.set(s.group.id, lowest(s, r.n));
  }
  return sel;
}

function allScores(groups: Scored[]): Float64Array {
  const all: number[] = [];
  for (const s of groups) for (const c of s.order) all.push(s.scores[c]!);
  return Float64Array.from(all).sort();
}

const count = (sel: Selection) => [...sel.values()].reduce((a, v) => a + v.length, 0);

/** Global ranking: about amount × (all channels of the candidate groups), lowest normalized scores first. */
export function globalAmount(groups: Scored[], amount: number, lim: Limits, notes?: Notes): Selection {
  const sorted = allScores(groups);
  const target = amount * groups.reduce((a, s) => a + s.group.size, 0);
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (count(byRank(groups, sorted, mid, lim)) >= target) hi = mid;
    else lo = mid + 1;
  }
  const a = byRank(groups, sorted, lo, lim);
  const b = lo > 0 ? byRank(groups, sorted, lo - 1, lim) : a;
  const pick = Math.abs(count(b) - target) < Math.abs(count(a) - target) ? lo - 1 : lo;
  return byRank(groups, sorted, pick, lim, notes);
}

/** Put back channels whose removal would empty a tensor (a Slice or Split output), one at a time. */
export function keepNonEmpty(graph: ChannelGraph, sel: Selection, notes: Notes): void {
  for (let i = 0; i < 10000; i++) {
    const e = graph.emptied(sel)[0];
    if (!e) return;
    const left = (sel.get(e.group) ?? []).filter((c) => c !== e.channel);
    if (left.length) sel.set(e.group, left);
    else sel.delete(e.group);
    notes.push({ target: e.group, reason: `channel ${e.channel} kept: removing it would leave ${e.value} empty`, code: 'rounded' });
  }
}
