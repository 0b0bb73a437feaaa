// The channel strategy: its plugin, options and plan. The phases live in
// plan-phases.ts (groups, scores, selection, actions), stats.ts (the
// calibration statistics) and reconstruct.ts (the least-squares refit).
import { buildDependencyGraph, CALIBRATION, definePlugin, definePluginFactory, parseOptions, requireRuntime, ShearsError, type Model, type PluginContext, type PruningPlan, type StrategyPlugin } from '@shears/core';
import { nonePrunable, targetDetails, warnShortfalls, type Notes } from '@shears/prune-filter';
import { NAME, type LayerReport } from './details.js';
import { channelSchema, type ChannelOptions, type ChannelParsed } from './options.js';
import { groupScores, prunableGroups, removalActions, selectChannels } from './plan-phases.js';
import { reconstruct } from './reconstruct.js';
import { Ancestors, consumerStats, removedFeatures, rowsToKeep, statsPass } from './stats.js';

export const NO_CALIBRATION =
  `${NAME}: calibration data is required (--calib data.npz, an IDX file or an image folder; in a recipe, calibration: {data: …}). ` +
  'Channel pruning chooses channels by how much each layer’s output on real inputs changes, and refits the remaining weights ' +
  'by least squares to rebuild that output; both need activations of representative inputs. ' +
  '--calib random:N is accepted but poor: noise activations do not show which channels real data relies on, and weights refit to noise generalize badly.';

export function parseChannelOptions(options: ChannelOptions | undefined): ChannelParsed {
  return parseOptions(NAME, channelSchema, options);
}

/**
 * The plan, in phases: the prunable groups and their consumers; one
 * calibration pass for the consumers' statistics; channel scores; the
 * selection and its remove-channels actions; then the reconstruction's
 * set-tensor actions (refit weights).
 */
async function planChannel(model: Model, opts: ChannelParsed, ctx: PluginContext): Promise<PruningPlan> {
  const graph = buildDependencyGraph(model, { groupedConv: opts.groupedConv, crossChannel: opts.crossChannel, inputShapes: opts.inputShapes, registry: ctx.ops });
  const needsData = opts.reconstruct || opts.selection !== 'l1';
  const data = ctx.state.get(CALIBRATION);
  // A missing option, not bad data: a usage error (exit 2 in the CLI).
  if (needsData && !data) throw new ShearsError('E_OPTION', NO_CALIBRATION, { plugin: NAME, option: 'calib' });
  const skipped: Notes = [];
  const prunable = prunableGroups(model, graph, opts.exclude, skipped);
  const stats = consumerStats(graph, prunable.groups, prunable.consumersOf, opts.selection !== 'l1');
  const samples = data ? Math.min(opts.calibSamples, data.size) : 0;
  const ancestors = new Ancestors();
  const keepRows = rowsToKeep(stats, opts, ancestors);
  if (data) await statsPass(model, [...stats.values()], data, samples, opts, ctx, keepRows);
  const scores = groupScores(graph, prunable, stats, opts);
  const { selection, macsAfter, target } = selectChannels(graph, scores.map((x) => x.s), opts, skipped);
  warnShortfalls(skipped, { roundTo: opts.roundTo, maxLayerAmount: opts.maxLayerAmount }, graph, ctx, NAME, !target?.reached);
  const { actions, groupReports } = removalActions(graph, scores, selection, prunable.consumersOf);
  if (actions.length === 0) {
    const why =
      prunable.groups.length === 0
        ? graph.groups.every((g) => g.prunable === 0)
          ? nonePrunable(graph)
          : 'no group of coupled channels may be pruned and refit (see the reasons per group)'
        : 'the amount rounds to nothing in every group';
    skipped.push({ target: 'model', reason: `nothing pruned: ${why}`, code: 'nothing-pruned' });
    ctx.logger.warn(`${NAME}: nothing pruned: ${why}`);
  }
  const layers: LayerReport[] = [];
  if (opts.reconstruct && actions.length && data) {
    const todo = [...stats.values()].filter((s) => removedFeatures(s, graph, selection).some((x) => x));
    const refit = await reconstruct(todo, { model, graph, selection, data, samples, opts, ctx, ancestors }, layers);
    for (const [name, values] of refit) actions.push({ type: 'set-tensor', tensor: name, data: values });
  }
  return {
    version: 1,
    strategy: NAME,
    // The channels are chosen by the strategy's own selection method (details.selection), not a criterion plugin; 'l1' is the l1 criterion's rule.
    ...(opts.selection === 'l1' ? { criterion: 'l1' } : {}),
    options: { ...opts },
    details: {
      selection: opts.selection,
      estimate: { groups: graph.groups.length, prunableGroups: prunable.groups.length, channels: groupReports.reduce((a, g) => a + g.removed, 0), macs: graph.macs, macsAfter, calibration: samples },
      groups: groupReports,
      layers,
      notRefit: prunable.notRefit,
      ...(target ? { target: targetDetails(target) } : {}),
    },
    actions,
    skipped,
  };
}

/**
 * Channel pruning from the consumer's side with least-squares reconstruction
 * (He et al. 2017, ThiNet): for each layer that reads a group's channels,
 * choose the channels whose loss changes its output least on calibration
 * data, remove them (and their producing filters, through the dependency
 * graph), and refit the layer's remaining weights and bias.
 */
export const channelPruning = definePluginFactory(
  { name: NAME, kind: 'strategy', description: 'channel pruning with least-squares reconstruction (ThiNet / He et al.): needs --calib' },
  (options?: ChannelOptions): StrategyPlugin => {
    const opts = parseChannelOptions(options);
    return definePlugin({
      name: NAME,
      kind: 'strategy',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      needsData: true,
      // Before any work: the calibration data and the runtime this strategy's data-aware modes run on.
      requires(_model, ctx) {
        if (!(opts.reconstruct || opts.selection !== 'l1')) return;
        if (!ctx.state.get(CALIBRATION)) throw new ShearsError('E_OPTION', NO_CALIBRATION, { plugin: NAME, option: 'calib' });
        requireRuntime(ctx, NAME);
      },
      plan: (model, ctx) => planChannel(model, opts, ctx),
    });
  },
);
