// The phases of a channel plan before the reconstruction: which groups may be
// pruned and refit, how their channels score, which channels the amount or
// MAC target selects, and the remove-channels actions with their reports.
import type { ChannelGraph, ChannelGroup, Model, Node, PlanAction } from '@shears/core';
import { byAmount, candidates, firstReason, globalAmount, keepNonEmpty, removeAction, scored, solveTarget, targetOf, type Notes, type Scored, type Selection, type TargetResult } from '@shears/prune-filter';
import { groupConsumers, type Consumer } from './consumers.js';
import type { GroupReport, NotRefitReport } from './details.js';
import { symmetrize } from './linalg.js';
import type { ChannelParsed } from './options.js';
import { greedyScores, lassoScores } from './rank.js';
import type { Stat } from './stats.js';

export interface PrunableGroups {
  /** The groups that may be pruned: more than one channel, every consumer refittable. */
  groups: ChannelGroup[];
  consumersOf: Map<ChannelGroup, Consumer[]>;
  notRefit: NotRefitReport[];
}

/** A group's channel scores and the Gram of its channel contributions (normalized per consumer). */
export interface GroupScores {
  s: Scored;
  G: Float64Array;
}

/**
 * The candidate groups whose every consumer least squares can refit, with
 * those consumers; the others are skipped (too small, or not reconstructable
 * and reported in notRefit).
 */
export function prunableGroups(model: Model, graph: ChannelGraph, exclude: string | undefined, skipped: Notes): PrunableGroups {
  const byNode = new Map<Node, Consumer | string>();
  const groups: ChannelGroup[] = [];
  const consumersOf = new Map<ChannelGroup, Consumer[]>();
  const notRefit: NotRefitReport[] = [];
  for (const g of candidates(graph, exclude, skipped)) {
    if (g.size <= 1) {
      skipped.push({ target: g.id, reason: 'one input channel: nothing to choose', code: 'too-small' });
      continue;
    }
    const gi = graph.groupIndex(g.id)!;
    const cs = groupConsumers(model, graph, gi, byNode);
    if (!Array.isArray(cs)) {
      skipped.push({ target: g.id, reason: `not reconstructable: ${cs.reason}`, code: 'unsupported' });
      notRefit.push({ group: g.id, ...(cs.layer ? { layer: cs.layer } : {}), reason: cs.reason, effect: 'group not pruned' });
    } else {
      groups.push(g);
      consumersOf.set(g, cs);
    }
  }
  return { groups, consumersOf, notRefit };
}

/**
 * Scores per group: the Gram of channel contributions, each consumer
 * normalized by its output energy, ranked by the selection method (greedy or
 * LASSO); for l1, the consumers' mean |weight| per channel, each consumer
 * normalized by its mean.
 */
export function groupScores(graph: ChannelGraph, { groups, consumersOf }: PrunableGroups, stats: Map<Consumer, Stat>, opts: Pick<ChannelParsed, 'selection' | 'roundTo' | 'maxLayerAmount'>): GroupScores[] {
  const { selection } = opts;
  return groups.map((g) => {
    const gi = graph.groupIndex(g.id)!;
    const C = g.size;
    const G = new Float64Array(C * C);
    const l1 = new Float64Array(C);
    for (const c of consumersOf.get(g)!) {
      const s = stats.get(c)!;
      addGram(G, s, gi, C);
      addL1(l1, s, gi, C);
    }
    const free = g.pinned.map((p) => !p);
    const scores = selection === 'greedy' ? greedyScores(G, C, free) : selection === 'lasso' ? lassoScores(G, C, free) : Float32Array.from(l1);
    // With the limits, a group that a Split cuts into branches keeps a multiple of roundTo in each branch.
    return { s: scored(g, scores, { roundTo: opts.roundTo, maxLayerAmount: opts.maxLayerAmount }), G };
  });
}

/** Add the consumer's contribution Gram for group `gi` (symmetrized), divided by its output energy. */
function addGram(G: Float64Array, s: Stat, gi: number, C: number): void {
  const gz = s.gz.get(gi);
  if (!gz) return;
  symmetrize(gz, C);
  const e = s.ey > 0 ? s.ey : 1;
  for (let i = 0; i < gz.length; i++) G[i] += gz[i]! / e;
}

/** Add the consumer's mean |weight| per group channel, divided by its mean over the channels. */
function addL1(l1: Float64Array, s: Stat, gi: number, C: number): void {
  const c = s.c;
  const fc = s.featChan.get(gi)!;
  const sum = new Float64Array(C);
  const cnt = new Float64Array(C);
  for (let f = 0; f < c.D; f++) {
    const ch = fc[f]!;
    if (ch < 0) continue;
    cnt[ch] += c.O;
    for (let o = 0; o < c.O; o++) sum[ch] += Math.abs(s.W[o * c.D + f]!);
  }
  let mean = 0;
  for (let ch = 0; ch < C; ch++) mean += cnt[ch] ? sum[ch]! / cnt[ch]! : 0;
  mean = mean / C || 1;
  for (let ch = 0; ch < C; ch++) l1[ch] += (cnt[ch] ? sum[ch]! / cnt[ch]! : 0) / mean;
}

/**
 * The channels to remove per group, by the MACs or params target (landing
 * within ±0.02 where reachable) or the amount (scope, roundTo,
 * maxLayerAmount), never emptying a group, and the MACs after.
 */
export function selectChannels(graph: ChannelGraph, sc: Scored[], opts: ChannelParsed, skipped: Notes): { selection: Selection; macsAfter: number; target?: TargetResult } {
  const lim = { roundTo: opts.roundTo, maxLayerAmount: opts.maxLayerAmount };
  const goal = targetOf(opts);
  let selection: Selection;
  let target: TargetResult | undefined;
  if (goal) {
    target = solveTarget(graph, sc, { ...goal, scope: opts.scope ?? 'global' }, lim, skipped, firstReason);
    selection = target.selection;
    if (!target.reached) skipped.push({ target: 'model', reason: target.why!, code: 'target-unreachable' });
  } else selection = (opts.scope ?? 'layer') === 'global' ? globalAmount(sc, opts.amount!, lim, skipped) : byAmount(sc, opts.amount!, lim, skipped);
  keepNonEmpty(graph, selection, skipped);
  return { selection, macsAfter: graph.estimateMacs(selection), ...(target ? { target } : {}) };
}

/**
 * One remove-channels action per group the selection prunes, and its report
 * (consumers, removed of all, the selection's error estimate: the dropped
 * channels' block of the Gram).
 */
export function removalActions(graph: ChannelGraph, scores: GroupScores[], selection: Selection, consumersOf: Map<ChannelGroup, Consumer[]>): { actions: PlanAction[]; groupReports: GroupReport[] } {
  const actions: PlanAction[] = [];
  const groupReports: GroupReport[] = [];
  for (const { s, G } of scores) {
    const chans = selection.get(s.group.id);
    if (!chans?.length) continue;
    actions.push(removeAction(graph, s.group, chans, s.scores));
    let err = 0;
    for (const a of chans) for (const b of chans) err += G[a * s.group.size + b]!;
    groupReports.push({ group: s.group.id, consumers: consumersOf.get(s.group)!.map((c) => c.node.label), removed: chans.length, of: s.group.size, selectionError: err });
  }
  return { actions, groupReports };
}
