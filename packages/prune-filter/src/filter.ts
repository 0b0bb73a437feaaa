import {
  buildDependencyGraph,
  CALIBRATION_SAMPLES,
  CURRENT_CRITERION,
  definePlugin,
  definePluginFactory,
  isShortfall,
  type Logger,
  parseOptions,
  type ChannelGraph,
  type ChannelGroup,
  type Model,
  type PluginContext,
  type PruningPlan,
  type RemoveChannelsAction,
  type StrategyPlugin,
} from '@shears/core';
import { l1 } from '@shears/criteria';
import { filterSchema, type FilterOptions } from './options.js';
import { scoreGroups } from './scores.js';
import { byAmount, byTable, globalAmount, keepNonEmpty, scored, type Limits, type Notes, type Selection } from './select.js';
import { pinnedSummary, solveTarget, TARGET_TOLERANCE, type TargetResult } from './target.js';

const NAME = 'filter';

type Parsed = ReturnType<typeof parseFilterOptions>;

export function parseFilterOptions(options: FilterOptions | undefined) {
  return parseOptions(NAME, filterSchema, options);
}

/** Why a group cannot be pruned, from its pinned channels (distinct reasons, the first few). */
export function blockedReason(g: ChannelGroup): string {
  const reasons = [...new Set(g.pinned.filter((p): p is string => !!p))];
  return reasons.slice(0, 3).join('; ') + (reasons.length > 3 ? `; and ${reasons.length - 3} more` : '');
}

/** The first reason a group's channels are pinned, and how many other reasons there are (for one-line summaries). */
export function firstReason(g: ChannelGroup): string {
  const reasons = [...new Set(g.pinned.filter((p): p is string => !!p))];
  return reasons.length > 1 ? `${reasons[0]}; and ${reasons.length - 1} more reasons` : (reasons[0] ?? 'pinned');
}

/** Groups the strategy may prune, and notes (skipped) for the rest. */
export function candidates(graph: ChannelGraph, exclude: string | undefined, notes: Notes): ChannelGroup[] {
  const re = exclude ? new RegExp(exclude) : undefined;
  const out: ChannelGroup[] = [];
  for (const g of graph.groups) {
    if (g.prunable === 0) notes.push({ target: g.id, reason: `not prunable: ${blockedReason(g)}`, code: 'pinned' });
    else if (re && (re.test(g.id) || g.layers.some((l) => re.test(l)))) notes.push({ target: g.id, reason: `excluded by ${exclude}`, code: 'excluded' });
    else out.push(g);
  }
  return out;
}

/** The target the options ask for, if any. */
export function targetOf(opts: { targetMacs?: number; targetParams?: number }): { metric: 'macs' | 'params'; ratio: number } | undefined {
  if (opts.targetMacs !== undefined) return { metric: 'macs', ratio: opts.targetMacs };
  if (opts.targetParams !== undefined) return { metric: 'params', ratio: opts.targetParams };
  return undefined;
}

/** The target's outcome for plan details and JSON: goal, achieved ratio, whether it landed, and why not. */
export function targetDetails(t: TargetResult) {
  return { metric: t.metric, goal: t.goal, achieved: t.achieved, before: t.total, after: t.value, reached: t.reached, tolerance: TARGET_TOLERANCE, ...(t.why ? { why: t.why } : {}) };
}

/** Why nothing may be pruned: the pinned groups with the most MACs, with their reasons, and the count of the rest. */
export function nonePrunable(graph: ChannelGraph): string {
  return `every channel group is pinned (${graph.groups.length} groups); by MACs: ${pinnedSummary(graph.groups, firstReason)}`;
}

/**
 * One warning per shortfall for the first few, then a count (per-group ones
 * only when `perGroup`: a target that landed needs none); and, when
 * round-to leaves whole groups holding most of the candidates' MACs, a hint
 * to use round-to 1.
 */
export function warnShortfalls(skipped: Notes, lim: Limits, graph: ChannelGraph, ctx: { logger: Logger }, name = NAME, perGroup = true): void {
  const short = skipped.filter(isShortfall);
  const model = short.filter((s) => s.target === 'model');
  // A target that landed needs no per-group warnings (skipped still lists them).
  const rest = perGroup ? short.filter((s) => s.target !== 'model') : [];
  for (const s of [...model, ...rest.slice(0, 2)]) ctx.logger.warn(`${name}: ${s.target}: ${s.reason}`);
  if (rest.length > 2) ctx.logger.warn(`${name}: and ${rest.length - 2} more groups held back by round-to or kept channels (see skipped in the plan or --json)`);
  if (lim.roundTo <= 1) return;
  const whole = new Set(skipped.filter((s) => s.code === 'too-small' || (s.code === 'rounded' && s.reason.endsWith('left whole'))).map((s) => s.target));
  let blocked = 0;
  let all = 0;
  for (const g of graph.groups) {
    if (g.prunable === 0) continue;
    all += g.macs;
    if (whole.has(g.id)) blocked += g.macs;
  }
  if (all > 0 && blocked / all > 0.5)
    ctx.logger.warn(`${name}: round-to ${lim.roundTo} leaves whole groups holding ${Math.round((100 * blocked) / all)}% of the prunable MACs; try --round-to 1`);
}

export function removeAction(graph: ChannelGraph, g: ChannelGroup, channels: number[], scores?: Float32Array): RemoveChannelsAction {
  return {
    type: 'remove-channels',
    group: g.id,
    channels,
    ...(scores ? { scores: channels.map((c) => scores[c]!) } : {}),
    size: g.size,
    structure: { ...graph.choices },
    layers: g.layers,
  };
}

async function planFilter(model: Model, opts: Parsed, ctx: PluginContext): Promise<PruningPlan> {
  const graph = buildDependencyGraph(model, { groupedConv: opts.groupedConv, crossChannel: opts.crossChannel, inputShapes: opts.inputShapes, registry: ctx.ops });
  const criterion = ctx.state.get(CURRENT_CRITERION) ?? l1();
  if (opts.calibSamples !== undefined) ctx.state.set(CALIBRATION_SAMPLES, opts.calibSamples);
  const skipped: Notes = [];
  const groups = candidates(graph, opts.exclude, skipped);
  const lim = { roundTo: opts.roundTo, maxLayerAmount: opts.maxLayerAmount };
  const scores = await scoreGroups(model, graph, groups, criterion, ctx);
  const list = groups.map((g, i) => scored(g, scores[i]!, lim));
  let selection: Selection;
  let target: TargetResult | undefined;
  const goal = targetOf(opts);
  if (goal && groups.length === 0) {
    const why = `target ${goal.metric === 'macs' ? 'MACs' : 'params'} ${goal.ratio}: reached 1.000; every channel group is pinned`;
    const reached = Math.abs(1 - goal.ratio) <= 0.02;
    target = { selection: new Map(), metric: goal.metric, goal: goal.ratio, total: 1, value: 1, achieved: 1, reached, ...(reached ? {} : { why }) };
    selection = target.selection;
    if (!reached) skipped.push({ target: 'model', reason: why, code: 'target-unreachable' });
  } else if (goal) {
    target = solveTarget(graph, list, { ...goal, scope: opts.scope ?? 'global' }, lim, skipped, firstReason);
    selection = target.selection;
    if (!target.reached) skipped.push({ target: 'model', reason: target.why!, code: 'target-unreachable' });
  } else if (opts.amountTable !== undefined) selection = byTable(list, opts.amountTable, opts.amount, lim, skipped);
  else if ((opts.scope ?? 'layer') === 'global') selection = globalAmount(list, opts.amount!, lim, skipped);
  else selection = byAmount(list, opts.amount!, lim, skipped);
  keepNonEmpty(graph, selection, skipped);
  const actions = list.filter((s) => selection.get(s.group.id)?.length).map((s) => removeAction(graph, s.group, selection.get(s.group.id)!, s.scores));
  const channels = actions.reduce((a, x) => a + x.channels.length, 0);
  if (actions.length === 0) {
    const why = groups.length === 0 ? nonePrunable(graph) : 'the amount rounds to nothing in every group';
    skipped.push({ target: 'model', reason: `nothing pruned: ${why}`, code: 'nothing-pruned' });
    ctx.logger.warn(`${NAME}: nothing pruned: ${why}`);
  }
  warnShortfalls(skipped, lim, graph, ctx, NAME, !target?.reached);
  const macsAfter = graph.estimateMacs(selection);
  return {
    version: 1,
    strategy: NAME,
    criterion: criterion.name,
    options: { ...opts },
    details: { estimate: { groups: graph.groups.length, prunableGroups: groups.length, channels, macs: graph.macs, macsAfter }, ...(target ? { target: targetDetails(target) } : {}) },
    actions,
    skipped,
  };
}

/**
 * Structured filter pruning: channels of coupled groups (found by the
 * dependency graph in @shears/core) ranked by the current criterion (L1 by
 * default) and removed physically by the shared applier, so the output is a
 * smaller dense model.
 */
export const filterPruning = definePluginFactory(
  { name: NAME, kind: 'strategy', description: 'structured filter pruning: remove whole channels of coupled groups (amount or target MACs)' },
  (options?: FilterOptions): StrategyPlugin => {
    const opts = parseFilterOptions(options);
    return definePlugin({
      name: NAME,
      kind: 'strategy',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      plan: (model, ctx) => planFilter(model, opts, ctx),
    });
  },
);
