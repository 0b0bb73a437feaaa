import { buildDependencyGraph, definePlugin, definePluginFactory, findDeadChannels, parseOptions, type PruningPlan, type StrategyPlugin } from '@shears/core';
import { candidates, removeAction } from './filter.js';
import { compactSchema, type CompactOptions } from './options.js';
import { keepNonEmpty, type Notes, type Selection } from './select.js';

const NAME = 'compact';

/**
 * Lossless compaction: remove every channel that provably contributes
 * nothing (zero filters and biases through f(0)=0 ops, or zero weights in
 * every layer that reads it). Outputs stay identical; this is what turns
 * channel masks from training into real speed.
 */
export const compactPruning = definePluginFactory(
  { name: NAME, kind: 'strategy', description: 'lossless compaction: remove channels that provably contribute nothing' },
  (options?: CompactOptions): StrategyPlugin => {
    const opts = parseOptions(NAME, compactSchema, options);
    return definePlugin({
      name: NAME,
      kind: 'strategy',
      version: '0.1.0',
      options: { ...opts },
      mutates: false,
      async plan(model, ctx): Promise<PruningPlan> {
        const graph = buildDependencyGraph(model, { groupedConv: opts.groupedConv, crossChannel: opts.crossChannel, inputShapes: opts.inputShapes, registry: ctx.ops });
        const skipped: Notes = [];
        const allowed = new Set(candidates(graph, opts.exclude, skipped).map((g) => g.id));
        const dead = findDeadChannels(graph, { tolerance: opts.tolerance });
        const selection: Selection = new Map([...dead.selection].filter(([id]) => allowed.has(id)));
        // A group whose every channel is dead keeps one, so no tensor becomes empty.
        for (const [id, chans] of selection) if (chans.length === graph.group(id)!.size) {
          selection.set(id, chans.slice(1));
          skipped.push({ target: id, reason: `every channel is dead; channel ${chans[0]} kept so the layer stays`, code: 'rounded' });
        }
        keepNonEmpty(graph, selection, skipped);
        const actions = [...selection].filter(([, c]) => c.length).map(([id, c]) => removeAction(graph, graph.group(id)!, c));
        const channels = actions.reduce((a, x) => a + x.channels.length, 0);
        if (channels === 0) {
          skipped.push({ target: 'model', reason: 'no channel provably contributes nothing (no all-zero filters through f(0)=0 ops, no channels that every reader ignores)', code: 'nothing-pruned' });
          ctx.logger.info(`${NAME}: nothing to compact`);
        }
        return {
          version: 1,
          strategy: NAME,
          options: { ...opts },
          details: { estimate: { channels, zeroProduced: dead.zeroProduced, unread: dead.unread, macs: graph.macs, macsAfter: graph.estimateMacs(selection) } },
          actions,
          skipped,
        };
      },
    });
  },
);
