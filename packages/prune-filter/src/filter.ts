import {
  buildDependencyGraph,
  CALIBRATION_SAMPLES,
  CURRENT_CRITERION,
  definePlugin,
  definePluginFactory,
  isShortfall,
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
import { byAmount, byTable, globalAmount, keepNonEmpty, scored, targetMacs, type Notes, type Selection } from './select.js';

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
  const list = groups.map((g, i) => scored(g, scores[i]!));
  let selection: Selection;
  let goal: { macs: number; reached: boolean } | undefined;
  if (opts.targetMacs !== undefined) {
    const r = targetMacs(graph, list, opts.targetMacs, opts.scope ?? 'global', lim, skipped);
    selection = r.selection;
    goal = r;
    if (!r.reached)
      skipped.push({ target: 'model', reason: `target MACs ${opts.targetMacs} not reachable: best is ${(r.macs / Math.max(1, graph.macs)).toFixed(3)} of the original (channels that must stay hold the rest)`, code: 'target-unreachable' });
  } else if (opts.amountTable !== undefined) selection = byTable(list, opts.amountTable, opts.amount, lim, skipped);
  else if ((opts.scope ?? 'layer') === 'global') selection = globalAmount(list, opts.amount!, lim, skipped);
  else selection = byAmount(list, opts.amount!, lim, skipped);
  keepNonEmpty(graph, selection, skipped);
  const actions = list.filter((s) => selection.get(s.group.id)?.length).map((s) => removeAction(graph, s.group, selection.get(s.group.id)!, s.scores));
  const channels = actions.reduce((a, x) => a + x.channels.length, 0);
  if (actions.length === 0) {
    const why = groups.length === 0 ? 'no group of coupled channels may be pruned (see the reasons per group)' : 'the amount rounds to nothing in every group';
    skipped.push({ target: 'model', reason: `nothing pruned: ${why}`, code: 'nothing-pruned' });
    ctx.logger.warn(`${NAME}: nothing pruned: ${why}`);
  }
  for (const s of skipped) if (isShortfall(s)) ctx.logger.warn(`${NAME}: ${s.target}: ${s.reason}`);
  const macsAfter = goal?.macs ?? graph.estimateMacs(selection);
  return {
    version: 1,
    strategy: NAME,
    criterion: criterion.name,
    options: { ...opts },
    details: { estimate: { groups: graph.groups.length, prunableGroups: groups.length, channels, macs: graph.macs, macsAfter } },
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
